"""Gallery assets: what runs made and users uploaded."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, cast

import strawberry
from strawberry.scalars import JSON

from graph.types.common import Connection, Info
from services.assets.gallery import AssetRecord

if TYPE_CHECKING:
    from graph.types.runs import Run


@strawberry.enum
class StorageMode(enum.Enum):
    TEMPORARY = "TEMPORARY"
    PERSISTENT = "PERSISTENT"


@strawberry.enum
class AssetKind(enum.Enum):
    IMAGE = "IMAGE"
    VIDEO = "VIDEO"


@strawberry.type
class Asset:
    record: strawberry.Private[AssetRecord]
    id: strawberry.ID
    kind: AssetKind
    storage: StorageMode
    expires_at: datetime | None
    width: int | None
    height: int | None
    duration_seconds: float | None
    content_type: str
    model_id: strawberry.ID
    params: JSON
    created_at: datetime

    @strawberry.field(
        description="Where to fetch the file; persistent files get a signed, expiring URL."
    )
    def url(self, info: Info) -> str:
        # Synchronous for what is already known (fal-hosted files), so a gallery page of them
        # completes without an awaitable per asset; only stored files need signing, which
        # the executor awaits.
        if self.record.storage_path is None:
            return self.record.source_url or ""
        return cast(str, self._signed_url(info, self.record.storage_path))

    @staticmethod
    async def _signed_url(info: Info, path: str) -> str:
        loaders = await info.context.loaders()
        return await loaders.signed_url.load(path) or ""

    @strawberry.field
    async def run(self, info: Info) -> Annotated[Run, strawberry.lazy("graph.types.runs")] | None:
        from graph.types.runs import Run

        if self.record.run_id is None:
            return None
        loaders = await info.context.loaders()
        found = await loaders.run.load(self.record.run_id)
        return Run.of(found) if found else None

    @strawberry.field(description="The gallery image this asset was made from, if any.")
    async def source_image(self, info: Info) -> Asset | None:
        if self.record.node_run_id is None:
            return None
        loaders = await info.context.loaders()
        found = await loaders.source_image.load(self.record.node_run_id)
        return Asset.of(found) if found else None

    # An attribute, not a resolver: a gallery page reads it 50 times, and a plain attribute
    # completes without Strawberry's per-call resolver machinery (graph/execution.py).
    node_run_id: strawberry.ID | None = strawberry.field(
        description="The id of the node (in its run's workflow) that made this asset."
    )

    @classmethod
    def of(cls, record: AssetRecord) -> Asset:
        return cls(
            record=record,
            id=strawberry.ID(str(record.id)),
            kind=AssetKind(record.kind),
            storage=StorageMode(record.storage),
            expires_at=record.expires_at,
            width=record.width,
            height=record.height,
            duration_seconds=record.duration_seconds,
            content_type=record.content_type,
            model_id=strawberry.ID(record.model_id),
            params=JSON(record.params),
            created_at=record.created_at,
            node_run_id=strawberry.ID(str(record.node_run_id)) if record.node_run_id else None,
        )


AssetConnection = Connection[Asset]
