"""Read operations. Each resolver starts by establishing who is asking."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from graph.inputs import WorkflowInput
from graph.permissions import Anyone, SignedIn
from graph.types import (
    Asset,
    AssetConnection,
    AssetKind,
    CostEstimate,
    Info,
    Lora,
    Model,
    NodeCost,
    Run,
    RunConnection,
    Viewer,
    Workflow,
    WorkflowConnection,
    connection,
    parse_id,
)
from services.admin import platform
from services.assets import gallery
from services.runs import reads, reuse
from services.workflows import catalog, loras, store


@strawberry.type
class Query:
    @strawberry.field(
        permission_classes=[Anyone], description="The signed-in user; null when not signed in."
    )
    async def viewer(self, info: Info) -> Viewer | None:
        viewer = await info.context.viewer()
        return Viewer.of(viewer) if viewer else None

    @strawberry.field(
        permission_classes=[SignedIn],
        description="The model catalog, with what the viewer may use.",
    )
    async def models(self, info: Info) -> list[Model]:
        viewer = info.context.signed_in
        off = await platform.disabled_model_ids(info.context.runtime.db)
        return [
            Model.of(spec, viewer.role, disabled=spec.id in off)
            for spec in catalog.CATALOG.values()
        ]

    @strawberry.field(permission_classes=[SignedIn])
    async def workflows(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> WorkflowConnection:
        viewer = info.context.signed_in
        page = await store.list_workflows(info.context.runtime.db, viewer, first, after)
        return connection(page, Workflow.of)

    @strawberry.field(permission_classes=[SignedIn])
    async def workflow(self, info: Info, id: strawberry.ID) -> Workflow | None:
        viewer = info.context.signed_in
        workflow_id = parse_id(id)
        if workflow_id is None:
            return None
        found = await store.get_workflow(info.context.runtime.db, viewer, workflow_id)
        return Workflow.of(found) if found else None

    @strawberry.field(permission_classes=[SignedIn])
    async def run(self, info: Info, id: strawberry.ID) -> Run | None:
        run_id = parse_id(id)
        if run_id is None:
            return None
        loaders = await info.context.loaders()
        found = await loaders.run.load(run_id)
        return Run.of(found) if found else None

    @strawberry.field(permission_classes=[SignedIn], description="The viewer's runs, newest first.")
    async def runs(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> RunConnection:
        viewer = info.context.signed_in
        page = await reads.list_runs(info.context.runtime.db, viewer, first, after)
        return connection(page, Run.of)

    @strawberry.field(permission_classes=[SignedIn], description="The gallery, newest first.")
    async def assets(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        kind: AssetKind | None = None,
        model_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only this model's outputs.")
        ] = None,
        search: Annotated[
            str | None,
            strawberry.argument(
                description="Words of the prompt, each matching the start of a word."
            ),
        ] = None,
        created_after: Annotated[
            datetime | None, strawberry.argument(description="Made at or after this time.")
        ] = None,
        created_before: Annotated[
            datetime | None, strawberry.argument(description="Made before this time.")
        ] = None,
    ) -> AssetConnection:
        viewer = info.context.signed_in
        where = gallery.AssetFilter(
            kind=kind.value if kind else None,
            model_id=str(model_id) if model_id else None,
            search=search,
            created_after=created_after,
            created_before=created_before,
        )
        page = await gallery.list_assets(info.context.runtime.db, viewer, first, after, where=where)
        return connection(page, Asset.of)

    @strawberry.field(permission_classes=[SignedIn])
    async def asset(self, info: Info, id: strawberry.ID) -> Asset | None:
        viewer = info.context.signed_in
        asset_id = parse_id(id)
        if asset_id is None:
            return None
        found = await gallery.get_asset(info.context.runtime.db, viewer, asset_id)
        return Asset.of(found) if found else None

    @strawberry.field(permission_classes=[SignedIn])
    async def loras(self, info: Info) -> list[Lora]:
        viewer = info.context.signed_in
        runtime = info.context.runtime
        return [Lora.of(r) for r in await loras.list_loras(runtime.db, runtime.storage, viewer)]

    @strawberry.field(
        permission_classes=[SignedIn],
        description="What running this graph would cost, before running it. With workflowId,"
        " only what will actually run is priced: nodes unchanged since their last output in"
        " that workflow are reused for free (see reusedNodeIds).",
    )
    async def estimate_workflow(
        self,
        info: Info,
        input: WorkflowInput,
        workflow_id: strawberry.ID | None = None,
        target_node_ids: list[strawberry.ID] | None = None,
        reroll_node_ids: list[strawberry.ID] | None = None,
    ) -> CostEstimate:
        viewer = info.context.signed_in
        graph = input.to_graph()
        quote, reused = await reuse.estimate(
            info.context.runtime.db,
            viewer,
            graph,
            parse_id(workflow_id) if workflow_id else None,
            [str(t) for t in target_node_ids] if target_node_ids is not None else None,
            [str(r) for r in reroll_node_ids or []],
        )
        return CostEstimate(
            total_cents=quote.total_cents,
            nodes=[NodeCost(node_id=strawberry.ID(n), cents=c) for n, c in quote.by_node.items()],
            reused_node_ids=[strawberry.ID(n) for n in sorted(reused)],
        )
