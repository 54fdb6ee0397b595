"""Webhooks repeat: each delivery is recorded under its sender's id, in the same transaction
as its effect, so the effect happens once however often the sender retries."""

from __future__ import annotations

import asyncpg


async def first_delivery(
    conn: asyncpg.Connection, source: str, event_id: str, event_type: str
) -> bool:
    """Records the event; False when it was recorded before (a repeat: do nothing)."""
    fresh: bool = await conn.fetchval(
        f"with {recorded('event', '$1', '$2', '$3')} select exists (select from event)",
        source,
        event_id,
        event_type,
    )
    return fresh


def recorded(name: str, source: str, event_id: str, event_type: str, *, when: str = "true") -> str:
    """`first_delivery` as a step (`name`) of a larger statement, recording the event when
    `when` holds: `exists (select from name)` is true on its first delivery only."""
    return f"""{name} as (
  insert into public.webhook_events (source, event_id, event_type)
  select {source}, {event_id}, {event_type} where {when}
  on conflict do nothing returning event_id
)"""
