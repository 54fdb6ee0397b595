"""Money: reserve a run's estimate before anything is spent, then settle each node (charge
what it cost, release what it reserved) or release it when the node never ran. Every entry
has an idempotency key, so a retried step can never count twice.

Each entry names its payer, fixed when the run is reserved: a FREE user's ALLOWANCE, a Pro
user through STRIPE (reported as usage), or the PLATFORM (admins, and Pro granted without
a subscription). A node is settled in the month it was reserved in."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

import asyncpg

from services.accounts.viewer import Role
from services.platform.errors import (
    InsufficientCredits,
    SpendingCapReached,
    Suspended,
    Unavailable,
)


def current_period(now: datetime | None = None) -> date:
    """Usage is counted per calendar month (UTC), as Stripe bills it."""
    now = now or datetime.now(UTC)
    return date(now.year, now.month, 1)


@dataclass(frozen=True)
class Limits:
    free_allowance_cents: int
    default_cap_cents: int
    platform_daily_cents: int


@dataclass(frozen=True)
class Account:
    """A user's profile, locked for the rest of the transaction."""

    user_id: uuid.UUID
    role: Role
    payer: str
    spending_cap_cents: int | None


async def lock_account(
    conn: asyncpg.Connection, user_id: uuid.UUID, *, admin_powers: bool = False
) -> Account:
    """Locks the user's profile before the ledger is read: every run start of one user then
    queues here, and each sees the reservations of those before it. (Rows written earlier
    in the transaction only key-share the profile, which this lock does not wait for.)

    An ADMIN whose request does not carry admin powers (another network, no MFA, an API
    key) is an ordinary Pro user paid by the platform, under the default spending cap.
    A suspended account is refused here, under the same lock an admin's suspension takes."""
    profile = await conn.fetchrow(
        "select role, spending_cap_cents, stripe_customer_id, suspended_at from public.profiles"
        " where id = $1 for no key update",
        user_id,
    )
    if profile["suspended_at"] is not None:
        raise Suspended()
    role = Role(profile["role"])
    if role == Role.ADMIN and not admin_powers:
        role = Role.PRO
    if role == Role.PRO and profile["stripe_customer_id"]:
        payer = "STRIPE"
    elif role == Role.FREE:
        payer = "ALLOWANCE"
    else:
        payer = "PLATFORM"
    return Account(user_id, role, payer, profile["spending_cap_cents"])


async def reserve_run(
    conn: asyncpg.Connection,
    account: Account,
    *,
    run_id: uuid.UUID,
    estimates: dict[uuid.UUID, int],
    limits: Limits,
) -> None:
    """Checks the account can afford the run and reserves each node's estimate, inside the
    run's own transaction (after `lock_account`)."""
    total = sum(estimates.values())
    if total > 0:
        standing = await conn.fetchrow(
            STANDING, account.user_id, current_period(), account.role != Role.ADMIN
        )
        _check_affordable(account, total, limits, standing)
        await _check_platform_limit(conn, total, limits.platform_daily_cents, standing)
    period = current_period()
    await conn.executemany(
        """
        insert into public.credit_ledger (user_id, run_id, node_run_id, entry, amount_cents, period,
                                          idempotency_key, payer)
        values ($1, $2, $3, 'RESERVE', $4, $5, $6, $7) on conflict (idempotency_key) do nothing
        """,
        [
            (
                account.user_id,
                run_id,
                node_run_id,
                cents,
                period,
                f"reserve:{node_run_id}",
                account.payer,
            )
            for node_run_id, cents in estimates.items()
        ],
    )


# A user's month so far: what was charged, what is reserved, what was granted.
PERIOD_TOTALS = """
  coalesce(sum(amount_cents) filter (where entry = 'CHARGE'), 0) as usage,
  coalesce(sum(amount_cents) filter (where entry = 'RESERVE'), 0)
    - coalesce(sum(amount_cents) filter (where entry = 'RELEASE'), 0) as reserved,
  coalesce(sum(amount_cents) filter (where entry in ('GRANT', 'ADJUST')), 0) as granted
"""

# What a run start checks, read once after the account is locked: the user's month (when
# $3, else zeros), the platform's daily limit an admin may have set, and today's spend.
STANDING = f"""
select {PERIOD_TOTALS},
  (select daily_spend_limit_cents from public.platform_settings) as platform_limit,
  public.platform_spend_on((now() at time zone 'utc')::date) as platform_spent
from public.credit_ledger where user_id = $1 and period = $2 and $3
"""


def _check_affordable(
    account: Account, total: int, limits: Limits, standing: asyncpg.Record
) -> None:
    if account.role == Role.ADMIN:
        return
    usage, reserved, granted = (int(standing[k]) for k in ("usage", "reserved", "granted"))
    committed = usage + reserved
    if account.role == Role.FREE and committed + total > limits.free_allowance_cents + granted:
        left = max(0, limits.free_allowance_cents + granted - committed)
        raise InsufficientCredits(
            f"This run costs {total}¢ but {left}¢ of your monthly free credits remain",
            neededCents=total,
            remainingCents=left,
        )
    cap = effective_cap(account.spending_cap_cents, limits.default_cap_cents)
    if account.role == Role.PRO and committed + total > cap:
        raise SpendingCapReached(
            f"This run costs {total}¢ and would pass your {cap}¢ monthly spending cap",
            neededCents=total,
            remainingCents=max(0, cap - committed),
        )


