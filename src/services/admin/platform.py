"""The platform as an admin sees it: usage per day and per model (what fal cost against what
users were charged), models turned on or off for everyone, and the daily spend limit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import asyncpg

from services.admin.users import Actor
from services.platform import audit
from services.platform.database import Database
from services.platform.errors import ValidationFailed
from services.workflows.catalog import CATALOG

MAX_DAYS = 366


def _days(days: int) -> int:
    if not 1 <= days <= MAX_DAYS:
        raise ValidationFailed.single(
            "INVALID_ARGUMENT", f"days must be between 1 and {MAX_DAYS}", field="days"
        )
    return days


@dataclass(frozen=True)
class PlatformDay:
    day: date
    fal_spend_cents: int
    charged_cents: int
    runs: int


async def usage_by_day(db: Database, days: int) -> list[PlatformDay]:
    """fal spend is what finished nodes cost; charges are what users paid (from their
    allowance or through Stripe); the platform's own spending (admins) is not a charge."""
    async with db.as_service() as conn:
        rows = await conn.fetch(
            """
            with days as (
              select generate_series((now() at time zone 'utc')::date - ($1 - 1),
                                     (now() at time zone 'utc')::date, interval '1 day')::date as day
            )
            select d.day,
              coalesce((select sum(cost_cents) from public.node_runs n
                        where (n.finished_at at time zone 'utc')::date = d.day), 0) as fal,
              coalesce((select sum(amount_cents) from public.credit_ledger l
                        where l.entry = 'CHARGE' and l.payer <> 'PLATFORM'
                          and (l.created_at at time zone 'utc')::date = d.day), 0) as charged,
              (select count(*) from public.runs r
               where (r.created_at at time zone 'utc')::date = d.day) as runs
            from days d order by d.day
            """,
            _days(days),
        )
    return [PlatformDay(r["day"], int(r["fal"]), int(r["charged"]), int(r["runs"])) for r in rows]


@dataclass(frozen=True)
class ModelUsage:
    model_id: str
    title: str
    nodes: int
    fal_spend_cents: int
    charged_cents: int


async def usage_by_model(db: Database, days: int) -> list[ModelUsage]:
    async with db.as_service() as conn:
        rows = await conn.fetch(
            """
            select n.model_id, count(*) as nodes, coalesce(sum(n.cost_cents), 0) as fal,
              coalesce(sum(l.amount_cents) filter (where l.payer <> 'PLATFORM'), 0) as charged
            from public.node_runs n
            left join public.credit_ledger l on l.idempotency_key = 'charge:' || n.id
            where n.created_at >= now() - make_interval(days => $1)
              and n.status not in ('PENDING', 'SKIPPED', 'CACHED')
            group by n.model_id order by fal desc, n.model_id
            """,
            _days(days),
        )
    return [
        ModelUsage(
            r["model_id"],
            CATALOG[r["model_id"]].name if r["model_id"] in CATALOG else r["model_id"],
            int(r["nodes"]),
            int(r["fal"]),
            int(r["charged"]),
        )
        for r in rows
    ]


async def disabled_models(conn: asyncpg.Connection) -> frozenset[str]:
    rows = await conn.fetch("select model_id from public.model_settings where not enabled")
    return frozenset(r["model_id"] for r in rows)


async def disabled_model_ids(db: Database) -> frozenset[str]:
    async with db.as_service() as conn:
        return await disabled_models(conn)


async def set_model_enabled(db: Database, actor: Actor, model_id: str, enabled: bool) -> None:
    if model_id not in CATALOG:
        raise ValidationFailed.single(
            "UNKNOWN_MODEL", f"{model_id} is not in the catalog", field="modelId"
        )
    async with db.as_service() as conn:
        await conn.execute(
            """
            insert into public.model_settings (model_id, enabled) values ($1, $2)
            on conflict (model_id) do update set enabled = excluded.enabled, updated_at = now()
            """,
            model_id,
            enabled,
        )
        await audit.record(
            conn,
            "model.enabled" if enabled else "model.disabled",
            actor_id=actor.id,
            target=model_id,
            ip=actor.ip,
        )


async def daily_spend_limit(conn: asyncpg.Connection, default_cents: int) -> int:
    """The limit an admin set, or PLATFORM_DAILY_SPEND_LIMIT_CENTS."""
    found = await conn.fetchval("select daily_spend_limit_cents from public.platform_settings")
    return default_cents if found is None else int(found)


@dataclass(frozen=True)
class PlatformSettings:
    daily_spend_limit_cents: int
    today_spend_cents: int


async def platform_settings(db: Database, default_cents: int) -> PlatformSettings:
    async with db.as_service() as conn:
        limit = await daily_spend_limit(conn, default_cents)
        spent = await conn.fetchval(
            "select public.platform_spend_on((now() at time zone 'utc')::date)"
        )
    return PlatformSettings(limit, int(spent))


MAX_DAILY_LIMIT_CENTS = 100_000_000


async def set_daily_spend_limit(
    db: Database, actor: Actor, limit_cents: int, default_cents: int
) -> PlatformSettings:
    if not 0 <= limit_cents <= MAX_DAILY_LIMIT_CENTS:
        raise ValidationFailed.single(
            "INVALID_ARGUMENT",
            f"limitCents must be between 0 and {MAX_DAILY_LIMIT_CENTS}",
            field="limitCents",
        )
    async with db.as_service() as conn:
        before = await daily_spend_limit(conn, default_cents)
        await conn.execute(
            """
            insert into public.platform_settings (id, daily_spend_limit_cents) values (true, $1)
            on conflict (id) do update set daily_spend_limit_cents = excluded.daily_spend_limit_cents,
              updated_at = now()
            """,
            limit_cents,
        )
        await audit.record(
            conn,
            "platform.daily_spend_limit.changed",
            actor_id=actor.id,
            ip=actor.ip,
            details={"from": before, "to": limit_cents},
        )
    return await platform_settings(db, default_cents)


async def check_models_enabled(conn: asyncpg.Connection, model_ids: set[str]) -> None:
    """Run starts refuse models an admin turned off (ids as in the catalog)."""
    off = sorted(model_ids & await disabled_models(conn))
    if off:
        names = ", ".join(CATALOG[m].name if m in CATALOG else m for m in off)
        raise ValidationFailed.single(
            "MODEL_DISABLED", f"{names} is turned off for now; try another model", field="id"
        )
