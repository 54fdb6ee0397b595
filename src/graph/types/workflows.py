"""Workflows: the saved graph of nodes and edges, and its runs."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from graph.types.common import Connection, Info, connection
from services.workflows.graph import UnreadableGraph, missing_inputs
from services.workflows.store import WorkflowRecord

if TYPE_CHECKING:
    from graph.types.runs import Run


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


@strawberry.type(description="Something a node still lacks before it can run.")
class WorkflowWarning:
    reason: str
    message: str
    node_id: strawberry.ID | None
    field: str | None


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
    ) -> Connection[Annotated[Run, strawberry.lazy("graph.types.runs")]]:
        # Runs show their workflow, so one of the two modules imports the other lazily.
        from graph.types.runs import Run

        loaders = await info.context.loaders()
        page = await loaders.runs_page.load((self.record.id, first, after))
        return connection(page, Run.of)

    @strawberry.field(
        description="What each node still lacks (an unwired input, an empty prompt): the"
        " workflow is saved as a draft, and runs once the nodes to run lack nothing."
    )
    def warnings(self) -> list[WorkflowWarning]:
        if self.record.unreadable:
            problem = UnreadableGraph().problems[0]
            return [
                WorkflowWarning(
                    reason=problem.reason, message=problem.message, node_id=None, field=None
                )
            ]
        return [
            WorkflowWarning(
                reason=p.reason,
                message=p.message,
                node_id=strawberry.ID(p.node_id) if p.node_id else None,
                field=p.field,
            )
            for p in missing_inputs(self.record.graph)
        ]

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


WorkflowConnection = Connection[Workflow]
