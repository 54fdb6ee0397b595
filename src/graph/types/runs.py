"""Runs, their node runs, the events that follow them, and cost estimates."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import strawberry

from graph.types.assets import Asset
from graph.types.common import Connection, Info
from graph.types.workflows import Workflow
from services.platform.errors import NotFound
from services.runs.reads import NodeRunRecord, RunRecord, RunState


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
        if found is None:
            # Workflows are never hard-deleted while their runs exist, so this is a run the
            # viewer reaches without reaching its workflow: another user's, in the admin
            # console (row-level security shows the workflow to its owner only).
            raise NotFound("Workflow", str(self.record.workflow_id))
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
class RunEvent:
    run: Run
    node_run: NodeRun | None
    # One event is shared by every subscriber of its run in this process; the results of
    # executing it, by (operation, variables), are kept here so subscribers that sent the
    # same document share one execution (graph.schema.SharedEventExecution).
    results: strawberry.Private[dict[Any, Any]]


@strawberry.type
class NodeCost:
    node_id: strawberry.ID
    cents: int


@strawberry.type
class CostEstimate:
    total_cents: int
    nodes: list[NodeCost]
    reused_node_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list,
        description="Nodes whose last output in the workflow will be reused (free); only"
        " given when the estimate names its workflowId.",
    )


RunConnection = Connection[Run]
