"""Writing a user's role: the profile (the source of truth for every request) and Supabase's
app_metadata (which it puts into the next token it issues). A user made PRO gets the
platform's default spending cap unless they already chose one."""

from __future__ import annotations

import uuid

import asyncpg

from services.accounts.viewer import Role


async def write_role(
    conn: asyncpg.Connection, user_id: uuid.UUID, role: Role, *, default_cap_cents: int
) -> None:
    await conn.execute(
        """
        update public.profiles set role = $2,
          spending_cap_cents = case when $2 = 'PRO' then coalesce(spending_cap_cents, $3)
                                    else spending_cap_cents end
        where id = $1
        """,
        user_id,
        role.value,
        default_cap_cents,
    )
    await conn.execute(
        "update auth.users set raw_app_meta_data = raw_app_meta_data"
        " || jsonb_build_object('role', $2::text) where id = $1",
        user_id,
        role.value,
    )
