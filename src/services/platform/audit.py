"""The audit log: who did what to whom, from where. Append-only; written in the same
transaction as the change it records."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg


async def record(
    conn: asyncpg.Connection,
    action: str,
    *,
    actor_id: uuid.UUID | None = None,
    target: str | None = None,
    ip: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        "insert into public.audit_log (actor_id, action, target, ip, details)"
        " values ($1, $2, $3, $4::inet, $5)",
        actor_id,
        action,
        target,
        ip,
        details or {},
    )