def effective_cap(spending_cap_cents: int | None, default_cap_cents: int) -> int:
    """Every Pro user has a cap: their own, or the platform's default."""
    return default_cap_cents if spending_cap_cents is None else spending_cap_cents


# Far from the platform's limit, run starts read today's spend without locks (the starts
# in flight at once can pass it by at most their own estimates, a sliver of a day's limit);
# within this fraction of it they lock every row of the day, so the last cents are exact.
STRICT_PLATFORM_FRACTION = 0.9


async def _check_platform_limit(
    conn: asyncpg.Connection, total: int, default: int, standing: asyncpg.Record
) -> None:
    # An admin may have set the limit in the console (platform_settings); else the setting.
    found = standing["platform_limit"]
    limit = default if found is None else int(found)
    spent = int(standing["platform_spent"])
    if spent + total > limit * STRICT_PLATFORM_FRACTION:
        spent = await _lock_platform_day(conn)
    if spent + total > limit:
        raise Unavailable(
            "Lattice has reached its spending limit for today; runs start again at midnight UTC"
        )


async def _lock_platform_day(conn: asyncpg.Connection) -> int:
    """Today's spend, with every row of the day locked (in shard order, so two strict
    starts never deadlock) until this transaction ends."""
    await conn.execute(
        """
        insert into public.platform_daily_spend (day, shard, cents)
        select (now() at time zone 'utc')::date, shard, 0 from generate_series(0, 15) as shard
        on conflict (day, shard) do nothing
        """
    )
    rows = await conn.fetch(
        """
        select cents from public.platform_daily_spend
        where day = (now() at time zone 'utc')::date order by shard for update
        """
    )
    return sum(int(r["cents"]) for r in rows)


async def period_totals(conn: asyncpg.Connection, user_id: uuid.UUID) -> tuple[int, int, int]:
    """This month's (usage, reserved, granted) cents for a user."""
    row = await conn.fetchrow(
        f"select {PERIOD_TOTALS} from public.credit_ledger where user_id = $1 and period = $2",
        user_id,
        current_period(),
    )
    return int(row["usage"]), int(row["reserved"]), int(row["granted"])


def settle_ctes(nodes: str, cents: str, period: str) -> str:
    """The common table expressions that settle node runs, for a statement that has the
    `id, user_id, run_id` of each in the expression `nodes`: `charged` charges `cents` (to
    the payer and month of the reservation, else `period` and the platform) and returns each
    new charge's `id, payer`; `released` gives back the reservation. Safe to repeat."""
    return f"""
    charged as (
      insert into public.credit_ledger (user_id, run_id, node_run_id, entry, amount_cents, period,
                                        idempotency_key, payer)
      select n.user_id, n.run_id, n.id, 'CHARGE', {cents},
             coalesce(r.period, {period}), 'charge:' || n.id, coalesce(r.payer, 'PLATFORM')
      from {nodes} n
      left join public.credit_ledger r on r.idempotency_key = 'reserve:' || n.id
      on conflict (idempotency_key) do nothing
      returning id, payer
    ), {released_cte(nodes)}"""


def released_cte(nodes: str) -> str:
    """`released`: gives back what was reserved for the node runs whose `id` is in `nodes`
    (in the period it was reserved in)."""
    return f"""released as (
      insert into public.credit_ledger (user_id, run_id, node_run_id, entry, amount_cents, period,
                                        idempotency_key, payer)
      select r.user_id, r.run_id, r.node_run_id, 'RELEASE', r.amount_cents, r.period,
             'release:' || r.node_run_id, r.payer
      from {nodes} n join public.credit_ledger r on r.idempotency_key = 'reserve:' || n.id
      on conflict (idempotency_key) do nothing
    )"""


SETTLE_NODE = f"""
with node as (select id, user_id, run_id from public.node_runs where id = $1),
{settle_ctes("node", "$2", "$3")}
select id, payer from charged
"""


async def settle_node(
    conn: asyncpg.Connection, node_run_id: uuid.UUID, cost_cents: int
) -> int | None:
    """Charges what the node cost (to the payer and month of its reservation) and releases
    the reservation; safe to repeat. Returns the charge's ledger id when Stripe must hear
    of it."""
    charge = await conn.fetchrow(SETTLE_NODE, node_run_id, cost_cents, current_period())
    return stripe_charge(charge["id"], charge["payer"]) if charge else None


def stripe_charge(charge_id: int | None, payer: str | None) -> int | None:
    """A new charge's id (from `charged`) when Stripe must hear of it."""
    return int(charge_id) if charge_id is not None and payer == "STRIPE" else None


RELEASE_NODE = f"with node as (select $1::uuid as id), {released_cte('node')} select"


async def release_node(conn: asyncpg.Connection, node_run_id: uuid.UUID) -> None:
    """Gives back what was reserved for a node (in the period it was reserved in)."""
    await conn.execute(RELEASE_NODE, node_run_id)
