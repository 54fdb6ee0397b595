"""A Pro user uploads a LoRA as a .safetensors file: it is checked to really be one, capped
while it streams, kept in private storage, listed by name, and handed to fal as a fresh
signed URL when a run uses it."""

from __future__ import annotations

import json
import struct
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from conftest import LiveServer, make_settings, serve
from devstack.embedded import free_port
from support import CREATE, RUN, User, error_codes, flux_node, sign_in, wait_for_run
from test_edge_limits import _raw_chunked
from test_grants import rest_api_as

LIST = "{ loras { id name url uploaded baseModel } }"


def safetensors(tensors: bytes = b"", header: dict[str, object] | None = None) -> bytes:
    raw = json.dumps(header if header is not None else {"__metadata__": {}}).encode()
    return struct.pack("<Q", len(raw)) + raw + tensors


async def upload(
    user: User,
    body: bytes,
    *,
    name: str = "My upload",
    filename: str = "style.safetensors",
    base: str = "flux-dev",
) -> httpx.Response:
    return await user.client.post(
        "/api/uploads/lora",
        params={"name": name, "baseModel": base, "filename": filename},
        content=body,
        headers={**user.headers, "Content-Type": "application/octet-stream"},
    )


async def test_a_pro_upload_is_listed_by_name_and_stored(pro: User, live: LiveServer) -> None:
    one_tensor = safetensors(
        struct.pack("<4f", 1, 2, 3, 4),
        {"__metadata__": {}, "w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}},
    )
    response = await upload(pro, one_tensor, name="  Watercolour  ")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == "Watercolour" and body["uploaded"] is True
    [listed] = (await pro.data(LIST))["loras"]
    assert {k: listed[k] for k in ("id", "name", "uploaded", "baseModel")} == {
        "id": body["id"],
        "name": "Watercolour",
        "uploaded": True,
        "baseModel": "flux-dev",
    }
    # Its link is a signed download of exactly the bytes sent, kept in the owner's folder.
    assert (await pro.client.get(listed["url"])).content == one_tensor
    async with live.runtime.db.as_service() as conn:
        path = await conn.fetchval(
            "select storage_path from public.loras where id = $1", uuid.UUID(body["id"])
        )
    assert path.startswith(f"{pro.id}/loras/")


async def test_an_uploaded_lora_runs_with_a_url_fal_can_fetch(
    pro: User, worker: object, fal_server: object
) -> None:
    lora_id = (await upload(pro, safetensors())).json()["id"]
    node = {
        **flux_node(loras=[{"lora_id": lora_id, "scale": 0.8}]),
        "modelId": "fal-ai/flux-lora",
    }
    created = (await pro.data(CREATE, input={"name": "u", "nodes": [node], "edges": []}))[
        "createWorkflow"
    ]
    run = (await pro.data(RUN, id=created["id"], key=uuid.uuid4().hex))["runWorkflow"]
    finished = await wait_for_run(pro, run["id"])
    assert finished["status"] == "SUCCEEDED", finished
    # The local fal server fetched the signed URL and found the file we uploaded.
    assert f"Loaded LoRA 1: {len(safetensors())} bytes of safetensors" in (
        finished["nodeRuns"][0]["logs"] or ""
    )


async def test_free_users_are_told_uploads_need_pro(alice: User) -> None:
    response = await upload(alice, safetensors())
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "UPGRADE_REQUIRED"
    assert (await alice.data(LIST))["loras"] == []


async def test_files_that_are_not_safetensors_are_refused(pro: User) -> None:
    for body in (
        b"<html>not a lora</html>",  # its first 8 bytes make an absurd header length
        struct.pack("<Q", 5) + b"hello",  # a header that is not JSON
        struct.pack("<Q", 2) + b"[]",  # JSON, not an object
        struct.pack("<Q", 1_000) + b"{}",  # a header longer than the file
        safetensors(b"trailing bytes no tensor covers"),
        safetensors(header={"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 99]}}),
        b"",
    ):
        response = await upload(pro, body)
        assert response.status_code == 400, (body, response.text)
        error = response.json()["error"]
        assert error["code"] == "VALIDATION_ERROR"
        assert error["problems"][0]["reason"] == "NOT_SAFETENSORS"
    assert (await pro.data(LIST))["loras"] == []


async def test_other_extensions_and_bad_fields_are_refused(pro: User) -> None:
    for kwargs, reason in (
        ({"filename": "style.ckpt"}, "NOT_SAFETENSORS"),
        ({"filename": "style.safetensors.exe"}, "NOT_SAFETENSORS"),
        ({"name": " "}, "INVALID_NAME"),
        ({"base": "sdxl"}, "INVALID_BASE_MODEL"),
    ):
        response = await upload(pro, safetensors(), **kwargs)  # type: ignore[arg-type]
        assert response.status_code == 400
        assert response.json()["error"]["problems"][0]["reason"] == reason
    assert (await pro.data(LIST))["loras"] == []


async def test_an_upload_past_the_cap_is_cut_off_while_streaming(
    database_url: str, test_redis_url: str, data_dir: Path
) -> None:
    cap = 64 * 1024
    settings = make_settings(
        database_url, test_redis_url, data_dir, free_port(), LORA_UPLOAD_MAX_BYTES=cap
    )
    async for server in serve(settings):
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            user = await sign_in(http, role="PRO")
            # Chunked, no Content-Length: the server can only count bytes as they arrive.
            status, sent = await _raw_chunked(
                server.base_url,
                "/api/uploads/lora?name=big&baseModel=flux-dev&filename=big.safetensors",
                user.token,
                "application/octet-stream",
                safetensors(),
                200 * 1024 * 1024,
            )
            assert status in (413, 0)
            assert sent < 50 * 1024 * 1024, f"read {sent / 2**20:.0f} MB past a 64 KB cap"
            # A declared length over the cap is refused before the body is read.
            declared = await http.post(
                "/api/uploads/lora",
                params={"name": "big", "baseModel": "flux-dev", "filename": "big.safetensors"},
                content=safetensors(b"\0" * cap),
                headers=user.headers,
            )
            assert declared.status_code == 413
            assert declared.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
            assert (await user.data(LIST))["loras"] == []


async def test_another_user_cannot_see_use_or_delete_an_upload(
    pro: User, client: httpx.AsyncClient
) -> None:
    other = await sign_in(client, role="PRO")
    lora_id = (await upload(pro, safetensors())).json()["id"]
    assert (await other.data(LIST))["loras"] == []
    node = {
        **flux_node(loras=[{"lora_id": lora_id, "scale": 1}]),
        "modelId": "fal-ai/flux-lora",
    }
    result = await other.gql(CREATE, input={"name": "x", "nodes": [node], "edges": []})
    assert error_codes(result) == ["VALIDATION_ERROR"]
    assert error_codes(
        await other.gql("mutation($id: ID!) { deleteLora(id: $id) }", id=lora_id)
    ) == ["NOT_FOUND"]
    assert [x["id"] for x in (await pro.data(LIST))["loras"]] == [lora_id]


async def test_deleting_an_upload_removes_its_file(pro: User, live: LiveServer) -> None:
    lora_id = (await upload(pro, safetensors())).json()["id"]
    async with live.runtime.db.as_service() as conn:
        path = await conn.fetchval(
            "select storage_path from public.loras where id = $1", uuid.UUID(lora_id)
        )
    url = (await live.runtime.storage.signed_urls([path]))[path]
    await pro.data("mutation($id: ID!) { deleteLora(id: $id) }", id=lora_id)
    assert (await pro.client.get(url)).status_code != 200


async def test_uploaded_rows_cannot_be_written_around_the_api(
    live: LiveServer, pro: User, bob: User
) -> None:
    """Supabase REST (as `authenticated`) still cannot insert a LoRA, an uploaded one
    included; even the API's own role cannot point a row at another user's file."""
    insert = (
        "insert into public.loras (user_id, name, storage_path, base_model)"
        " values ($1, 'x', $2, 'flux-dev')"
    )
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with rest_api_as(live, pro) as conn:
            await conn.execute(insert, uuid.UUID(pro.id), f"{pro.id}/loras/x.safetensors")
    for path in (f"{bob.id}/loras/x.safetensors", f"{pro.id}/uploads/x.png"):
        with pytest.raises((asyncpg.InsufficientPrivilegeError, asyncpg.CheckViolationError)):
            async with rest_api_as(live, pro, role="lattice_api_user") as conn:
                await conn.execute(insert, uuid.UUID(pro.id), path)


async def test_a_read_only_api_key_and_a_suspended_account_cannot_upload(
    pro: User, live: LiveServer
) -> None:
    create_key = """mutation($name: String!, $scopes: [ApiKeyScope!]!) {
      createApiKey(name: $name, scopes: $scopes) { secret } }"""
    read = (await pro.data(create_key, name="r", scopes=["READ"]))["createApiKey"]["secret"]
    run = (await pro.data(create_key, name="w", scopes=["READ", "RUN"]))["createApiKey"]["secret"]
    refused = await upload(User(pro.client, read, pro.email, pro.id), safetensors())
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "FORBIDDEN"
    accepted = await upload(User(pro.client, run, pro.email, pro.id), safetensors(), name="k")
    assert accepted.status_code == 201
    async with live.runtime.db.as_service() as conn:
        await conn.execute(
            "update public.profiles set suspended_at = now() where id = $1", uuid.UUID(pro.id)
        )
    suspended = await upload(pro, safetensors(), name="later")
    assert suspended.status_code == 403 and suspended.json()["error"]["code"] == "SUSPENDED"
    assert [x["name"] for x in (await pro.data(LIST))["loras"]] == ["k"]
