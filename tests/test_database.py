"""Migrations in the Supabase CLI layout, row-level security on every table, and the data
layer's user transactions: raw SQL as one user never reaches another user's rows."""

from __future__ import annotations

import json
import uuid

import asyncpg
import pytest

from conftest import LiveServer
from services.accounts.viewer import Role, viewer_from_claims
from services.platform import database
from services.platform.migrations import MIGRATION_NAME, MIGRATIONS_DIR, discover, migrate
from support import CREATE, User, flux_node

TABLES = [
    "profiles",
    "workflows",
    "loras",
    "runs",
    "node_runs",
    "assets",
    "credit_ledger",
    "webhook_events",
    "api_keys",
    "audit_log",
]


def test_migration_files_follow_the_supabase_cli_naming() -> None:
    files = sorted(p.name for p in MIGRATIONS_DIR.iterdir())
    assert files, "no migrations"
    assert all(MIGRATION_NAME.match(f) and len(f.split("_")[0]) == 14 for f in files), files


async def test_migrating_again_applies_nothing_and_every_version_is_recorded(
    database_url: str,
) -> None:
    assert await migrate(database_url) == []
    conn = await asyncpg.connect(database_url)
    try:
        recorded = [
            r["version"]
            for r in await conn.fetch(
                "select version from supabase_migrations.schema_migrations order by version"
            )
        ]
    finally:
        await conn.close()
    assert recorded == [m.version for m in discover()]


async def test_every_table_has_row_level_security_and_policies_use_a_subselect(
    database_url: str,
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "select relname, relrowsecurity from pg_class where relnamespace = 'public'::regnamespace and relkind = 'r'"
        )
        policies = await conn.fetch(
            "select tablename, qual, with_check from pg_policies where schemaname = 'public'"
        )
    finally:
        await conn.close()
    secured = {r["relname"]: r["relrowsecurity"] for r in rows}
    assert set(TABLES) <= set(secured)
    assert all(secured.values()), [t for t, on in secured.items() if not on]
    for policy in policies:
        for expression in (policy["qual"], policy["with_check"]):
            if expression and "auth.uid()" in expression:
                assert "SELECT auth.uid()" in expression, policy


async def _insert_everything_for(live: LiveServer, user: User) -> dict[str, uuid.UUID]:
    """Rows of every user-owned kind, written as the service would."""
    user_id = uuid.UUID(user.id)
    async with live.runtime.db.as_service() as conn:
        workflow = await conn.fetchval(
            "insert into workflows (user_id, name) values ($1, 'secret') returning id", user_id
        )
        lora = await conn.fetchval(
            "insert into loras (user_id, name, url, base_model) values ($1, 'l', 'https://hf.co/x', 'flux-dev') returning id",
            user_id,
        )
        run = await conn.fetchval(
            "insert into runs (user_id, workflow_id, workflow_version, graph, idempotency_key)"
            " values ($1, $2, 1, '{}', $3) returning id",
            user_id,
            workflow,
            uuid.uuid4().hex,
        )
        node_run = await conn.fetchval(
            "insert into node_runs (run_id, user_id, node_id, model_id) values ($1, $2, 'a', 'fal-ai/flux/dev') returning id",
            run,
            user_id,
        )
        asset = await conn.fetchval(
            "insert into assets (user_id, kind, storage, source_url, content_type, model_id, run_id, node_run_id)"
            " values ($1, 'IMAGE', 'TEMPORARY', 'https://fal.media/x.jpg', 'image/jpeg', 'fal-ai/flux/dev', $2, $3)"
            " returning id",
            user_id,
            run,
            node_run,
        )
        await conn.execute(
            "insert into credit_ledger (user_id, run_id, entry, amount_cents, period, idempotency_key)"
            " values ($1, $2, 'CHARGE', 3, date_trunc('month', now())::date, $3)",
            user_id,
            run,
            uuid.uuid4().hex,
        )
        await conn.execute(
            "insert into api_keys (user_id, name, prefix, secret_hash) values ($1, 'k', $2, 'h')",
            user_id,
            uuid.uuid4().hex,
        )
    return {
        "workflows": workflow,
        "loras": lora,
        "runs": run,
        "node_runs": node_run,
        "assets": asset,
    }


async def test_raw_sql_as_one_user_sees_and_touches_nothing_of_another(
    live: LiveServer, alice: User, bob: User
) -> None:
    ids = await _insert_everything_for(live, alice)
    db = live.runtime.db
    bob_viewer = await viewer_from_claims(db, {"sub": bob.id, "role": "authenticated"})
    async with db.as_user(bob_viewer.claims) as conn:
        for table in [
            "profiles",
            "workflows",
            "loras",
            "runs",
            "node_runs",
            "assets",
            "credit_ledger",
            "api_keys",
        ]:
            column = "id" if table == "profiles" else "user_id"
            count = await conn.fetchval(
                f"select count(*) from {table} where {column} = $1", uuid.UUID(alice.id)
            )
            assert count == 0, f"bob can read alice's {table}"
        assert await conn.fetchval("select count(*) from workflows") == 0
        updated = await conn.execute(
            "update workflows set name = 'pwned' where id = $1", ids["workflows"]
        )
        deleted = await conn.execute("delete from assets where id = $1", ids["assets"])
        assert (updated, deleted) == ("UPDATE 0", "DELETE 0")
    async with db.as_service() as conn:
        assert (
            await conn.fetchval("select name from workflows where id = $1", ids["workflows"])
            == "secret"
        )
        assert await conn.fetchval("select count(*) from assets where id = $1", ids["assets"]) == 1


