"""Reporting Pro usage to Stripe: every CHARGE paid through Stripe becomes one meter event
whose identifier is the ledger entry's idempotency key, so Stripe counts it once however
often it is sent. `reported_at` is set only after Stripe accepted it; what is still
unreported after a while is sent again by the billing sweep."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from services.billing.reconcile import period_bounds
from services.billing.stripe_gateway import StripeGateway
from services.platform.database import Database


async def report_charge(db: Database, stripe: StripeGateway, entry_id: int) -> bool:
    """Sends one charge to Stripe; True once it is reported (now or before). Raises
    StripeUnavailable when worth retrying."""
    async with db.as_service() as conn:
        entry = await conn.fetchrow(
            """
            select l.amount_cents, l.idempotency_key, l.created_at, l.period, l.reported_at,
                   p.stripe_customer_id
            from public.credit_ledger l join public.profiles p on p.id = l.user_id
            where l.id = $1 and l.entry = 'CHARGE' and l.payer = 'STRIPE'
            """,
            entry_id,
        )
    if entry is None or entry["reported_at"] is not None:
        return entry is not None
    if entry["amount_cents"] > 0:
        await stripe.report_usage(
            customer_id=entry["stripe_customer_id"],
            cents=entry["amount_cents"],
            identifier=entry["idempotency_key"],
            timestamp=_within_period(entry["created_at"], entry["period"]),
        )
    async with db.as_service() as conn:
        await conn.execute(
            "update public.credit_ledger set reported_at = now() where id = $1 and reported_at is null",
            entry_id,
        )
    return True


async def unreported_charges(db: Database, older_than: timedelta, limit: int = 1000) -> list[int]:
    """Charges Stripe has not accepted yet, made longer ago than a normal report takes."""
    async with db.as_service() as conn:
        rows = await conn.fetch(
            """
            select id from public.credit_ledger
            where entry = 'CHARGE' and payer = 'STRIPE' and reported_at is null and created_at < $1
            order by created_at limit $2
            """,
            datetime.now(UTC) - older_than,
            limit,
        )
    return [r["id"] for r in rows]


def _within_period(made: datetime, period: date) -> datetime:
    """A charge settled after its month ended (a node reserved on the 31st, say) still
    counts in the month it was reserved in: its event is dated that month's last second."""
    _, end = period_bounds(period)
    return min(made, end - timedelta(seconds=1))
