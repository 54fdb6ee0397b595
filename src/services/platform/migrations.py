"""Applies `supabase/migrations/*.sql` in order and records what ran.

The record lives where the Supabase CLI keeps its own (`supabase_migrations.schema_migrations`),
so a database migrated here and one migrated by `supabase db push` agree on what ran. On a plain
PostgreSQL the local shim (Supabase's roles, `auth` schema and helpers) is applied first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

SUPABASE_DIR = Path(__file__).resolve().parents[3] / "supabase"
MIGRATIONS_DIR = SUPABASE_DIR / "migrations"
SHIM_FILE = SUPABASE_DIR / "local" / "supabase_shim.sql"
# The pattern the Supabase CLI itself matches migration files with.
MIGRATION_NAME = re.compile(r"^([0-9]+)_(.*)\.sql$")
# Any constant; it only has to be the same for every process migrating this database.
LOCK_KEY = 7_216_114_801


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found = []
    for path in directory.iterdir():
        match = MIGRATION_NAME.match(path.name)
        if match:
            found.append(Migration(version=match[1], name=match[2], path=path))
    return sorted(found, key=lambda m: m.version)


async def migrate(dsn: str) -> list[str]:
    """Bring the database up to date; returns the versions applied by this call."""
    conn = await asyncpg.connect(dsn)
    try:
        # Several test workers or processes may start at once: one migrates, the rest wait.
        await conn.execute("select pg_advisory_lock($1)", LOCK_KEY)
        try:
            return await _apply_pending(conn)
        finally:
            await conn.execute("select pg_advisory_unlock($1)", LOCK_KEY)
    finally:
        await conn.close()


async def _apply_pending(conn: asyncpg.Connection) -> list[str]:
    if not await _is_supabase(conn):
        await conn.execute(SHIM_FILE.read_text())
    await conn.execute(
        """
        create schema if not exists supabase_migrations;
        create table if not exists supabase_migrations.schema_migrations (
          version text primary key, statements text[], name text
        );
        """
    )
    done = {
        r["version"]
        for r in await conn.fetch("select version from supabase_migrations.schema_migrations")
    }
    applied = []
    for migration in discover():
        if migration.version in done:
            continue
        sql = migration.path.read_text()
        async with conn.transaction():
            await conn.execute(sql)
            await conn.execute(
                "insert into supabase_migrations.schema_migrations (version, statements, name)"
                " values ($1, $2, $3)",
                migration.version,
                [sql],
                migration.name,
            )
        applied.append(migration.version)
    return applied


async def _is_supabase(conn: asyncpg.Connection) -> bool:
    # Supabase's own administrative role exists only on Supabase-managed databases.
    return bool(
        await conn.fetchval("select exists (select from pg_roles where rolname = 'supabase_admin')")
    )


def main() -> None:
    """`python -m services.platform.migrations`: migrates DATABASE_URL, e.g. on deploy."""
    import asyncio

    from services.platform.config import Settings

    url = Settings().DATABASE_URL
    if not url:
        raise SystemExit("DATABASE_URL is not set")
    asyncio.run(migrate(url))


if __name__ == "__main__":
    main()
