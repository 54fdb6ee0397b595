"""What every type module shares: the context type, pages and connections, id parsing, and
the domain enums exposed as they are."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import strawberry

from graph.context import Context
from services.accounts import viewer as accounts
from services.platform.pagination import Page
from services.workflows import catalog

Info = strawberry.Info[Context, None]

# The domain's own enums, exposed as they are.
Role = accounts.Role
PortType = catalog.PortType
strawberry.enum(Role, name="Role")
strawberry.enum(PortType, name="PortType")


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None

    @classmethod
    def of(cls, page: Page[Any]) -> PageInfo:
        return cls(has_next_page=page.has_next, end_cursor=page.end_cursor)


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


def parse_id(value: strawberry.ID) -> uuid.UUID | None:
    """Our ids are UUIDs; anything else names nothing."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
