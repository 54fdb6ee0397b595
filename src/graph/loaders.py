"""Per-request DataLoaders: whatever a query nests, each kind of row costs one statement
per level, not one per parent."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Coroutine, Hashable
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from services.accounts.viewer import Viewer
from services.assets import gallery
from services.assets.gallery import AssetRecord
from services.assets.storage import Storage
from services.platform.database import Database
from services.platform.pagination import Page
from services.runs import reads
from services.runs.reads import NodeRunRecord, RunRecord
from services.workflows import store
from services.workflows.store import WorkflowRecord

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
RunsKey = tuple[uuid.UUID, int | None, str | None]


def _loader(
    fetch: Callable[[list[K]], Coroutine[Any, Any, dict[K, V]]], default: Callable[[], V | None]
) -> DataLoader[K, V | None]:
    async def load(keys: list[K]) -> list[V | None]:
        found = await fetch(list(dict.fromkeys(keys)))
        return [found.get(k, default()) for k in keys]

    return DataLoader(load_fn=load)


class Loaders:
    def __init__(self, db: Database, viewer: Viewer, storage: Storage) -> None:
        self.workflow = _loader(lambda ids: store.workflows_by_ids(db, viewer, ids), lambda: None)
        self.run = _loader(lambda ids: reads.runs_by_ids(db, viewer, ids), lambda: None)
        self.node_runs = _loader(lambda ids: reads.node_runs_for_runs(db, viewer, ids), list)
        self.outputs = _loader(lambda ids: gallery.outputs_for_node_runs(db, viewer, ids), list)
        self.signed_url = _loader(storage.signed_urls, lambda: None)
        self.source_image = _loader(
            lambda ids: gallery.source_images(db, viewer, ids), lambda: None
        )

        async def runs_pages(keys: list[RunsKey]) -> list[Page[RunRecord]]:
            # Keys that share paging arguments are fetched together in one statement.
            groups: dict[tuple[int | None, str | None], list[uuid.UUID]] = defaultdict(list)
            for workflow_id, first, after in keys:
                groups[(first, after)].append(workflow_id)
            pages: dict[RunsKey, Page[RunRecord]] = {}
            for (first, after), ids in groups.items():
                found = await reads.runs_for_workflows(db, viewer, ids, first, after)
                pages.update({(i, first, after): found[i] for i in ids})
            return [pages[k] for k in keys]

        self.runs_page: DataLoader[RunsKey, Page[RunRecord]] = DataLoader(load_fn=runs_pages)


__all__ = ["AssetRecord", "Loaders", "NodeRunRecord", "RunRecord", "WorkflowRecord"]
