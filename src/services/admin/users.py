"""The admin console's users: search and pages, one user's standing, and the changes an
admin makes to an account (role, credits, suspension, spending-cap ceiling). Every change is
written with its audit entry in one transaction. Callers have checked admin access; these
run as the service because an admin reads and changes other users' rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from services.accounts.roles import write_role
from services.accounts.viewer import Role, Viewer
from services.billing.ledger import current_period
from services.platform import audit
from services.platform.database import Database
from services.platform.errors import Forbidden, NotFound, ValidationFailed
from services.platform.pagination import Page, PageRequest


@dataclass(frozen=True)
class Actor:
    """The admin acting, and from where (for the audit log)."""

    id: uuid.UUID
    ip: str | None

    @classmethod
    def of(cls, viewer: Viewer, ip: str | None) -> Actor:
        # The permission class has checked access; this is the last line if it were skipped.
        if viewer.role != Role.ADMIN:
            raise Forbidden("Only admins may do this")
        return cls(viewer.id, ip)


@dataclass(frozen=True)
class UserRecord:
    id: uuid.UUID
    email: str | None
    role: Role
    suspended: bool
    period_usage_cents: int
    granted_cents: int
    reserved_cents: int
    plan_status: str | None
    last_active_at: datetime | None
    created_at: datetime
    spending_cap_limit_cents: int | None

    def credits_cents(self, free_allowance_cents: int) -> int:
        """What the user may still spend from credits this month: the free allowance plus
        grants for Free users; grants alone otherwise (Pro spending is billed, not credited)."""
        base = free_allowance_cents if self.role == Role.FREE else 0
        return max(0, base + self.granted_cents - self.period_usage_cents - self.reserved_cents)


USER_SELECT = """
select p.id, p.email, p.role, p.suspended_at is not null as suspended, p.subscription_status,
       p.created_at, p.spending_cap_limit_cents,
       coalesce(t.usage, 0) as usage, coalesce(t.granted, 0) as granted,
       coalesce(t.reserved, 0) as reserved,
       greatest((select max(r.created_at) from public.runs r where r.user_id = p.id),
                (select max(k.last_used_at) from public.api_keys k where k.user_id = p.id)) as last_active_at
