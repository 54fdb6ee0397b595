"""GraphQL input types, and their conversion into the domain's values."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.scalars import JSON

from services.platform.errors import ValidationFailed
from services.workflows.graph import Edge, Graph, Node, check_depth, check_size


@strawberry.input
class NodeInput:
    id: strawberry.ID
    model_id: strawberry.ID
    col: int
    row: int
    params: JSON


@strawberry.input
class EdgeInput:
    source: strawberry.ID
    source_port: str
    target: strawberry.ID
    target_port: str


@strawberry.input
class WorkflowInput:
    name: str
    nodes: list[NodeInput]
    edges: list[EdgeInput]

    def to_graph(self) -> Graph:
        check_size(len(self.nodes), len(self.edges))
        return Graph(
            nodes=tuple(
                Node(str(n.id), str(n.model_id), n.col, n.row, _params(n.params, str(n.id)))
                for n in self.nodes
            ),
            edges=tuple(
                Edge(str(e.source), e.source_port, str(e.target), e.target_port) for e in self.edges
            ),
        )


@strawberry.input
class LoraInput:
    name: str
    url: str
    base_model: str


def _params(value: Any, node_id: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationFailed.single(
            "INVALID_PARAMS",
            f"Node {node_id}: params must be a JSON object",
            node_id=node_id,
            field="params",
        )
    check_depth(value, node_id=node_id)
    return value
