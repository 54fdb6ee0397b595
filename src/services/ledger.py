"""Money: reserve a run's estimate before anything is spent, then settle each node (charge
what it cost, release what it reserved) or release it when the node never ran. Every entry
has an idempotency key, so a retried step can never count twice."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import asyncpg

from services.accounts import Role
from services.errors import InsufficientCredits, SpendingCapReached


def current_period(now: datetime | None = None) -> date:
    """Usage is counted per calendar month (UTC), as Stripe bills it."""
    now = now or datetime.now(UTC)
    return date(now.year, now.month, 1)


async def reserve_run(
    conn: asyncpg.Connection,
    *,
    user_id: uuid.UUID,
    run_id: uuid.UUID,
    estimates: dict[uuid.UUID, int],
    free_allowance_cents: int,
) -> None:
    """Checks the viewer can afford the run and reserves each node's estimate.
    Runs inside the run's own transaction; the profile row lock serializes a user's runs so
    two concurrent runs cannot both spend the last of an allowance."""
    profile = await conn.fetchrow(
        "select role, spending_cap_cents from public.profiles where id = $1 for update", user_id
    )
    role = Role(profile["role"])
    total = sum(estimates.values())
    if role != Role.ADMIN and total > 0:
        usage, reserved, granted = await period_totals(conn, user_id)
        committed = usage + reserved
        if role == Role.FREE and committed + total > free_allowance_cents + granted:
            left = max(0, free_allowance_cents + granted - committed)
            raise InsufficientCredits(
                f"This run costs {total}¢ but {left}¢ of your monthly free credits remain",
                neededCents=total,
                remainingCents=left,
            )
        cap = profile["spending_cap_cents"]
        if role == Role.PRO and cap is not None and committed + total > cap:
            raise SpendingCapReached(
                f"This run costs {total}¢ and would pass your {cap}¢ monthly spending cap",
                neededCents=total,
                remainingCents=max(0, cap - committed),
            )
    period = current_period()
    await conn.executemany(
        """
        insert into public.credit_ledger (user_id, run_id, node_run_id, entry, amount_cents, period, idempotency_key)
        values ($1, $2, $3, 'RESERVE', $4, $5, $6) on conflict (idempotency_key) do nothing
        """,
        [
            (user_id, run_id, node_run_id, cents, period, f"reserve:{node_run_id}")
            for node_run_id, cents in estimates.items()
        ],
    )


async def period_totals(conn: asyncpg.Connection, user_id: uuid.UUID) -> tuple[int, int, int]:
    """This month's (usage, reserved, granted) cents for a user."""
    row = await conn.fetchrow(
        """
        select
          coalesce(sum(amount_cents) filter (where entry = 'CHARGE'), 0) as usage,
          coalesce(sum(amount_cents) filter (where entry = 'RESERVE'), 0)
            - coalesce(sum(amount_cents) filter (where entry = 'RELEASE'), 0) as reserved,
          coalesce(sum(amount_cents) filter (where entry in ('GRANT', 'ADJUST')), 0) as granted
        from public.credit_ledger where user_id = $1 and period = $2
        """,
        user_id,
        current_period(),
    )
    return int(row["usage"]), int(row["reserved"]), int(row["granted"])


async def settle_node(conn: asyncpg.Connection, node_run_id: uuid.UUID, cost_cents: int) -> None:
    """Charges what the node cost and releases its reservation; safe to repeat."""
    await conn.execute(
        """
        insert into public.credit_ledger (user_id, run_id, node_run_id, entry, amount_cents, period, idempotency_key)
        select user_id, run_id, id, 'CHARGE', $2, $3, 'charge:' || id from public.node_runs where id = $1
        on conflict (idempotency_key) do nothing
        """,
        node_run_id,
        cost_cents,
        current_period(),
    )
    await release_node(conn, node_run_id)


async def release_node(conn: asyncpg.Connection, node_run_id: uuid.UUID) -> None:
    """Gives back what was reserved for a node (in the period it was reserved in)."""
    await conn.execute(
        """
        insert into public.credit_ledger (user_id, run_id, node_run_id, entry, amount_cents, period, idempotency_key)
        select user_id, run_id, node_run_id, 'RELEASE', amount_cents, period, 'release:' || node_run_id
        from public.credit_ledger where idempotency_key = 'reserve:' || $1::uuid
        on conflict (idempotency_key) do nothing
        """,
        node_run_id,
    )