async def test_alice_sees_her_own_rows_through_the_same_path(live: LiveServer, alice: User) -> None:
    ids = await _insert_everything_for(live, alice)
    viewer = await viewer_from_claims(live.runtime.db, {"sub": alice.id})
    async with live.runtime.db.as_user(viewer.claims) as conn:
        assert (
            await conn.fetchval("select id from workflows where id = $1", ids["workflows"])
            == ids["workflows"]
        )
        assert await conn.fetchval("select count(*) from credit_ledger") == 1


@pytest.mark.parametrize(
    "statement",
    [
        "update profiles set role = 'ADMIN' where id = (select auth.uid())",
        "insert into credit_ledger (user_id, entry, amount_cents, period, idempotency_key)"
        " values ((select auth.uid()), 'GRANT', 100000, current_date, 'free money')",
        "insert into runs (user_id, workflow_id, workflow_version, graph, idempotency_key)"
        " values ((select auth.uid()), gen_random_uuid(), 1, '{}', 'x')",
        "update assets set storage = 'PERSISTENT'",
        "select * from audit_log",
        "select * from webhook_events",
    ],
)
async def test_a_user_cannot_grant_themselves_a_role_money_or_records(
    live: LiveServer, alice: User, statement: str
) -> None:
    viewer = await viewer_from_claims(live.runtime.db, {"sub": alice.id})
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with live.runtime.db.as_user(viewer.claims) as conn:
            await conn.execute(statement)
    again = await viewer_from_claims(live.runtime.db, {"sub": alice.id})
    assert again.role == Role.FREE


async def test_user_transactions_run_as_the_api_role_with_the_claims(
    live: LiveServer, alice: User
) -> None:
    viewer = await viewer_from_claims(live.runtime.db, {"sub": alice.id, "email": alice.email})
    async with live.runtime.db.as_user(viewer.claims) as conn:
        role, uid, claims, member = await conn.fetchrow(
            "select current_user, auth.uid(), auth.jwt(), pg_has_role('authenticated', 'member')"
        )
    # Supabase's `authenticated` with its policies, plus the writes only the API may make.
    assert role == "lattice_api_user" and member
    assert str(uid) == alice.id
    assert (
        json.loads(claims)["email"] == alice.email
        if isinstance(claims, str)
        else claims["email"] == alice.email
    )
    # The role does not leak past the transaction into the pooled connection.
    assert await live.runtime.db.pool.fetchval("select current_user") != "lattice_api_user"


@pytest.mark.parametrize(
    "name",
    [
        "O'Brien",
        "back\\slash\\' or 1=1 --",
        "'); select set_config('role', 'postgres', true); --",
        "Zoë 日本 \u2028",
    ],
)
async def test_claims_reach_the_database_exactly_whatever_they_hold(
    live: LiveServer, alice: User, name: str
) -> None:
    """Claims are set in the same round trip as BEGIN, as a quoted constant: text a user
    chose (metadata in their token) arrives unchanged and cannot step out of it."""
    viewer = await viewer_from_claims(live.runtime.db, {"sub": alice.id})
    claims = {**viewer.claims, "user_metadata": {"name": name}}
    async with live.runtime.db.as_user(claims) as conn:
        role, uid, jwt = await conn.fetchrow("select current_user, auth.uid(), auth.jwt()")
    assert (role, str(uid)) == ("lattice_api_user", alice.id)
    assert (json.loads(jwt) if isinstance(jwt, str) else jwt)["user_metadata"]["name"] == name


async def test_a_failed_user_transaction_is_rolled_back_and_its_connection_reused(
    live: LiveServer, alice: User
) -> None:
    created = await alice.data(CREATE, input={"name": "kept", "nodes": [flux_node()], "edges": []})
    workflow_id = uuid.UUID(created["createWorkflow"]["id"])
    viewer = await viewer_from_claims(live.runtime.db, {"sub": alice.id})
    with pytest.raises(RuntimeError):
        async with live.runtime.db.as_user(viewer.claims) as conn:
            await conn.execute("update workflows set name = 'lost' where id = $1", workflow_id)
            raise RuntimeError("the resolver failed after writing")
    async with live.runtime.db.as_user(viewer.claims) as conn:
        assert (
            await conn.fetchval("select name from workflows where id = $1", workflow_id) == "kept"
        )
    assert await live.runtime.db.pool.fetchval("select current_user") != "lattice_api_user"


async def test_saving_through_the_api_runs_under_rls(live: LiveServer, alice: User) -> None:
    created = await alice.data(CREATE, input={"name": "mine", "nodes": [flux_node()], "edges": []})
    async with live.runtime.db.as_service() as conn:
        owner = await conn.fetchval(
            "select user_id::text from workflows where id = $1",
            uuid.UUID(created["createWorkflow"]["id"]),
        )
    assert owner == alice.id


async def test_statements_are_planned_once_and_listings_per_call(
    database_url: str, alice: User
) -> None:
    """Pooled connections keep one plan per prepared statement; a listing with optional
    filters asks for a plan made for the values given (so its indexes serve the filters
    used), for its own transaction only."""
    db = await database.connect(database_url, max_size=1)  # one connection: it is reused
    try:
        claims = {"sub": alice.id, "role": "authenticated"}
        async with db.as_user(claims) as conn:
            assert await conn.fetchval("show plan_cache_mode") == "force_generic_plan"
        async with db.as_user(claims, plan_per_call=True) as conn:
            assert await conn.fetchval("show plan_cache_mode") == "force_custom_plan"
            assert await conn.fetchval("select current_user") == "lattice_api_user"
        async with db.as_service(plan_per_call=True) as conn:
            assert await conn.fetchval("show plan_cache_mode") == "force_custom_plan"
        assert await db.pool.fetchval("show plan_cache_mode") == "force_generic_plan"
    finally:
        await db.close()