from public.profiles p
left join lateral (
  select sum(amount_cents) filter (where entry = 'CHARGE') as usage,
         sum(amount_cents) filter (where entry in ('GRANT', 'ADJUST')) as granted,
         coalesce(sum(amount_cents) filter (where entry = 'RESERVE'), 0)
           - coalesce(sum(amount_cents) filter (where entry = 'RELEASE'), 0) as reserved
  from public.credit_ledger l where l.user_id = p.id and l.period = $1
) t on true
"""


def _user(row: Any) -> UserRecord:
    return UserRecord(
        id=row["id"],
        email=row["email"],
        role=Role(row["role"]),
        suspended=row["suspended"],
        period_usage_cents=int(row["usage"]),
        granted_cents=int(row["granted"]),
        reserved_cents=int(row["reserved"]),
        plan_status=row["subscription_status"],
        last_active_at=row["last_active_at"],
        created_at=row["created_at"],
        spending_cap_limit_cents=row["spending_cap_limit_cents"],
    )


async def list_users(
    db: Database, first: int | None, after: str | None, search: str | None
) -> Page[UserRecord]:
    request = PageRequest.of(first, after)
    pattern = None
    if search and search.strip():
        escaped = search.strip().lower().replace("\\", "\\\\").replace("%", "\\%")
        pattern = "%" + escaped.replace("_", "\\_") + "%"
    async with db.as_service(plan_per_call=True) as conn:
        rows = await conn.fetch(
            USER_SELECT
            + """
            where ($2::text is null or lower(p.email) like $2)
              and ($3::timestamptz is null or (p.created_at, p.id) < ($3, $4))
            order by p.created_at desc, p.id desc limit $5
            """,
            current_period(),
            pattern,
            request.before_at,
            request.before_id,
            request.fetch,
        )
    return request.page(rows, _user, lambda u: (u.created_at, u.id))


async def get_user(db: Database, user_id: uuid.UUID) -> UserRecord | None:
    async with db.as_service() as conn:
        return await _get(conn, user_id)


async def _get(conn: asyncpg.Connection, user_id: uuid.UUID) -> UserRecord | None:
    row = await conn.fetchrow(USER_SELECT + " where p.id = $2", current_period(), user_id)
    return _user(row) if row else None


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not 1 <= len(reason) <= 500:
        raise ValidationFailed.single(
            "INVALID_ARGUMENT", "Give a reason (1-500 characters)", field="reason"
        )
    return reason


async def _lock(conn: asyncpg.Connection, user_id: uuid.UUID) -> asyncpg.Record:
    row = await conn.fetchrow(
        "select role, suspended_at, spending_cap_limit_cents from public.profiles"
        " where id = $1 for no key update",
        user_id,
    )
    if row is None:
        raise NotFound("User", str(user_id))
    return row


async def set_role(
    db: Database, actor: Actor, user_id: uuid.UUID, role: Role, reason: str, *, default_cap: int
) -> UserRecord:
    reason = _reason(reason)
    async with db.as_service() as conn:
        before = Role((await _lock(conn, user_id))["role"])
        if before != role:
            await write_role(conn, user_id, role, default_cap_cents=default_cap)
        await audit.record(
            conn,
            "role.changed",
            actor_id=actor.id,
            target=str(user_id),
            ip=actor.ip,
            details={"from": before.value, "to": role.value, "reason": reason},
        )
        found = await _get(conn, user_id)
    assert found is not None
    return found


MAX_ADJUST_CENTS = 10_000_000


async def adjust_credits(
    db: Database,
    actor: Actor,
    user_id: uuid.UUID,
    amount_cents: int,
    reason: str,
    idempotency_key: str,
) -> UserRecord:
    """A GRANT (positive) or ADJUST (negative) ledger entry this month. The same
    idempotency key never writes twice, so a retried click grants once."""
    reason = _reason(reason)
    if amount_cents == 0 or abs(amount_cents) > MAX_ADJUST_CENTS:
        raise ValidationFailed.single(
            "INVALID_ARGUMENT",
            f"amountCents must be non-zero and at most {MAX_ADJUST_CENTS} either way",
            field="amountCents",
        )
    key = idempotency_key.strip()
    if not 1 <= len(key) <= 200:
        raise ValidationFailed.single(
            "INVALID_ARGUMENT", "idempotencyKey must be 1-200 characters", field="idempotencyKey"
        )
    async with db.as_service() as conn:
        await _lock(conn, user_id)
        written = await conn.fetchval(
            """
            insert into public.credit_ledger (user_id, entry, amount_cents, period,
                                              idempotency_key, payer, note)
            values ($1, $2, $3, $4, $5, 'PLATFORM', $6)
            on conflict (idempotency_key) do nothing returning id
            """,
            user_id,
            "GRANT" if amount_cents > 0 else "ADJUST",
            amount_cents,
            current_period(),
            f"admin:{actor.id}:{key}",
            reason,
        )
        if written is not None:
            await audit.record(
                conn,
                "credits.granted" if amount_cents > 0 else "credits.adjusted",
                actor_id=actor.id,
                target=str(user_id),
                ip=actor.ip,
                details={"amountCents": amount_cents, "reason": reason, "ledgerId": written},
            )
        found = await _get(conn, user_id)
    assert found is not None
    return found


async def set_suspended(
    db: Database, actor: Actor, user_id: uuid.UUID, suspended: bool, reason: str
) -> UserRecord:
    reason = _reason(reason)
    if suspended and user_id == actor.id:
        raise ValidationFailed.single(
            "INVALID_ARGUMENT", "Admins cannot suspend themselves", field="userId"
        )
    async with db.as_service() as conn:
        await _lock(conn, user_id)
        await conn.execute(
            "update public.profiles set suspended_at = case when $2 then coalesce(suspended_at, now())"
            " end where id = $1",
            user_id,
            suspended,
        )
        await audit.record(
            conn,
            "user.suspended" if suspended else "user.unsuspended",
            actor_id=actor.id,
            target=str(user_id),
            ip=actor.ip,
            details={"reason": reason},
        )
        found = await _get(conn, user_id)
    assert found is not None
    return found


async def set_spending_cap_limit(
    db: Database, actor: Actor, user_id: uuid.UUID, limit_cents: int, reason: str
) -> UserRecord:
    reason = _reason(reason)
    if not 0 <= limit_cents <= MAX_ADJUST_CENTS:
        raise ValidationFailed.single(
            "INVALID_ARGUMENT",
            f"limitCents must be between 0 and {MAX_ADJUST_CENTS}",
            field="limitCents",
        )
    async with db.as_service() as conn:
        before = (await _lock(conn, user_id))["spending_cap_limit_cents"]
        # A cap above the new ceiling comes down to it.
        await conn.execute(
            """
            update public.profiles set spending_cap_limit_cents = $2,
              spending_cap_cents = least(spending_cap_cents, $2)
            where id = $1
            """,
            user_id,
            limit_cents,
        )
        await audit.record(
            conn,
            "spending_cap_limit.changed",
            actor_id=actor.id,
            target=str(user_id),
            ip=actor.ip,
            details={"from": before, "to": limit_cents, "reason": reason},
        )
        found = await _get(conn, user_id)
    assert found is not None
    return found


@dataclass(frozen=True)
class LedgerRecord:
    id: int
    created_at: datetime
    kind: str
    amount_cents: int
    payer: str
    run_id: uuid.UUID | None
    description: str | None


async def ledger_page(
    db: Database, user_id: uuid.UUID, first: int | None, after: str | None
) -> Page[LedgerRecord]:
    request = PageRequest.of(first, after)
    # Ledger ids are integers; the cursor's id part carries one as a UUID's int.
    before_id = request.before_id.int if request.before_id else None
    async with db.as_service(plan_per_call=True) as conn:
        rows = await conn.fetch(
            """
            select id, created_at, entry, amount_cents, payer, run_id, note
            from public.credit_ledger where user_id = $1
              and ($2::timestamptz is null or (created_at, id) < ($2, $3))
            order by created_at desc, id desc limit $4
            """,
            user_id,
            request.before_at,
            before_id,
            request.fetch,
        )
    return request.page(
        rows,
        lambda r: LedgerRecord(
            r["id"],
            r["created_at"],
            r["entry"],
            r["amount_cents"],
            r["payer"],
            r["run_id"],
            r["note"],
        ),
        lambda e: (e.created_at, uuid.UUID(int=e.id)),
    )
