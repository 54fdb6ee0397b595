"""The role follows the subscription. Stripe is the source of truth: every webhook re-reads
the subscription and applies its current state, so events arriving twice or out of order
end in the same place."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from services.accounts.roles import write_role
from services.accounts.viewer import Role
from services.billing.stripe_gateway import SubscriptionState
from services.platform import audit

PRO_STATUSES = ("active", "trialing")
LIVE_STATUSES = (*PRO_STATUSES, "past_due")


@dataclass(frozen=True)
class RoleChange:
    user_id: uuid.UUID
    before: Role
    after: Role


def plan_role(status: str | None, past_due_since: datetime | None, grace: timedelta) -> Role:
    """active or trialing: Pro; past_due: Pro until the grace period ends; otherwise Free."""
    if status in PRO_STATUSES:
        return Role.PRO
    if status == "past_due" and past_due_since and datetime.now(UTC) < past_due_since + grace:
        return Role.PRO
    return Role.FREE


async def apply_subscription(
    conn: asyncpg.Connection,
    sub: SubscriptionState,
    *,
    grace: timedelta,
    default_cap_cents: int,
    reason: str,
) -> RoleChange | None:
    """Mirrors a subscription onto its user's profile and moves the role to match."""
    profile = await conn.fetchrow(
        """
        select id, role, stripe_subscription_id, subscription_status, past_due_since
        from public.profiles where stripe_customer_id = $1 for update
        """,
        sub.customer_id,
    )
    if profile is None:
        return None
    current = profile["stripe_subscription_id"]
    replaces_live = (
        current not in (None, sub.id) and profile["subscription_status"] in LIVE_STATUSES
    )
    if replaces_live and sub.status not in LIVE_STATUSES:
        return None  # news about an older subscription never overrides the live one
    past_due_since = (
        (profile["past_due_since"] or datetime.now(UTC)) if sub.status == "past_due" else None
    )
    await conn.execute(
        """
        update public.profiles set stripe_subscription_id = $2, subscription_status = $3,
          subscription_period_end = $4, past_due_since = $5
        where id = $1
        """,
        profile["id"],
        sub.id,
        sub.status,
        sub.period_end,
        past_due_since,
    )
    return await _move_role(
        conn,
        profile["id"],
        Role(profile["role"]),
        plan_role(sub.status, past_due_since, grace),
        default_cap_cents=default_cap_cents,
        details={"reason": reason, "subscription": sub.id, "status": sub.status},
    )


async def expire_grace(
    conn: asyncpg.Connection, *, grace: timedelta, default_cap_cents: int
) -> list[RoleChange]:
    """Returns to Free every Pro user whose past_due grace period has run out."""
    rows = await conn.fetch(
        """
        select id, role from public.profiles
        where subscription_status = 'past_due' and role = 'PRO' and past_due_since < $1
        for update skip locked
        """,
        datetime.now(UTC) - grace,
    )
    changes = []
    for row in rows:
        change = await _move_role(
            conn,
            row["id"],
            Role.PRO,
            Role.FREE,
            default_cap_cents=default_cap_cents,
            details={"reason": "past_due grace period ended"},
        )
        if change:
            changes.append(change)
    return changes


async def _move_role(
    conn: asyncpg.Connection,
    user_id: uuid.UUID,
    before: Role,
    after: Role,
    *,
    default_cap_cents: int,
    details: dict[str, str],
) -> RoleChange | None:
    # Admins are made by admins, never by a subscription.
    if before == after or before == Role.ADMIN:
        return None
    await write_role(conn, user_id, after, default_cap_cents=default_cap_cents)
    await audit.record(
        conn,
        "role.changed",
        target=str(user_id),
        details={"from": before.value, "to": after.value, **details},
    )
    return RoleChange(user_id, before, after)
