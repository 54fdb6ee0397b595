"""Turns exceptions into GraphQL errors a client can act on: our own errors carry their
code and details in `extensions`; anything unexpected is logged and, in production, masked."""

from __future__ import annotations

import logging
from typing import Any

from graphql import GraphQLError
from strawberry.types import ExecutionContext

from services.platform.errors import LatticeError

log = logging.getLogger("lattice.graphql")


def present(error: GraphQLError, *, mask: bool) -> GraphQLError:
    """A new error with its code; never changes `error`, which may be a cached validation
    result shared by every request that sends the same document."""
    original = error.original_error
    if isinstance(original, LatticeError):
        return _copy(error, original.message, original.extensions())
    if original is None or isinstance(original, GraphQLError):
        # Parse, validation and variable errors: the request itself is malformed.
        extensions = error.extensions or {}
        if "code" in extensions:
            return error
        return _copy(error, error.message, {"code": "GRAPHQL_VALIDATION_FAILED", **extensions})
    log.error("unexpected error in %s", error.path, exc_info=original)
    if mask:
        return GraphQLError("Unexpected error", path=error.path, extensions={"code": "INTERNAL"})
    return _copy(error, error.message, {"code": "INTERNAL"})


def _copy(error: GraphQLError, message: str, extensions: dict[str, Any]) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions=extensions,
    )


def code_errors(context: ExecutionContext, *, mask: bool) -> None:
    """After an operation: its errors with their codes (and masked, in production)."""
    result: Any = context.result
    if result is not None and getattr(result, "errors", None):
        result.errors = [present(e, mask=mask) for e in result.errors]


def coded(exc: LatticeError) -> GraphQLError:
    """Subscription errors do not pass through operation hooks; resolvers convert them here."""
    return GraphQLError(exc.message, extensions=exc.extensions(), original_error=exc)
