"""Write operations. Each resolver authorizes the viewer, then hands a validated input to a
service; a rejected input raises before anything is written."""

from __future__ import annotations

import uuid
from typing import Annotated

import strawberry

from graph.inputs import LoraInput, WorkflowInput
from graph.permissions import CanRun, NotApiKey
from graph.types import Asset as AssetType
from graph.types import CheckoutSession, Info, Lora, PortalSession, Run, Viewer, Workflow, parse_id
from services.accounts import viewer as accounts
from services.assets import gallery, persist
from services.billing import checkout
from services.billing.stripe_gateway import StripeGateway
from services.platform.errors import NotAvailable, NotFound
from services.runs import start
from services.workflows import loras, store


@strawberry.type
class Mutation:
    @strawberry.mutation(permission_classes=[CanRun])
    async def create_workflow(self, info: Info, input: WorkflowInput) -> Workflow:
        viewer = info.context.signed_in
        record = await store.create_workflow(
            info.context.runtime.db, viewer, input.name, input.to_graph()
        )
        return Workflow.of(record)

    @strawberry.mutation(
        permission_classes=[CanRun],
        description="Replaces the whole graph; fails with CONFLICT when expectedVersion is stale.",
    )
    async def update_workflow(
        self, info: Info, id: strawberry.ID, input: WorkflowInput, expected_version: int
    ) -> Workflow:
        viewer = info.context.signed_in
        workflow_id = _require_id(id, "Workflow")
        record = await store.update_workflow(
            info.context.runtime.db,
            viewer,
            workflow_id,
            input.name,
            input.to_graph(),
            expected_version,
        )
        return Workflow.of(record)

    @strawberry.mutation(permission_classes=[CanRun])
    async def delete_workflow(self, info: Info, id: strawberry.ID) -> bool:
        viewer = info.context.signed_in
        return await store.delete_workflow(
            info.context.runtime.db, viewer, _require_id(id, "Workflow")
        )

    @strawberry.mutation(
        permission_classes=[CanRun],
        description="Brings back a deleted workflow (the Undo of a delete).",
    )
    async def restore_workflow(self, info: Info, id: strawberry.ID) -> Workflow:
        viewer = info.context.signed_in
        record = await store.restore_workflow(
            info.context.runtime.db, viewer, _require_id(id, "Workflow")
        )
        return Workflow.of(record)

    @strawberry.mutation(
        permission_classes=[CanRun],
        description="Runs the workflow; the same idempotencyKey returns the same run. A node"
        " unchanged since its last output in this workflow reuses it (CACHED, free) unless it"
        " is named in rerollNodeIds.",
    )
    async def run_workflow(
        self,
        info: Info,
        id: strawberry.ID,
        idempotency_key: str,
        target_node_ids: list[strawberry.ID] | None = None,
        reroll_node_ids: Annotated[
            list[strawberry.ID] | None,
            strawberry.argument(
                description="Nodes to run afresh (a new random seed) instead of reusing"
                " their last output."
            ),
        ] = None,
    ) -> Run:
        viewer = info.context.signed_in
        workflow_id = _require_id(id, "Workflow")
        targets = [str(t) for t in target_node_ids] if target_node_ids is not None else None
        record = await start.start_run(
            info.context.runtime.engine,
            viewer,
            workflow_id,
            idempotency_key,
            targets,
            [str(r) for r in reroll_node_ids or []],
            hand_off=info.context.runtime.hand_off,
        )
        return Run.of(record)

    @strawberry.mutation(permission_classes=[CanRun])
    async def cancel_run(self, info: Info, id: strawberry.ID) -> Run:
        viewer = info.context.signed_in
        record = await start.cancel_run(info.context.runtime.engine, viewer, _require_id(id, "Run"))
        return Run.of(record)

    @strawberry.mutation(
        permission_classes=[CanRun],
        description="Copies a temporary asset into persistent storage (Pro).",
    )
    async def persist_asset(self, info: Info, id: strawberry.ID) -> AssetType:
        viewer = info.context.signed_in
        runtime = info.context.runtime
        record = await persist.persist_asset(
            runtime.db,
            runtime.storage,
            runtime.http,
            viewer,
            _require_id(id, "Asset"),
            local_origins=runtime.settings.local_media_origins,
        )
        return AssetType.of(record)

    @strawberry.mutation(permission_classes=[CanRun])
    async def delete_asset(self, info: Info, id: strawberry.ID) -> bool:
        viewer = info.context.signed_in
        runtime = info.context.runtime
        deleted = await gallery.delete_asset(runtime.db, viewer, _require_id(id, "Asset"))
        if deleted.storage_path:
            await runtime.storage.remove([deleted.storage_path])
        return True

    @strawberry.mutation(
        permission_classes=[CanRun],
        description="Deletes several of the viewer's assets at once; returns the ids deleted"
        " (ids that are not the viewer's are ignored).",
    )
    async def delete_assets(self, info: Info, ids: list[strawberry.ID]) -> list[strawberry.ID]:
        viewer = info.context.signed_in
        runtime = info.context.runtime
        wanted = [parsed for parsed in (parse_id(i) for i in ids) if parsed is not None]
        deleted = await gallery.delete_assets(runtime.db, viewer, wanted)
        paths = [a.storage_path for a in deleted if a.storage_path]
        if paths:
            await runtime.storage.remove(paths)
        return [strawberry.ID(str(a.id)) for a in deleted]

    @strawberry.mutation(permission_classes=[CanRun])
    async def add_lora(self, info: Info, input: LoraInput) -> Lora:
        viewer = info.context.signed_in
        record = await loras.add_lora(
            info.context.runtime.db, viewer, input.name, input.url, input.base_model
        )
        return Lora.of(record)

    @strawberry.mutation(permission_classes=[CanRun])
    async def delete_lora(self, info: Info, id: strawberry.ID) -> bool:
        viewer = info.context.signed_in
        runtime = info.context.runtime
        return await loras.delete_lora(runtime.db, runtime.storage, viewer, _require_id(id, "LoRA"))

    @strawberry.mutation(
        permission_classes=[NotApiKey],
        description="Starts Stripe Checkout for the Pro plan; open the returned URL.",
    )
    async def start_checkout(self, info: Info) -> CheckoutSession:
        viewer = info.context.signed_in
        runtime = info.context.runtime
        url = await checkout.start_checkout(
            runtime.db, _stripe(info), viewer, runtime.settings.public_url
        )
        return CheckoutSession(url=url)

    @strawberry.mutation(
        permission_classes=[NotApiKey],
        description="Opens Stripe's customer portal for the viewer's plan.",
    )
    async def open_billing_portal(self, info: Info) -> PortalSession:
        viewer = info.context.signed_in
        runtime = info.context.runtime
        url = await checkout.open_portal(
            runtime.db, _stripe(info), viewer, runtime.settings.public_url
        )
        return PortalSession(url=url)

    @strawberry.mutation(
        permission_classes=[NotApiKey],
        description="Sets the monthly spending cap in cents, up to "
        "Billing.maxSpendingCapCents; null returns to the platform's default cap.",
    )
    async def set_spending_cap(self, info: Info, cents: int | None = None) -> Viewer:
        viewer = info.context.signed_in
        updated = await accounts.set_spending_cap(
            info.context.runtime.db,
            viewer,
            cents,
            platform_max_cents=info.context.runtime.settings.PRO_MAX_SPENDING_CAP_CENTS,
            ip=info.context.client_ip,
        )
        return Viewer.of(updated)


def _stripe(info: Info) -> StripeGateway:
    stripe = info.context.runtime.stripe
    if stripe is None:
        raise NotAvailable("Billing is not set up on this server (no STRIPE_SECRET_KEY)")
    return stripe


def _require_id(value: strawberry.ID, what: str) -> uuid.UUID:
    parsed = parse_id(value)
    if parsed is None:
        raise NotFound(what, str(value))
    return parsed
