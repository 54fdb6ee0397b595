"""The production storage adapter, through the real storage3 client, against a local server
speaking Supabase Storage's API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from devstack.embedded import free_port
from devstack.storage_server import create_app
from services.assets.storage import SupabaseStorage


@pytest.fixture
async def supabase_url(tmp_path: Path) -> AsyncIterator[str]:
    port = free_port()
    app = create_app(tmp_path, service_key="service-key", signing_secret="s" * 32)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


async def test_files_are_stored_privately_and_served_only_through_signed_urls(
    supabase_url: str,
) -> None:
    storage = SupabaseStorage(supabase_url, "service-key", "assets")
    await storage.ensure_bucket()
    await storage.ensure_bucket()  # idempotent at every start-up
    await storage.put("user-1/a.png", b"\x89PNG fake", "image/png")
    urls = await storage.signed_urls(["user-1/a.png"], expires_in=60)
    async with httpx.AsyncClient() as http:
        fetched = await http.get(urls["user-1/a.png"])
        assert fetched.status_code == 200
        assert fetched.content == b"\x89PNG fake" and fetched.headers["content-type"] == "image/png"
        unsigned = urls["user-1/a.png"].split("?")[0]
        assert (await http.get(unsigned)).status_code == 400
        await storage.remove(["user-1/a.png"])
        assert (await http.get(urls["user-1/a.png"])).status_code != 200


async def test_the_wrong_key_is_refused(supabase_url: str) -> None:
    storage = SupabaseStorage(supabase_url, "not-the-key", "assets")
    with pytest.raises(Exception, match=r"Invalid key|Unauthorized"):
        await storage.ensure_bucket()


async def test_a_lora_file_is_stored_from_disk_in_a_bucket_that_now_accepts_it(
    supabase_url: str, tmp_path: Path
) -> None:
    """A bucket made before LoRA uploads accepted only images and videos up to 200 MB: start-up
    widens it, and a file on disk is uploaded without being read whole first."""
    from storage3 import AsyncStorageClient

    headers = {"apikey": "service-key", "Authorization": "Bearer service-key"}
    old = AsyncStorageClient(f"{supabase_url}/storage/v1", headers)
    await old.create_bucket(
        "assets",
        options={
            "public": False,
            "file_size_limit": 200 * 1024 * 1024,
            "allowed_mime_types": ["image/*", "video/*"],
        },
    )
    storage = SupabaseStorage(supabase_url, "service-key", "assets")
    await storage.ensure_bucket()
    [bucket] = await old.list_buckets()
    assert "application/octet-stream" in (bucket.allowed_mime_types or [])
    assert (bucket.file_size_limit or 0) >= 512 * 1024 * 1024
    source = tmp_path / "style.safetensors"
    source.write_bytes(b"\x02\0\0\0\0\0\0\0{}")
    await storage.put_file("user-1/loras/x.safetensors", source, "application/octet-stream")
    url = (await storage.signed_urls(["user-1/loras/x.safetensors"]))["user-1/loras/x.safetensors"]
    async with httpx.AsyncClient() as http:
        assert (await http.get(url)).content == b"\x02\0\0\0\0\0\0\0{}"
