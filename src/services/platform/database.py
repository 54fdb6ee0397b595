"""The asyncpg pool, and the two kinds of transaction the rest of the code may open.

`as_user` runs as Supabase's API does, with the verified claims in `request.jwt.claims`, so
row-level security applies to every statement and a bug in a resolver cannot reach another
user's rows. Its role is `lattice_api_user`: `authenticated` (what Supabase's REST API uses,
reads only) plus the writes the API makes after validating them. `as_service` runs as the owner, for work the
service does on a user's behalf after checking it (billing, recording what workers did).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any
from urllib.parse import urlparse

import asyncpg

from services.platform import fast_json

log = logging.getLogger(__name__)
SLOW_QUERY_SECONDS = 0.25

Connection = asyncpg.Connection


class QueryStats:
    """Counts statements and logs slow ones; installed on every pooled connection."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, record: Any) -> None:
        self.count += 1
        if record.elapsed > SLOW_QUERY_SECONDS:
            log.warning("slow query (%.0f ms): %s", record.elapsed * 1000, record.query[:200])


async def connect(dsn: str, *, max_size: int = 10) -> Database:
    stats = QueryStats()

    async def init(conn: asyncpg.Connection) -> None:
        for kind in ("json", "jsonb"):
            await conn.set_type_codec(
                kind, encoder=fast_json.dumps, decoder=fast_json.loads, schema="pg_catalog"
            )
        conn.add_query_logger(stats)

    # Supabase's pooler in transaction mode (port 6543) cannot keep prepared statements.
    cache = 0 if urlparse(dsn).port == 6543 else 100
    pool = await asyncpg.create_pool(
        dsn,
        min_size=1,
        max_size=max_size,
        statement_cache_size=cache,
        init=init,
        reset=_keep_session,
        # Without a statement cache every statement is unnamed, and planned per call anyway.
        server_settings={"plan_cache_mode": GENERIC_PLANS} if cache else None,
    )
    return Database(pool, stats)


# Every statement is prepared once per pooled connection. PostgreSQL's default plans each of
# the first executions afresh and keeps doing so whenever a plan for the given values looks
# cheaper, which for the run engine's statements (keys and statuses, CTEs of a dozen steps)
# was about a third of the database's time per node. Their plans do not depend on the
# values, so they are planned once. A listing whose optional filters (`$2 is null or ...`)
# an index serves only once the values are known asks for a plan per call (`plan_per_call`).
GENERIC_PLANS = "force_generic_plan"
PLAN_PER_CALL = "select set_config('plan_cache_mode', 'force_custom_plan', true)"


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Skips asyncpg's reset query (`RESET ALL`, `UNLISTEN *`, ...) on release: one more
    round trip per transaction, for state we never set. Everything a transaction sets is
    local to it (`set_config(..., true)`), an open transaction is still rolled back, and
    nothing here listens or takes session advisory locks (the migrator has its own
    connection)."""


def sql_literal(text: str) -> str:
    """`text` as a string constant. The E'' form reads backslashes as escapes whatever
    `standard_conforming_strings` says, so both they and quotes are doubled."""
    if "\x00" in text:
        raise ValueError("a string constant cannot hold NUL")
    return "E'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


async def as_service_from_here(conn: asyncpg.Connection) -> None:
    """In an `as_user` transaction: the statements that follow run as the owner, as in
    `as_service`, so a request can check under row-level security and then write what it
    checked in one transaction. (The role goes back to the session's own, which is always
    allowed; the viewer's claims are cleared.)"""
    await conn.execute(
        "select set_config('role', 'none', true), set_config('request.jwt.claims', '', true)"
    )


class Database:
    def __init__(self, pool: asyncpg.Pool, stats: QueryStats) -> None:
        self.pool = pool
        self.stats = stats

    async def close(self) -> None:
        await self.pool.close()

    def as_user(
        self, claims: Mapping[str, Any], *, plan_per_call: bool = False
    ) -> AbstractAsyncContextManager[asyncpg.Connection]:
        # The viewer's settings go in the same round trip as BEGIN: the simple query
        # protocol carries both, and takes no parameters, so the claims are a literal.
        opening = (
            "begin; select set_config('role', 'lattice_api_user', true),"
            f" set_config('request.jwt.claims', {sql_literal(json.dumps(dict(claims)))}, true)"
        )
        return self._transaction(f"{opening}; {PLAN_PER_CALL}" if plan_per_call else opening)

    @asynccontextmanager
    async def as_service(self, *, plan_per_call: bool = False) -> AsyncIterator[asyncpg.Connection]:
        async with self.pool.acquire() as conn, conn.transaction():
            if plan_per_call:
                await conn.execute(PLAN_PER_CALL)
            yield conn

    def as_service_from(self, first: str) -> AbstractAsyncContextManager[asyncpg.Connection]:
        """`as_service`, with `first`, a statement without parameters (a lock the transaction
        always takes first, say), sent with BEGIN in one round trip."""
        return self._transaction(f"begin; {first}")

    @asynccontextmanager
    async def _transaction(self, opening: str) -> AsyncIterator[asyncpg.Connection]:
        """A transaction begun by `opening` in one simple query. asyncpg does not know of
        it, so `conn.transaction()` inside refuses (no savepoints here)."""
        async with self.pool.acquire() as conn:
            await conn.execute(opening)
            try:
                yield conn
            except BaseException:
                # Should this fail too (a broken connection), releasing the connection rolls
                # back or discards it.
                with contextlib.suppress(Exception):
                    await conn.execute("rollback")
                raise
            await conn.execute("commit")

    @asynccontextmanager
    async def as_service_statement(self) -> AsyncIterator[asyncpg.Connection]:
        """As the owner, for one statement, which is atomic by itself: no BEGIN and COMMIT
        round trips around it."""
        async with self.pool.acquire() as conn:
            yield conn
