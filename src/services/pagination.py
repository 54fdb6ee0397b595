"""Keyset pagination behind Relay-style cursors: a cursor names the last row seen by its
(timestamp, id), so pages stay stable while new rows arrive at the top."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from services.errors import ValidationFailed

T = TypeVar("T")
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
