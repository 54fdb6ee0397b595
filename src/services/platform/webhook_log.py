"""Webhooks repeat: each delivery is recorded under its sender's id, in the same transaction
as its effect, so the effect happens once however often the sender retries."""

from __future__ import annotations

import asyncpg


async def first_delivery(
    conn: asyncpg.Connection, source: str, event_id: str, event_type: str
) -> bool:
    """Records the event; False when it was recorded before (a repeat: do nothing)."""
    fresh = await conn.fetchval(
        """
        insert into public.webhook_events (source, event_id, event_type) values ($1, $2, $3)
        on conflict do nothing returning event_id
        """,
        source,
        event_id,
        event_type,
    )
    return fresh is not None
