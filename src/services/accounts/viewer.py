"""Who the viewer is: the profile behind a verified token. The role is read from the
database on every request; token claims may be stale and user_metadata is user-editable."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from services.platform import audit
from services.platform.database import Database
from services.platform.errors import Unauthenticated, ValidationFailed


class Role(StrEnum):
    FREE = "FREE"
    PRO = "PRO"
    ADMIN = "ADMIN"


@dataclass(frozen=True)
class Viewer:
    id: uuid.UUID
    email: str | None
    role: Role
    spending_cap_cents: int | None
    claims: dict[str, Any] = field(repr=False)
    suspended: bool = False
    # Set when the request came with an API key: the scopes it grants (READ, RUN).
    key_scopes: frozenset[str] | None = None
    # ADMIN in the database but without admin powers on this request (wrong network, no
    # MFA, an API key): `role` is then PRO, and this says why.
    admin_refusal: str | None = None

    @property
    def mfa_verified(self) -> bool:
        return self.claims.get("aal") == "aal2"

    @property
    def mfa_level(self) -> str:
        return "aal2" if self.mfa_verified else "aal1"

    @property
    def via_api_key(self) -> bool:
        return self.key_scopes is not None

    @property
    def stored_role(self) -> Role:
        """The role in the profile, whatever this request may use of it."""
        return Role.ADMIN if self.admin_refusal is not None else self.role

    def without_admin_powers(self, reason: str) -> Viewer:
        """An admin outside the admin conditions is an ordinary (Pro) user on this request."""
        return replace(self, role=Role.PRO, admin_refusal=reason)

    @property
    def is_anonymous(self) -> bool:
        """A Supabase anonymous sign-in: may look around, must sign up to spend anything."""
        return bool(self.claims.get("is_anonymous"))


async def viewer_from_claims(db: Database, claims: dict[str, Any]) -> Viewer:
    """Loads the viewer's profile, creating it (role FREE) the first time a token is seen."""
    try:
        user_id = uuid.UUID(str(claims["sub"]))
    except (KeyError, ValueError) as exc:
        raise Unauthenticated("The access token has no valid subject") from exc
    email = claims.get("email") or None
    async with db.as_service_statement() as conn:
        row = await conn.fetchrow(
            """
            with created as (
              insert into public.profiles (id, email)
              select id, $2 from auth.users where id = $1
              on conflict (id) do nothing
              returning role, spending_cap_cents, suspended_at
            )
            select role, spending_cap_cents, suspended_at from created
            union all
            select role, spending_cap_cents, suspended_at from public.profiles where id = $1
            limit 1
            """,
            user_id,
            email,
        )
    if row is None:
        raise Unauthenticated("This account does not exist")
    return Viewer(
        id=user_id,
        email=email,
        role=Role(row["role"]),
        spending_cap_cents=row["spending_cap_cents"],
        claims=claims,
        suspended=row["suspended_at"] is not None,
    )


async def upsert_dev_user(db: Database, email: str, role: Role | None) -> tuple[uuid.UUID, Role]:
    """The local issuer's user store: what Supabase Auth's sign-up and the admin API's
    `update_user_by_id(app_metadata=...)` do in production."""
    email = email.strip().lower()
    async with db.as_service() as conn:
        user_id: uuid.UUID = await conn.fetchval(
            """
            insert into auth.users (id, email) values (gen_random_uuid(), $1)
            on conflict (email) do update set updated_at = now()
            returning id
            """,
            email,
        )
        await conn.execute(
            "insert into public.profiles (id, email) values ($1, $2) on conflict (id) do nothing",
            user_id,
            email,
        )
        if role is not None:
            await conn.execute(
                "update public.profiles set role = $2 where id = $1", user_id, role.value
            )
            await conn.execute(
                "update auth.users set raw_app_meta_data = raw_app_meta_data || jsonb_build_object('role', $2::text)"
                " where id = $1",
                user_id,
                role.value,
            )
        current = await conn.fetchval("select role from public.profiles where id = $1", user_id)
    return user_id, Role(current)


async def create_anonymous_user(db: Database) -> uuid.UUID:
    """The local issuer's anonymous sign-in, as Supabase's: a user with no email."""
    async with db.as_service() as conn:
        user_id: uuid.UUID = await conn.fetchval(
            "insert into auth.users (id) values (gen_random_uuid()) returning id"
        )
        await conn.execute("insert into public.profiles (id) values ($1)", user_id)
    return user_id


async def set_spending_cap(
    db: Database,
    viewer: Viewer,
    cents: int | None,
    *,
    platform_max_cents: int,
    ip: str | None = None,
) -> Viewer:
    """Sets the monthly cap, up to the platform's maximum (or the higher limit an admin set
    for this user); None goes back to the platform's default cap."""
    async with db.as_user(viewer.claims) as conn:
        limit = await conn.fetchval(
            "select coalesce(spending_cap_limit_cents, $2) from public.profiles where id = $1",
            viewer.id,
            platform_max_cents,
        )
    if cents is not None and not 0 <= cents <= limit:
        raise ValidationFailed.single(
            "CAP_TOO_HIGH" if cents > limit else "INVALID_ARGUMENT",
            f"The monthly spending cap must be between 0 and {limit}¢",
            field="cents",
        )
    # Users cannot write their cap directly (that would skip the check above).
    async with db.as_service() as conn:
        await conn.execute(
            "update public.profiles set spending_cap_cents = $2 where id = $1", viewer.id, cents
        )
        await audit.record(
            conn,
            "spending_cap.changed",
            actor_id=viewer.id,
            target=str(viewer.id),
            ip=ip,
            details={"from": viewer.spending_cap_cents, "to": cents},
        )
    return replace(viewer, spending_cap_cents=cents)
