"""The schema, with the limits that keep one request from costing too much, and the caches
that keep a repeated document from being parsed and validated again.

The depth and alias rules are graphql-core validation rule classes built once here: Strawberry's
`QueryDepthLimiter(...)` / `MaxAliasesLimiter(...)` build a new class per instance, so per-request
factories gave every request different rules and no validation cache could ever match. Parse
results are cached per (text, token limit) and validation results per (document, rules), both
in Strawberry's process-wide LRU caches, bounded in size."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any

import strawberry
from graphql import ExecutionResult, GraphQLError
from graphql.pyutils import AwaitableOrValue
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.extensions.base_extension import SchemaExtension
from strawberry.extensions.max_aliases import create_validator as aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from graph.admin import AdminMutation, AdminQuery
from graph.api_keys import ApiKeyMutation, ApiKeyQuery
from graph.cost import QueryCost
from graph.errors import code_errors
from graph.execution import CachedNames, PlainFieldExecution, lean_resolvers
from graph.input_sizes import check_inputs
from graph.mutations import Mutation as CoreMutation
from graph.queries import Query as CoreQuery
from graph.subscriptions import Subscription
from graph.trusted_documents import supply_document
from graph.types import RunEvent

Query = merge_types("Query", (CoreQuery, ApiKeyQuery, AdminQuery))
Mutation = merge_types("Mutation", (CoreMutation, ApiKeyMutation, AdminMutation))

MAX_DEPTH = 10
MAX_ALIASES = 20
MAX_TOKENS = 4000
# Distinct documents kept parsed and validated per process; clients send a few dozen.
DOCUMENT_CACHE_SIZE = 512

LIMIT_RULES = (depth_rule(MAX_DEPTH, None), aliases_rule(MAX_ALIASES), QueryCost)

# Strawberry's process-wide LRU caches (shared by every ParserCache / ValidationCache of
# this size).
_cached_parse = ParserCache(maxsize=DOCUMENT_CACHE_SIZE).cached_parse_document
_cached_validation = ValidationCache(maxsize=DOCUMENT_CACHE_SIZE).cached_validate_document


class OperationRules(SchemaExtension):
    """Every operation's rules in one extension, in this order: trusted documents supply the
    text (or refuse it); the token limit and the depth, alias and cost rules are set; the
    document is parsed and validated through the caches; oversized graphs in the variables
    are refused before execution; the errors get their codes at the end.

    One extension with one `on_operation` hook, not seven extensions (four with that hook):
    Strawberry keeps an operation's extensions and each suspended `on_operation` hook until
    the operation ends, which for a subscription is when its socket closes, so every idle
    subscriber carried all of them (about 4 KiB)."""

    def __init__(self, *, manifest: Mapping[str, str], open_documents: bool, mask: bool) -> None:
        self.manifest = manifest
        self.open_documents = open_documents
        self.mask = mask

    async def on_operation(self) -> AsyncIterator[None]:
        context = self.execution_context
        await supply_document(context, self.manifest, self.open_documents)
        context.parse_options["max_tokens"] = MAX_TOKENS
        context.validation_rules = (*context.validation_rules, *LIMIT_RULES)
        yield
        code_errors(context, mask=self.mask)

    def on_parse(self) -> Iterator[None]:
        # A document that cannot be parsed (a syntax error, or more than MAX_TOKENS tokens)
        # is left to Strawberry's own parse step, which turns the error into a response
        # that code_errors sees. Failures are never cached.
        context = self.execution_context
        with contextlib.suppress(GraphQLError):
            context.graphql_document = _cached_parse(context.query, **context.parse_options)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        context.pre_execution_errors = _cached_validation(
            context.schema._schema, context.graphql_document, context.validation_rules
        )
        yield

    def on_execute(self) -> Iterator[None]:
        check_inputs(self.execution_context)
        yield


class SharedEventExecution(PlainFieldExecution):
    """Executes a `runEvents` event once per (document, variables) in this process: every
    subscriber of a run receives the same RunEvent object, and those that sent the same
    operation get the same result, so per subscriber only serialization remains.

    Sound because every subscriber of a run is its owner or an admin and sees the same run:
    fields outside the event's shared state (a run's workflow, say) are loaded with the
    context of the first subscriber to execute the event."""

    # Events executed (not shared) in this process: what tests and benchmarks count.
    executed = 0

    def execute_operation(self, serially: bool | None = None) -> AwaitableOrValue[Any]:
        event = self.root_value
        if not isinstance(event, RunEvent):
            return super().execute_operation(serially)
        variables = self.variable_values.coerced
        key = (id(self.operation), tuple(sorted((k, repr(v)) for k, v in variables.items())))
        found = event.results.get(key)
        if found is None:
            SharedEventExecution.executed += 1
            result: Any = super().execute_operation(serially)
            if self.is_awaitable(result):
                result = asyncio.ensure_future(result)
            # The operation node is kept with its result so that its id stays its own.
            event.results[key] = found = (self.operation, result)
        result = found[1]
        if isinstance(result, asyncio.Future):
            if result.done() and not result.cancelled() and result.exception() is None:
                return result.result()
            # A subscriber that goes away must not cancel the execution the others await.
            shared: asyncio.Future[ExecutionResult] = asyncio.shield(result)
            return shared
        return result


class LatticeSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        # Errors users can act on are answers, not incidents: only the unexpected are logged
        # (by ErrorCodes, with their traceback).
        return None


def build_schema(
    *,
    mask_errors: bool = False,
    trusted_documents: Mapping[str, str] | None = None,
    open_documents: bool = True,
) -> strawberry.Schema:
    # A factory, so each operation gets fresh extension state; the rules and the caches
    # they reach are shared.
    manifest = trusted_documents or {}
    extensions: list[Callable[[], SchemaExtension]] = [
        lambda: OperationRules(manifest=manifest, open_documents=open_documents, mask=mask_errors)
    ]
    schema = LatticeSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        execution_context_class=SharedEventExecution,
        config=StrawberryConfig(name_converter=CachedNames()),
    )
    lean_resolvers(schema)
    return schema


def export_sdl() -> str:
    return build_schema().as_str() + "\n"
