"""What a user can do through Supabase's REST API, which runs their requests as the
`authenticated` role with their JWT's claims in `request.jwt.claims` (as PostgREST sets
them): read their own rows, and write nothing the API would have to check first."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest

from conftest import LiveServer
from support import CREATE, User, flux_node


@asynccontextmanager
async def rest_api_as(
    live: LiveServer, user: User, role: str = "authenticated"
) -> AsyncIterator[asyncpg.Connection]:
    """One PostgREST request: a transaction with the role and the caller's claims."""
    conn = await asyncpg.connect(str(live.settings.DATABASE_URL))
    try:
        async with conn.transaction():
            claims = {"sub": user.id, "role": "authenticated", "aud": "authenticated"}
            await conn.execute(
                "select set_config('role', $1, true), set_config('request.jwt.claims', $2, true)",
                role,
                json.dumps(claims),
            )
            yield conn
    finally:
        await conn.close()


async def _refused(live: LiveServer, user: User, statement: str, *args: object) -> None:
    with pytest.raises((asyncpg.InsufficientPrivilegeError, asyncpg.CheckViolationError)):
        async with rest_api_as(live, user) as conn:
            await conn.execute(statement, *args)


async def _workflow(user: User) -> str:
    created = await user.data(CREATE, input={"name": "w", "nodes": [flux_node()], "edges": []})
    return str(created["createWorkflow"]["id"])


async def test_the_rest_api_reads_only_the_users_own_rows(
    live: LiveServer, alice: User, bob: User
) -> None:
    mine, theirs = await _workflow(alice), await _workflow(bob)
    async with rest_api_as(live, alice) as conn:
        ids = {str(r["id"]) for r in await conn.fetch("select id from public.workflows")}
    assert mine in ids and theirs not in ids


async def test_workflows_cannot_be_deleted_or_rewritten_through_the_rest_api(
    live: LiveServer, alice: User
) -> None:
    workflow = uuid.UUID(await _workflow(alice))
    await _refused(live, alice, "delete from public.workflows where id = $1", workflow)
    await _refused(
        live,
        alice,
        'update public.workflows set graph = \'{"nodes": [{"id": 1}]}\' where id = $1',
        workflow,
    )
    await _refused(
        live,
        alice,
        "insert into public.workflows (user_id, name, graph) values ($1, 'x', '{\"nodes\": 5}')",
        uuid.UUID(alice.id),
    )
    got = await alice.data(
        "query($id: ID!) { workflow(id: $id) { nodes { id } } }", id=str(workflow)
    )
    assert got["workflow"]["nodes"] == [{"id": "a"}]


async def test_assets_cannot_be_deleted_through_the_rest_api(live: LiveServer, alice: User) -> None:
    async with live.runtime.db.as_service() as conn:
        asset = await conn.fetchval(
            "insert into public.assets (user_id, kind, storage, source_url, content_type, model_id)"
            " values ($1, 'IMAGE', 'TEMPORARY', 'https://fal.media/x.jpg', 'image/jpeg', 'fal-ai/flux/dev')"
            " returning id",
            uuid.UUID(alice.id),
        )
    await _refused(live, alice, "delete from public.assets where id = $1", asset)
    async with rest_api_as(live, alice) as conn:
        assert await conn.fetchval("select count(*) from public.assets where id = $1", asset) == 1


@pytest.mark.parametrize(
    "url", ["https://169.254.169.254/latest/meta-data", "https://huggingface.co/me/x.safetensors"]
)
async def test_a_free_user_cannot_add_a_lora_through_the_rest_api(
    live: LiveServer, alice: User, url: str
) -> None:
    insert = (
        "insert into public.loras (user_id, name, url, base_model) values ($1, 'l', $2, 'flux-dev')"
    )
    await _refused(live, alice, insert, uuid.UUID(alice.id), url)
    # Even the API's own role is held to the plan rule and the host list by policy.
    for role_url in (url, "https://169.254.169.254/x"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with rest_api_as(live, alice, role="lattice_api_user") as conn:
                await conn.execute(insert, uuid.UUID(alice.id), role_url)


async def test_a_pro_lora_must_point_at_a_lora_host_whoever_writes_it(
    live: LiveServer, pro: User
) -> None:
    insert = (
        "insert into public.loras (user_id, name, url, base_model) values ($1, 'l', $2, 'flux-dev')"
    )
    for url in (
        "https://169.254.169.254/x",
        "https://127.0.0.1\\.huggingface.co/x",
        "http://hf.co/x",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with rest_api_as(live, pro, role="lattice_api_user") as conn:
                await conn.execute(insert, uuid.UUID(pro.id), url)
    async with rest_api_as(live, pro, role="lattice_api_user") as conn:
        await conn.execute(insert, uuid.UUID(pro.id), "https://huggingface.co/me/x.safetensors")


async def test_api_keys_cannot_be_issued_or_unrevoked_through_the_rest_api(
    live: LiveServer, alice: User
) -> None:
    async with live.runtime.db.as_service() as conn:
        key = await conn.fetchval(
            "insert into public.api_keys (user_id, name, prefix, secret_hash, revoked_at)"
            " values ($1, 'k', $2, 'h', now()) returning id",
            uuid.UUID(alice.id),
            uuid.uuid4().hex[:12],
        )
    await _refused(
        live,
        alice,
        "insert into public.api_keys (user_id, name, prefix, secret_hash) values ($1, 'k', 'p', 'h')",
        uuid.UUID(alice.id),
    )
    await _refused(live, alice, "update public.api_keys set revoked_at = null where id = $1", key)
    await _refused(live, alice, "delete from public.api_keys where id = $1", key)


async def test_every_table_forces_row_level_security(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "select relname, relrowsecurity, relforcerowsecurity from pg_class"
            " where relnamespace = 'public'::regnamespace and relkind = 'r'"
        )
    finally:
        await conn.close()
    loose = [r["relname"] for r in rows if not (r["relrowsecurity"] and r["relforcerowsecurity"])]
    assert rows and loose == []
