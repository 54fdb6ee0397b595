"""`uv run python -m services.billing.reconcile [YYYY-MM]`: per user and month, the ledger's
Pro charges beside what Stripe's meter received. Exits 1 when any row differs.

Usage events carry the time of their charge, held inside the month the node was reserved
in, so the ledger's month and Stripe's window agree."""

from __future__ import annotations

import asyncio
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

from services.billing.ledger import current_period
from services.billing.stripe_gateway import StripeGateway
from services.platform import database
from services.platform.config import Settings
from services.platform.database import Database


@dataclass(frozen=True)
class Reconciled:
    user_id: uuid.UUID
    email: str | None
    period: date
    charged_cents: int
    marked_reported_cents: int
    stripe_cents: int

    @property
    def difference(self) -> int:
        return self.charged_cents - self.stripe_cents


def period_bounds(period: date) -> tuple[datetime, datetime]:
    start = datetime(period.year, period.month, 1, tzinfo=UTC)
    following = date(period.year + period.month // 12, period.month % 12 + 1, 1)
    return start, datetime(following.year, following.month, 1, tzinfo=UTC)


async def reconcile(db: Database, stripe: StripeGateway, period: date) -> list[Reconciled]:
    async with db.as_service() as conn:
        rows = await conn.fetch(
            """
            select l.user_id, p.email, p.stripe_customer_id,
                   sum(l.amount_cents)::int as charged,
                   coalesce(sum(l.amount_cents) filter (where l.reported_at is not null), 0)::int as marked
            from public.credit_ledger l join public.profiles p on p.id = l.user_id
            where l.entry = 'CHARGE' and l.payer = 'STRIPE' and l.period = $1
            group by l.user_id, p.email, p.stripe_customer_id order by p.email
            """,
            period,
        )
    start, end = period_bounds(period)
    found = []
    for row in rows:
        received = await stripe.reported_cents(row["stripe_customer_id"], start, end)
        found.append(
            Reconciled(
                row["user_id"], row["email"], period, row["charged"], row["marked"], received
            )
        )
    return found


async def _main(period: date) -> int:
    settings = Settings()
    assert settings.DATABASE_URL, "DATABASE_URL is not set"
    db = await database.connect(settings.DATABASE_URL, max_size=2)
    try:
        rows = await reconcile(db, StripeGateway(settings), period)
    finally:
        await db.close()
    print(f"{'user':40} {'period':8} {'ledger':>10} {'marked':>10} {'stripe':>10} {'diff':>8}")
    for r in rows:
        print(
            f"{r.email or r.user_id!s:40} {r.period:%Y-%m} {r.charged_cents:>10} "
            f"{r.marked_reported_cents:>10} {r.stripe_cents:>10} {r.difference:>8}"
        )
    differing = [r for r in rows if r.difference]
    print(f"{len(rows)} users, {len(differing)} with a difference")
    return 1 if differing else 0


def main() -> int:
    if len(sys.argv) > 1:
        year, month = (int(part) for part in sys.argv[1].split("-"))
        period = date(year, month, 1)
    else:
        period = current_period()
    return asyncio.run(_main(period))


if __name__ == "__main__":
    sys.exit(main())
