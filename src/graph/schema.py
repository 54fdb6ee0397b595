"""The schema, with the limits that keep one request from costing too much."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.extensions.base_extension import SchemaExtension

from graph.errors import ErrorCodes
from graph.mutations import Mutation
from graph.queries import Query
from graph.subscriptions import Subscription

MAX_DEPTH = 10
MAX_ALIASES = 20
MAX_TOKENS = 4000


class LatticeSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        # Errors users can act on are answers, not incidents: only the unexpected are logged
        # (by ErrorCodes, with their traceback).
        return None


def build_schema(*, mask_errors: bool = False) -> strawberry.Schema:
    # Factories, so each operation gets fresh extension state.
    extensions: list[Callable[[], SchemaExtension]] = [
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: ErrorCodes(mask=mask_errors),
    ]
    return LatticeSchema(
        query=Query, mutation=Mutation, subscription=Subscription, extensions=extensions
    )


def export_sdl() -> str:
    return build_schema().as_str() + "\n"
