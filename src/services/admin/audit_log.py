"""Reading the audit log, newest first, filtered by actor, action and date."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.platform.database import Database
from services.platform.pagination import Page, PageRequest


@dataclass(frozen=True)
class AuditRecord:
    id: int
    created_at: datetime
    actor_id: uuid.UUID | None
    actor_email: str | None
    action: str
    target: str | None
    ip: str | None
    details: dict[str, Any]


async def list_entries(
    db: Database,
    first: int | None,
    after: str | None,
    *,
    actor: uuid.UUID | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Page[AuditRecord]:
    request = PageRequest.of(first, after)
    before_id = request.before_id.int if request.before_id else None
    async with db.as_service(plan_per_call=True) as conn:
        rows = await conn.fetch(
            """
            select a.id, a.created_at, a.actor_id, p.email, a.action, a.target,
                   host(a.ip) as ip, a.details
            from public.audit_log a left join public.profiles p on p.id = a.actor_id
            where ($1::uuid is null or a.actor_id = $1)
              and ($2::text is null or a.action = $2 or a.action like $2 || '.%')
              and ($3::timestamptz is null or a.created_at >= $3)
              and ($4::timestamptz is null or a.created_at < $4)
              and ($5::timestamptz is null or (a.created_at, a.id) < ($5, $6))
            order by a.created_at desc, a.id desc limit $7
            """,
            actor,
            action.strip() if action and action.strip() else None,
            since,
            until,
            request.before_at,
            before_id,
            request.fetch,
        )
    return request.page(
        rows,
        lambda r: AuditRecord(
            r["id"],
            r["created_at"],
            r["actor_id"],
            r["email"],
            r["action"],
            r["target"],
            r["ip"],
            r["details"],
        ),
        lambda e: (e.created_at, uuid.UUID(int=e.id)),
    )
