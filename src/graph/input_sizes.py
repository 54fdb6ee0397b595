"""Refuses oversized workflow graphs in an operation's variables before execution starts.

Strawberry converts an input object's every field into Python objects once per field that
takes it: twenty aliases of estimateWorkflow sharing one 5,000-node variable meant 100,000
conversions (seconds of event-loop time) before a resolver could check the size. The
variables are checked here, once, against the same cap as saving."""

from __future__ import annotations

from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError, ListTypeNode, NonNullTypeNode, OperationDefinitionNode, TypeNode
from strawberry.types import ExecutionContext

from services.platform.errors import ValidationFailed
from services.workflows.graph import check_size

GRAPH_INPUTS = {"WorkflowInput"}


def _named(type_node: TypeNode) -> tuple[str, bool]:
    """The type's name, and whether it is a list of it."""
    is_list = False
    while isinstance(type_node, NonNullTypeNode | ListTypeNode):
        is_list = is_list or isinstance(type_node, ListTypeNode)
        type_node = type_node.type
    return type_node.name.value, is_list  # type: ignore[attr-defined]


def _check_graph(value: Any) -> None:
    if not isinstance(value, dict):
        return
    nodes, edges = value.get("nodes"), value.get("edges")
    check_size(
        len(nodes) if isinstance(nodes, list) else 0,
        len(edges) if isinstance(edges, list) else 0,
    )


def check_inputs(context: ExecutionContext) -> None:
    """Before execution: an oversized graph in the variables ends the operation with
    VALIDATION_ERROR as its result."""
    document = context.graphql_document
    variables = context.variables or {}
    try:
        for definition in document.definitions if document else ():
            if not isinstance(definition, OperationDefinitionNode):
                continue
            for variable in definition.variable_definitions or ():
                name, is_list = _named(variable.type)
                if name not in GRAPH_INPUTS:
                    continue
                value = variables.get(variable.variable.name.value)
                for item in value if is_list and isinstance(value, list) else [value]:
                    _check_graph(item)
    except ValidationFailed as exc:
        context.result = GraphQLExecutionResult(
            data=None,
            errors=[GraphQLError(exc.message, extensions=exc.extensions(), original_error=exc)],
        )
