"""Turns exceptions into GraphQL errors a client can act on: our own errors carry their
code and details in `extensions`; anything unexpected is logged and, in production, masked."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from services.platform.errors import LatticeError

log = logging.getLogger("lattice.graphql")


def present(error: GraphQLError, *, mask: bool) -> GraphQLError:
    original = error.original_error
    if isinstance(original, LatticeError):
        error.message = original.message
        error.extensions = original.extensions()
    elif original is None or isinstance(original, GraphQLError):
        # Parse, validation and variable errors: the request itself is malformed.
        error.extensions = {"code": "GRAPHQL_VALIDATION_FAILED", **(error.extensions or {})}
    else:
        log.error("unexpected error in %s", error.path, exc_info=original)
        if mask:
            return GraphQLError(
                "Unexpected error", path=error.path, extensions={"code": "INTERNAL"}
            )
        error.extensions = {"code": "INTERNAL"}
    return error


class ErrorCodes(SchemaExtension):
    def __init__(self, *, mask: bool) -> None:
        self.mask = mask

    def on_operation(self) -> Iterator[None]:
        yield
        result: Any = self.execution_context.result
        if result is not None and getattr(result, "errors", None):
            result.errors = [present(e, mask=self.mask) for e in result.errors]


def coded(exc: LatticeError) -> GraphQLError:
    """Subscription errors do not pass through operation hooks; resolvers convert them here."""
    return GraphQLError(exc.message, extensions=exc.extensions(), original_error=exc)
