"""The admin console: `Query.admin` and the `admin*` mutations. Only `AdminConsole` opens
them (ADMIN, allowed network, aal2); nested fields are reachable only through `admin`."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import strawberry
from strawberry.scalars import JSON

from graph.permissions import AdminConsole
from graph.types import Connection, Info, PageInfo, Role, Run, RunConnection, connection, parse_id
from services.admin import audit_log, platform, users
from services.admin.users import Actor
from services.platform.errors import NotFound
from services.platform.pagination import Page, PageRequest
from services.runs.reads import RUN_COLUMNS, RunRecord
from services.workflows.catalog import CATALOG


def _actor(info: Info) -> Actor:
    return Actor.of(info.context.signed_in, info.context.client_ip)


def _user_id(value: strawberry.ID) -> uuid.UUID:
    parsed = parse_id(value)
    if parsed is None:
        raise NotFound("User", str(value))
    return parsed


@strawberry.type
class AdminLedgerEntry:
    id: strawberry.ID
    created_at: datetime
    kind: str
    amount_cents: int
    payer: str
    run_id: strawberry.ID | None
    description: str | None

    @classmethod
    def of(cls, r: users.LedgerRecord) -> AdminLedgerEntry:
        return cls(
            id=strawberry.ID(str(r.id)),
            created_at=r.created_at,
            kind=r.kind,
            amount_cents=r.amount_cents,
            payer=r.payer,
            run_id=strawberry.ID(str(r.run_id)) if r.run_id else None,
            description=r.description,
        )


@strawberry.type(name="AdminLedgerEdge")
class AdminLedgerEdge:
    cursor: str
    node: AdminLedgerEntry


@strawberry.type
class AdminLedgerConnection:
    edges: list[AdminLedgerEdge]
    page_info: PageInfo


@strawberry.type
class AdminUser:
    record: strawberry.Private[users.UserRecord]
    id: strawberry.ID
    email: str | None
    role: Role
    suspended: bool
    period_usage_cents: int
    plan_status: str | None
    last_active_at: datetime | None
    created_at: datetime
    spending_cap_limit_cents: int | None

    @strawberry.field
    def credits_cents(self, info: Info) -> int:
        return self.record.credits_cents(info.context.runtime.settings.FREE_MONTHLY_CREDITS_CENTS)

    @strawberry.field(
        description="The user's runs, newest first (without their node runs' details)."
    )
    async def runs(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> RunConnection:
        page = await _runs_of(info, self.record.id, first, after)
        return connection(page, Run.of)

    @strawberry.field
    async def ledger(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> AdminLedgerConnection:
        page = await users.ledger_page(info.context.runtime.db, self.record.id, first, after)
        return AdminLedgerConnection(
            edges=[
                AdminLedgerEdge(cursor=c, node=AdminLedgerEntry.of(i))
                for i, c in zip(page.items, page.cursors, strict=True)
            ],
            page_info=PageInfo.of(page),
        )

    @classmethod
    def of(cls, r: users.UserRecord) -> AdminUser:
        return cls(
            record=r,
            id=strawberry.ID(str(r.id)),
            email=r.email,
            role=r.role,
            suspended=r.suspended,
            period_usage_cents=r.period_usage_cents,
            plan_status=r.plan_status,
            last_active_at=r.last_active_at,
            created_at=r.created_at,
            spending_cap_limit_cents=r.spending_cap_limit_cents,
        )


async def _runs_of(
    info: Info, user_id: uuid.UUID, first: int | None, after: str | None
) -> Page[RunRecord]:
    request = PageRequest.of(first, after)
    async with info.context.runtime.db.as_service(plan_per_call=True) as conn:
        rows = await conn.fetch(
            f"""
            select {RUN_COLUMNS} from public.runs
            where user_id = $1 and ($2::timestamptz is null or (created_at, id) < ($2, $3))
            order by created_at desc, id desc limit $4
            """,
            user_id,
            request.before_at,
            request.before_id,
            request.fetch,
        )
    return request.page(rows, RunRecord.from_row, lambda r: (r.created_at, r.id))


AdminUserConnection = Connection[AdminUser]


@strawberry.type
class PlatformDay:
    day: date
    fal_spend_cents: int
    charged_cents: int
    runs: int


@strawberry.type(name="PlatformModelUsage")
class PlatformModelUsage:
    model_id: strawberry.ID
    title: str
    nodes: int
    fal_spend_cents: int
    charged_cents: int


@strawberry.type
class AdminModel:
    id: strawberry.ID
    title: str
    enabled: bool


@strawberry.type
class PlatformSettings:
    daily_spend_limit_cents: int
    today_spend_cents: int

    @classmethod
    def of(cls, s: platform.PlatformSettings) -> PlatformSettings:
        return cls(
            daily_spend_limit_cents=s.daily_spend_limit_cents, today_spend_cents=s.today_spend_cents
        )


@strawberry.type
class AuditEntry:
    id: strawberry.ID
    created_at: datetime
    actor_id: strawberry.ID | None
    actor_email: str | None
    action: str
    target_id: strawberry.ID | None
    ip: str | None
    details: JSON

    @classmethod
    def of(cls, r: audit_log.AuditRecord) -> AuditEntry:
        return cls(
            id=strawberry.ID(str(r.id)),
            created_at=r.created_at,
            actor_id=strawberry.ID(str(r.actor_id)) if r.actor_id else None,
            actor_email=r.actor_email,
            action=r.action,
            target_id=strawberry.ID(r.target) if r.target else None,
            ip=r.ip,
            details=JSON(r.details),
        )


@strawberry.type
class AuditEntryEdge:
    cursor: str
    node: AuditEntry


@strawberry.type
class AuditEntryConnection:
    edges: list[AuditEntryEdge]
    page_info: PageInfo


async def _models(info: Info) -> list[AdminModel]:
    off = await platform.disabled_model_ids(info.context.runtime.db)
    return [
        AdminModel(id=strawberry.ID(spec.id), title=spec.name, enabled=spec.id not in off)
        for spec in CATALOG.values()
    ]


async def _platform(info: Info) -> PlatformSettings:
    settings = info.context.runtime.settings
    found = await platform.platform_settings(
        info.context.runtime.db, settings.PLATFORM_DAILY_SPEND_LIMIT_CENTS
    )
    return PlatformSettings.of(found)


@strawberry.type
class Admin:
    @strawberry.field
    async def users(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        search: str | None = None,
    ) -> AdminUserConnection:
        page = await users.list_users(info.context.runtime.db, first, after, search)
        return connection(page, AdminUser.of)

    @strawberry.field
    async def user(self, info: Info, id: strawberry.ID) -> AdminUser | None:
        user_id = parse_id(id)
        if user_id is None:
            return None
        found = await users.get_user(info.context.runtime.db, user_id)
        return AdminUser.of(found) if found else None

    @strawberry.field
    async def usage_by_day(self, info: Info, days: int | None = 30) -> list[PlatformDay]:
        found = await platform.usage_by_day(info.context.runtime.db, days or 30)
        return [
            PlatformDay(
                day=d.day,
                fal_spend_cents=d.fal_spend_cents,
                charged_cents=d.charged_cents,
                runs=d.runs,
            )
            for d in found
        ]

    @strawberry.field
    async def usage_by_model(self, info: Info, days: int | None = 30) -> list[PlatformModelUsage]:
        found = await platform.usage_by_model(info.context.runtime.db, days or 30)
        return [
            PlatformModelUsage(
                model_id=strawberry.ID(m.model_id),
                title=m.title,
                nodes=m.nodes,
                fal_spend_cents=m.fal_spend_cents,
                charged_cents=m.charged_cents,
            )
            for m in found
        ]

    @strawberry.field
    async def models(self, info: Info) -> list[AdminModel]:
        return await _models(info)

    @strawberry.field
    async def platform(self, info: Info) -> PlatformSettings:
        return await _platform(info)

    @strawberry.field
    async def audit_log(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        actor: strawberry.ID | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> AuditEntryConnection:
        page = await audit_log.list_entries(
            info.context.runtime.db,
            first,
            after,
            actor=parse_id(actor) if actor is not None else None,
            action=action,
            since=since,
            until=until,
        )
        return AuditEntryConnection(
            edges=[
                AuditEntryEdge(cursor=c, node=AuditEntry.of(i))
                for i, c in zip(page.items, page.cursors, strict=True)
            ],
            page_info=PageInfo.of(page),
        )


@strawberry.type
class AdminQuery:
    @strawberry.field(
        description="The admin console: FORBIDDEN unless the viewer is ADMIN, from an allowed"
        " network, with MFA (aal2).",
        permission_classes=[AdminConsole],
    )
    def admin(self) -> Admin:
        return Admin()


@strawberry.type
class AdminMutation:
    @strawberry.mutation(permission_classes=[AdminConsole])
    async def admin_set_role(
        self, info: Info, user_id: strawberry.ID, role: Role, reason: str
    ) -> AdminUser:
        settings = info.context.runtime.settings
        found = await users.set_role(
            info.context.runtime.db,
            _actor(info),
            _user_id(user_id),
            role,
            reason,
            default_cap=settings.PRO_DEFAULT_SPENDING_CAP_CENTS,
        )
        return AdminUser.of(found)

    @strawberry.mutation(
        description="Positive grants, negative adjusts down; the reason is required. The same"
        " idempotencyKey never grants twice.",
        permission_classes=[AdminConsole],
    )
    async def admin_adjust_credits(
        self,
        info: Info,
        user_id: strawberry.ID,
        amount_cents: int,
        reason: str,
        idempotency_key: str | None = None,
    ) -> AdminUser:
        found = await users.adjust_credits(
            info.context.runtime.db,
            _actor(info),
            _user_id(user_id),
            amount_cents,
            reason,
            idempotency_key or uuid.uuid4().hex,
        )
        return AdminUser.of(found)

    @strawberry.mutation(permission_classes=[AdminConsole])
    async def admin_set_suspended(
        self, info: Info, user_id: strawberry.ID, suspended: bool, reason: str
    ) -> AdminUser:
        found = await users.set_suspended(
            info.context.runtime.db, _actor(info), _user_id(user_id), suspended, reason
        )
        return AdminUser.of(found)

    @strawberry.mutation(permission_classes=[AdminConsole])
    async def admin_set_spending_cap_limit(
        self, info: Info, user_id: strawberry.ID, limit_cents: int, reason: str
    ) -> AdminUser:
        found = await users.set_spending_cap_limit(
            info.context.runtime.db, _actor(info), _user_id(user_id), limit_cents, reason
        )
        return AdminUser.of(found)

    @strawberry.mutation(permission_classes=[AdminConsole])
    async def admin_set_model_enabled(
        self, info: Info, model_id: strawberry.ID, enabled: bool
    ) -> AdminModel:
        await platform.set_model_enabled(
            info.context.runtime.db, _actor(info), str(model_id), enabled
        )
        return next(m for m in await _models(info) if m.id == str(model_id))

    @strawberry.mutation(permission_classes=[AdminConsole])
    async def admin_set_daily_spend_limit(self, info: Info, limit_cents: int) -> PlatformSettings:
        settings = info.context.runtime.settings
        found = await platform.set_daily_spend_limit(
            info.context.runtime.db,
            _actor(info),
            limit_cents,
            settings.PLATFORM_DAILY_SPEND_LIMIT_CENTS,
        )
        return PlatformSettings.of(found)
