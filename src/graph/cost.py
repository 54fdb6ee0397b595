"""A query cost limit: every field costs one per time it can appear, and a list field's
`first:` multiplies what is under it (a variable counts as the largest page, an absent
`first` as the default page). A validation rule class built once, so the validation cache
keeps its verdict per document like the depth and alias limits."""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    VariableNode,
    get_named_type,
)

from services.platform.pagination import DEFAULT_PAGE, MAX_PAGE

MAX_COST = 20_000
# Deeper documents are refused by the depth limit (which says so); the cost is not counted.
MAX_WALK = 10


class _TooDeep(Exception):
    pass


def _page(node: FieldNode, takes_first: bool) -> int:
    for argument in node.arguments or ():
        if argument.name.value != "first":
            continue
        if isinstance(argument.value, IntValueNode):
            return max(1, min(int(argument.value.value), MAX_PAGE))
        if isinstance(argument.value, VariableNode):
            return MAX_PAGE
    return DEFAULT_PAGE if takes_first else 1


class QueryCost(ValidationRule):
    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        schema = self.context.schema
        root = {
            "query": schema.query_type,
            "mutation": schema.mutation_type,
            "subscription": schema.subscription_type,
        }[node.operation.value]
        if root is None:
            return
        try:
            cost = self._cost(node.selection_set, root, 1, 0, ())
        except _TooDeep:
            return
        if cost > MAX_COST:
            self.report_error(
                GraphQLError(
                    f"This query could return too much (cost {cost}, at most {MAX_COST});"
                    " ask for smaller pages with `first:`",
                    node,
                    extensions={"code": "QUERY_TOO_COSTLY", "cost": cost, "maxCost": MAX_COST},
                )
            )

    def _cost(
        self,
        selections: SelectionSetNode,
        parent: Any,
        multiplier: int,
        depth: int,
        fragments: tuple[str, ...],
    ) -> int:
        if depth > MAX_WALK:
            raise _TooDeep
        if not isinstance(parent, GraphQLObjectType):
            return 0
        total = 0
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                field = parent.fields.get(selection.name.value)
                if field is None:
                    total += multiplier
                    continue
                times = multiplier * _page(selection, "first" in field.args)
                total += times
                if selection.selection_set is not None:
                    child = get_named_type(field.type)
                    total += self._cost(selection.selection_set, child, times, depth + 1, fragments)
            elif isinstance(selection, InlineFragmentNode):
                target = (
                    self.context.schema.get_type(selection.type_condition.name.value)
                    if selection.type_condition
                    else parent
                )
                total += self._cost(selection.selection_set, target, multiplier, depth, fragments)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.context.get_fragment(name)
                # A fragment that spreads itself is refused by another rule; not walked twice.
                if fragment is not None and name not in fragments:
                    target = self.context.schema.get_type(fragment.type_condition.name.value)
                    total += self._cost(
                        fragment.selection_set, target, multiplier, depth, (*fragments, name)
                    )
        return total
