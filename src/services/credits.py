"""Balances derived from the credit ledger for the current monthly period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from services.accounts import Viewer
from services.database import Database


@dataclass(frozen=True)
class CreditBalance:
    free_remaining_cents: int
    period_usage_cents: int
    reserved_cents: int


def current_period(now: datetime | None = None) -> date:
    now = now or datetime.now(UTC)
    return date(now.year, now.month, 1)


async def balance(db: Database, viewer: Viewer, free_allowance_cents: int) -> CreditBalance:
    async with db.as_user(viewer.claims) as conn:
        row = await conn.fetchrow(
            """
            select
              coalesce(sum(amount_cents) filter (where entry = 'CHARGE'), 0) as usage,
              coalesce(sum(amount_cents) filter (where entry = 'RESERVE'), 0)
                - coalesce(sum(amount_cents) filter (where entry = 'RELEASE'), 0) as reserved,
              coalesce(sum(amount_cents) filter (where entry in ('GRANT', 'ADJUST')), 0) as granted
            from public.credit_ledger
            where user_id = $1 and period = $2
            """,
            viewer.id,
            current_period(),
        )
    usage, reserved, granted = int(row["usage"]), int(row["reserved"]), int(row["granted"])
    free_left = max(0, free_allowance_cents + granted - usage - reserved)
    return CreditBalance(
        free_remaining_cents=free_left, period_usage_cents=usage, reserved_cents=reserved
    )
