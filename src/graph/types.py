"""The GraphQL object types. Each wraps a service record; nested fields load through the
request's DataLoaders so lists never cost a query per item."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

import strawberry
from strawberry.scalars import JSON

from graph.billing import Billing, billing_of
from graph.context import Context
from services.accounts import viewer as accounts
from services.assets.gallery import AssetRecord
from services.billing import credits
from services.platform.pagination import Page
from services.runs.reads import NodeRunRecord, RunRecord, RunState
from services.workflows import catalog
from services.workflows.catalog import ModelSpec
from services.workflows.loras import LoraRecord
from services.workflows.store import WorkflowRecord

Info = strawberry.Info[Context, None]

# The domain's own enums, exposed as they are.
Role = accounts.Role
PortType = catalog.PortType
strawberry.enum(Role, name="Role")
strawberry.enum(PortType, name="PortType")


@strawberry.enum
class StorageMode(enum.Enum):
    TEMPORARY = "TEMPORARY"
    PERSISTENT = "PERSISTENT"


@strawberry.enum
class AssetKind(enum.Enum):
    IMAGE = "IMAGE"
    VIDEO = "VIDEO"


@strawberry.enum
class RunStatus(enum.Enum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


@strawberry.enum
class NodeStatus(enum.Enum):
    PENDING = "PENDING"
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    SKIPPED = "SKIPPED"
    CACHED = "CACHED"


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None

    @classmethod
    def of(cls, page: Page[Any]) -> PageInfo:
        return cls(has_next_page=page.has_next, end_cursor=page.end_cursor)


@strawberry.type
class CreditBalance:
    free_remaining: int
    period_usage_cents: int
    reserved_cents: int


@strawberry.type
class Viewer:
    id: strawberry.ID
    email: str | None
    role: Role
    spending_cap_cents: int | None

    @strawberry.field(description="The free allowance each month, in cents.")
    async def free_allowance_cents(self, info: Info) -> int:
        return _allowance(info, await info.context.require_viewer())

    @strawberry.field
    async def credits(self, info: Info) -> CreditBalance:
        viewer = await info.context.require_viewer()
        allowance = _allowance(info, viewer)
        found = await credits.balance(info.context.runtime.db, viewer, allowance)
        return CreditBalance(
            free_remaining=found.free_remaining_cents,
            period_usage_cents=found.period_usage_cents,
            reserved_cents=found.reserved_cents,
        )

    @strawberry.field(description="The plan, this month's usage and invoices.")
    async def billing(self, info: Info) -> Billing:
        return await billing_of(info, await info.context.require_viewer())

    @classmethod
    def of(cls, viewer: accounts.Viewer) -> Viewer:
        return cls(
            id=strawberry.ID(str(viewer.id)),
            email=viewer.email,
            role=viewer.role,
            spending_cap_cents=viewer.spending_cap_cents,
        )


def _allowance(info: Info, viewer: accounts.Viewer) -> int:
    # Guests (Supabase anonymous sign-ins) get no free credits: they sign up to run.
    return 0 if viewer.is_anonymous else info.context.runtime.settings.FREE_MONTHLY_CREDITS_CENTS


@strawberry.type
class Port:
    name: str
    type: PortType
    required: bool


@strawberry.type
class Model:
    id: strawberry.ID
    name: str
    description: str
    inputs: list[Port]
    outputs: list[Port]
    params_schema: JSON
    supports_lora: bool
    price_description: str
    allowed: bool
    why_not_allowed: str | None

    @classmethod
    def of(cls, spec: ModelSpec, role: accounts.Role) -> Model:
        allowed = spec.allowed(role)
        return cls(
            id=strawberry.ID(spec.id),
            name=spec.name,
            description=spec.description,
            inputs=[Port(name=p.name, type=p.type, required=p.required) for p in spec.inputs],
            outputs=[Port(name=p.name, type=p.type, required=p.required) for p in spec.outputs],
            params_schema=JSON(dict(spec.params_schema)),
            supports_lora=spec.supports_lora,
            price_description=spec.price_description,
            allowed=allowed,
            why_not_allowed=None if allowed else f"{spec.name} needs a Pro plan",
        )


@strawberry.type
class Node:
    id: strawberry.ID
    model_id: strawberry.ID
    col: int
    row: int
    params: JSON


@strawberry.type
class Edge:
    source: strawberry.ID
    source_port: str
    target: strawberry.ID
    target_port: str


@strawberry.type
class Workflow:
    record: strawberry.Private[WorkflowRecord]
    id: strawberry.ID
    name: str
    version: int
    nodes: list[Node]
    edges: list[Edge]
    updated_at: datetime
    created_at: datetime

    @strawberry.field
    async def runs(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> RunConnection:
        loaders = await info.context.loaders()
        page = await loaders.runs_page.load((self.record.id, first, after))
        return connection(page, Run.of)

    @classmethod
    def of(cls, record: WorkflowRecord) -> Workflow:
        return cls(
            record=record,
            id=strawberry.ID(str(record.id)),
            name=record.name,
            version=record.version,
            nodes=[
                Node(
                    id=strawberry.ID(n.id),
                    model_id=strawberry.ID(n.model_id),
                    col=n.col,
                    row=n.row,
                    params=JSON(n.params),
                )
                for n in record.graph.nodes
            ],
            edges=[
                Edge(
                    source=strawberry.ID(e.source),
                    source_port=e.source_port,
                    target=strawberry.ID(e.target),
                    target_port=e.target_port,
                )
                for e in record.graph.edges
            ],
            updated_at=record.updated_at,
            created_at=record.created_at,
        )


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
    async def url(self, info: Info) -> str:
        if self.record.storage_path is None:
            return self.record.source_url or ""
        loaders = await info.context.loaders()
        return await loaders.signed_url.load(self.record.storage_path) or ""

    @strawberry.field
    async def run(self, info: Info) -> Annotated[Run, strawberry.lazy("graph.types")] | None:
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

    @strawberry.field(
        description="The id of the node (in its run's workflow) that made this asset."
    )
    def node_run_id(self) -> strawberry.ID | None:
        return strawberry.ID(str(self.record.node_run_id)) if self.record.node_run_id else None

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
        )


@strawberry.type
class NodeRun:
    record: strawberry.Private[NodeRunRecord]
    id: strawberry.ID
    node_id: strawberry.ID
    model_id: strawberry.ID
    status: NodeStatus
    queue_position: int | None
    progress: float | None
    logs: list[str]
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None

    # The run as the event hub read it, when this came from `runEvents`: nested fields
    # answer from it instead of loading.
    state: strawberry.Private[RunState | None] = None

    @strawberry.field
    async def outputs(self, info: Info) -> list[Asset]:
        if self.state is not None:
            return [Asset.of(a) for a in self.state.outputs_of(self.record)]
        loaders = await info.context.loaders()
        # A cached node shows the outputs of the node run it reused.
        source = self.record.cached_from or self.record.id
        return [Asset.of(a) for a in await loaders.outputs.load(source) or []]

    @classmethod
    def of(cls, record: NodeRunRecord, state: RunState | None = None) -> NodeRun:
        return cls(
            record=record,
            state=state,
            id=strawberry.ID(str(record.id)),
            node_id=strawberry.ID(record.node_id),
            model_id=strawberry.ID(record.model_id),
            status=NodeStatus(record.status),
            queue_position=record.queue_position,
            progress=record.progress,
            logs=record.logs,
            error=record.error,
            started_at=record.started_at,
            finished_at=record.finished_at,
        )


@strawberry.type
class Run:
    record: strawberry.Private[RunRecord]
    id: strawberry.ID
    status: RunStatus
    estimated_cost_cents: int
    cost_cents: int
    created_at: datetime
    finished_at: datetime | None
    # As on NodeRun: the state `runEvents` read, answering `nodeRuns` without a query.
    state: strawberry.Private[RunState | None] = None

    @strawberry.field
    async def workflow(self, info: Info) -> Workflow:
        loaders = await info.context.loaders()
        found = await loaders.workflow.load(self.record.workflow_id)
        assert found is not None, "a run's workflow is never hard-deleted while the run exists"
        return Workflow.of(found)

    @strawberry.field
    def workflow_id(self) -> strawberry.ID:
        return strawberry.ID(str(self.record.workflow_id))

    @strawberry.field
    async def node_runs(self, info: Info) -> list[NodeRun]:
        if self.state is not None:
            return [NodeRun.of(n, self.state) for n in self.state.node_runs]
        loaders = await info.context.loaders()
        return [NodeRun.of(n) for n in await loaders.node_runs.load(self.record.id) or []]

    @classmethod
    def of(cls, record: RunRecord, state: RunState | None = None) -> Run:
        return cls(
            record=record,
            state=state,
            id=strawberry.ID(str(record.id)),
            status=RunStatus(record.status),
            estimated_cost_cents=record.estimated_cost_cents,
            cost_cents=record.cost_cents,
            created_at=record.created_at,
            finished_at=record.finished_at,
        )


@strawberry.type
class Lora:
    id: strawberry.ID
    name: str
    url: str
    base_model: str
    created_at: datetime

    @classmethod
    def of(cls, record: LoraRecord) -> Lora:
        return cls(
            id=strawberry.ID(str(record.id)),
            name=record.name,
            url=record.url,
            base_model=record.base_model,
            created_at=record.created_at,
        )


@strawberry.type
class RunEvent:
    run: Run
    node_run: NodeRun | None
    # One event is shared by every subscriber of its run in this process; the results of
    # executing it, by (operation, variables), are kept here so subscribers that sent the
    # same document share one execution (graph.schema.SharedEventExecution).
    results: strawberry.Private[dict[Any, Any]]


@strawberry.type
class CheckoutSession:
    url: str


@strawberry.type
class PortalSession:
    url: str


@strawberry.type
class NodeCost:
    node_id: strawberry.ID
    cents: int


@strawberry.type
class CostEstimate:
    total_cents: int
    nodes: list[NodeCost]


NodeT = TypeVar("NodeT")
ItemT = TypeVar("ItemT")


# One Relay-style connection for every list; its specializations keep the contract's names
# (WorkflowConnection, WorkflowEdge, RunConnection, ...).
@strawberry.type(name="Edge")
class PageEdge(Generic[NodeT]):
    cursor: str
    node: NodeT


@strawberry.type
class Connection(Generic[NodeT]):
    edges: list[PageEdge[NodeT]]
    page_info: PageInfo


def connection(page: Page[ItemT], wrap: Callable[[ItemT], NodeT]) -> Connection[NodeT]:
    edges = [
        PageEdge(cursor=cursor, node=wrap(item))
        for item, cursor in zip(page.items, page.cursors, strict=True)
    ]
    return Connection(edges=edges, page_info=PageInfo.of(page))


WorkflowConnection = Connection[Workflow]
RunConnection = Connection[Run]
AssetConnection = Connection[Asset]


def parse_id(value: strawberry.ID) -> uuid.UUID | None:
    """Our ids are UUIDs; anything else names nothing."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
