"""What the Billing page shows: the plan as Stripe last reported it, and this month's usage
from the ledger (read as the viewer, under row-level security)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from services.accounts.viewer import Viewer
from services.billing.ledger import current_period
from services.platform.database import Database


@dataclass(frozen=True)
class Plan:
    subscription_status: str | None
    subscription_id: str | None
    customer_id: str | None
    period_end: datetime | None
    grace_ends_at: datetime | None
    spending_cap_limit_cents: int | None


@dataclass(frozen=True)
class DayUsage:
    day: date
    cents: int


@dataclass(frozen=True)
class ModelUsage:
    model_id: str
    cents: int
    node_runs: int


async def plan(db: Database, viewer: Viewer, grace: timedelta) -> Plan:
    async with db.as_user(viewer.claims) as conn:
        row = await conn.fetchrow(
            """
            select subscription_status, stripe_subscription_id, stripe_customer_id,
                   subscription_period_end, past_due_since, spending_cap_limit_cents
            from public.profiles where id = $1
            """,
            viewer.id,
        )
    since = row["past_due_since"] if row["subscription_status"] == "past_due" else None
    return Plan(
        subscription_status=row["subscription_status"],
        subscription_id=row["stripe_subscription_id"],
        customer_id=row["stripe_customer_id"],
        period_end=row["subscription_period_end"],
        grace_ends_at=since + grace if since else None,
        spending_cap_limit_cents=row["spending_cap_limit_cents"],
    )


async def usage_by_day(db: Database, viewer: Viewer) -> list[DayUsage]:
    async with db.as_user(viewer.claims) as conn:
        rows = await conn.fetch(
            """
            select (created_at at time zone 'utc')::date as day, sum(amount_cents)::int as cents
            from public.credit_ledger where user_id = $1 and period = $2 and entry = 'CHARGE'
            group by 1 order by 1
            """,
            viewer.id,
            current_period(),
        )
    return [DayUsage(r["day"], r["cents"]) for r in rows]


async def usage_by_model(db: Database, viewer: Viewer) -> list[ModelUsage]:
    async with db.as_user(viewer.claims) as conn:
        rows = await conn.fetch(
            """
            select n.model_id, sum(l.amount_cents)::int as cents, count(*)::int as node_runs
            from public.credit_ledger l join public.node_runs n on n.id = l.node_run_id
            where l.user_id = $1 and l.period = $2 and l.entry = 'CHARGE'
            group by n.model_id order by cents desc
            """,
            viewer.id,
            current_period(),
        )
    return [ModelUsage(r["model_id"], r["cents"], r["node_runs"]) for r in rows]
