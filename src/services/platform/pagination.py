"""Keyset pagination behind Relay-style cursors: a cursor names the last row seen by its
(timestamp, id), so pages stay stable while new rows arrive at the top."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from services.platform.errors import ValidationFailed

T = TypeVar("T")
R = TypeVar("R")
DEFAULT_PAGE = 20
MAX_PAGE = 100


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    cursors: list[str]
    has_next: bool

    @property
    def end_cursor(self) -> str | None:
        return self.cursors[-1] if self.cursors else None


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE
    if not 1 <= first <= MAX_PAGE:
        raise ValidationFailed.single(
            "INVALID_ARGUMENT", f"first must be between 1 and {MAX_PAGE}", field="first"
        )
    return first


def encode_cursor(at: datetime, id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{id}".encode()).decode()


def decode_cursor(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    if cursor is None:
        return None
    try:
        at, _, id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(at), uuid.UUID(id)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed.single(
            "INVALID_ARGUMENT", "after is not a cursor from this API", field="after"
        ) from exc


@dataclass(frozen=True)
class PageRequest:
    """`first` and `after` as a statement needs them: fetch `limit + 1` rows older than
    (before_at, before_id); the extra row only tells whether another page exists."""

    limit: int
    before_at: datetime | None
    before_id: uuid.UUID | None

    @classmethod
    def of(cls, first: int | None, after: str | None) -> PageRequest:
        position = decode_cursor(after)
        return cls(
            page_size(first), position[0] if position else None, position[1] if position else None
        )

    @property
    def fetch(self) -> int:
        return self.limit + 1

    def page(
        self,
        rows: Sequence[R],
        convert: Callable[[R], T],
        key: Callable[[T], tuple[datetime, uuid.UUID]],
    ) -> Page[T]:
        items = [convert(r) for r in rows[: self.limit]]
        return Page(items, [encode_cursor(*key(item)) for item in items], len(rows) > self.limit)
