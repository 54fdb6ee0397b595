"""The HTTP edge: security headers on every kind of response, body and header size limits,
and uploads that are decoded under a pixel cap and re-encoded before they are stored."""

from __future__ import annotations

import asyncio
import io
import json
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import Image

import fal_plugin
from conftest import LiveServer
from support import User


def _csp(response: httpx.Response) -> dict[str, list[str]]:
    policy = response.headers["content-security-policy"]
    return {
        part.split()[0]: part.split()[1:] for part in (p.strip() for p in policy.split(";")) if part
    }


async def test_every_response_carries_the_security_headers(
    client: httpx.AsyncClient, alice: User
) -> None:
    api = await client.post("/graphql", json={"query": "{ viewer { id } }"}, headers=alice.headers)
    page = await client.get("/some/deep/link")
    health = await client.get("/healthz")
    for response in (api, health, page):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert "camera=()" in response.headers["permissions-policy"]
        csp = _csp(response)
        assert csp["frame-ancestors"] == ["'none'"]
        assert csp["script-src"] == ["'self'"], "no inline or remote scripts"
        assert csp["object-src"] == ["'none'"]
        host = urlsplit(str(client.base_url)).netloc
        assert {"'self'", f"ws://{host}"} <= set(csp["connect-src"])
        # The local fal CDN (plain http on loopback) is allowed only because it is configured.
        cdn = f"http://127.0.0.1:{fal_plugin.CDN_PORT}"
        assert cdn in csp["img-src"] and cdn in csp["media-src"]
        # Dev serves plain http on loopback: no HSTS there.
        assert "strict-transport-security" not in response.headers


async def test_the_page_has_no_inline_script(client: httpx.AsyncClient) -> None:
    """The client's source page, and the page served when the client is built (`make test`
    builds it before the tests run)."""
    pages = [(Path(__file__).parents[1] / "client" / "index.html").read_text()]
    served = await client.get("/")
    if served.status_code != 404:
        pages.append(served.text)
    for html in pages:
        assert "<script>" not in html.replace(" ", "")
        for tag in html.split("<script")[1:]:
            assert "src=" in tag.split(">")[0], tag[:200]


def test_production_adds_hsts_and_allows_its_supabase(tmp_path: object) -> None:
    from graph.security_headers import SecurityHeaders

    async def app(scope: object, receive: object, send: object) -> None:
        raise AssertionError

    headers = SecurityHeaders(app, supabase_url="https://abcd.supabase.co", production=True)
    policy = headers.content_security_policy("api.example.com", graphiql=False)
    assert "https://abcd.supabase.co" in policy and "wss://abcd.supabase.co" in policy
    assert "unsafe-inline' https://unpkg.com" not in policy
    # A Host header cannot write its own directives into the policy.
    assert headers.content_security_policy(None, graphiql=False).count("script-src") == 1


async def test_a_graphql_body_over_a_megabyte_is_refused_before_it_is_read(
    client: httpx.AsyncClient, alice: User
) -> None:
    big = {"query": "{ viewer { id } }", "variables": {"pad": "x" * (2 * 1024 * 1024)}}
    declared = await client.post("/graphql", json=big, headers=alice.headers)
    assert declared.status_code == 413
    assert declared.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"

    # Without a Content-Length the body is counted as it arrives.
    status, sent = await _raw_chunked(
        str(client.base_url),
        "/graphql",
        alice.token,
        "application/json",
        b'{"query": "{ viewer { id } }", "variables": {"pad": "',
        64 * 1024 * 1024,
    )
    assert status in (413, 0)
    assert sent < 16 * 1024 * 1024
    # Ordinary requests are untouched.
    ok = await client.post("/graphql", json={"query": "{ viewer { id } }"}, headers=alice.headers)
    assert ok.status_code == 200 and ok.json()["data"]["viewer"]["id"] == alice.id


async def test_oversized_request_headers_are_refused(
    client: httpx.AsyncClient, alice: User
) -> None:
    response = await client.post(
        "/graphql",
        json={"query": "{ viewer { id } }"},
        headers={**alice.headers, "X-Padding": "x" * (1024 * 1024)},
    )
    assert response.status_code == 431


async def test_a_header_that_never_ends_is_cut_off_at_the_cap(live: LiveServer) -> None:
    """The parser would buffer an unterminated header for as long as it keeps coming: the
    connection is refused once the head passes 64 KB, not when memory runs out."""
    reader, writer = await _open(live.base_url)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Endless: ")
    sent, answer = 0, asyncio.create_task(reader.read(4096))
    try:
        while sent < 16 * 1024 * 1024 and not answer.done():
            writer.write(b"a" * 4096)
            await writer.drain()
            sent += 4096
            await asyncio.sleep(0)
    except (ConnectionError, OSError):
        pass
    refusal = await asyncio.wait_for(answer, timeout=30)
    writer.close()
    assert refusal.startswith(b"HTTP/1.1 431 "), refusal[:80]
    assert sent < 1024 * 1024, f"{sent} header bytes were taken before the refusal"


@pytest.mark.parametrize("upgrade", [False, True], ids=["request", "websocket"])
async def test_a_head_over_the_cap_is_refused_even_when_it_arrives_in_one_read(
    live: LiveServer, upgrade: bool
) -> None:
    host = urlsplit(live.base_url).netloc
    head = f"GET /graphql HTTP/1.1\r\nHost: {host}\r\nX-Padding: {'x' * 70_000}\r\n"
    if upgrade:
        head += (
            "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Protocol: graphql-transport-ws\r\n"
        )
    reader, writer = await _open(live.base_url)
    writer.write((head + "\r\n").encode())
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), timeout=30)  # to the close
    writer.close()
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:80]
    assert answer.count(b"HTTP/1.1 ") == 1


async def test_heads_under_the_cap_pass_even_when_their_body_comes_with_them(
    live: LiveServer, alice: User
) -> None:
    """A body (here 200 KB) in the same packets as its head is not counted as head, and on a
    kept-alive connection each request's head is counted from its own start: three requests
    with 40 KB of headers each all answer."""
    reader, writer = await _open(live.base_url)
    padding = "x" * (40 * 1024)
    body = json.dumps(
        {"query": "{ viewer { id } }", "variables": {"pad": "p" * 200 * 1024}}
    ).encode()
    host = urlsplit(live.base_url).netloc
    request = (
        f"POST /graphql HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {alice.token}\r\n"
        f"X-Padding: {padding}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    try:
        for _ in range(3):
            writer.write(request)
            status = await asyncio.wait_for(reader.readline(), timeout=30)
            assert status.startswith(b"HTTP/1.1 200 "), status
            length = 0
            while (line := await reader.readline()) != b"\r\n":
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            answer = json.loads(await reader.readexactly(length))
            assert answer["data"]["viewer"]["id"] == alice.id
    finally:
        writer.close()


async def _open(base_url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    parts = urlsplit(base_url)
    return await asyncio.open_connection(parts.hostname, parts.port)


async def _raw_chunked(
    base_url: str, path: str, token: str, content_type: str, head: bytes, total: int
) -> tuple[int, int]:
    """POSTs `head` and then zero bytes up to `total`, chunked (no Content-Length), and
    returns the status and how many bytes had been sent when the answer came."""
    parts = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    writer.write(
        (
            f"POST {path} HTTP/1.1\r\n"
            f"Host: {parts.netloc}\r\n"
            f"Authorization: Bearer {token}\r\n"
            f"Content-Type: {content_type}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n"
        ).encode()
    )
    sent = 0
    answer = asyncio.create_task(reader.readline())
    chunk = b"0" * (1024 * 1024)
    try:
        writer.write(b"%x\r\n%s\r\n" % (len(head), head))
        while sent < total and not answer.done():
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
            sent += len(chunk)
            await asyncio.sleep(0)
    except (ConnectionError, OSError):
        pass
    try:
        status_line = await asyncio.wait_for(answer, timeout=30)
    except ConnectionResetError:
        # The server answered and closed while we were still sending: the kernel drops an
        # unread answer when the reset arrives (status 0). Refused all the same.
        return 0, sent
    finally:
        writer.close()
    return int(status_line.split()[1]), sent


async def _raw_chunked_upload(base_url: str, token: str, total: int) -> tuple[int, int]:
    boundary = "b0undary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()
    return await _raw_chunked(
        base_url,
        "/api/uploads",
        token,
        f"multipart/form-data; boundary={boundary}",
        head,
        total,
    )


def _rss_bytes() -> int:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) * 1024


async def test_a_400_mb_upload_is_refused_without_growing_the_api(
    live: LiveServer, alice: User
) -> None:
    """The API runs in this process: its memory is this process's."""
    before = _rss_bytes()
    status, sent = await _raw_chunked_upload(live.base_url, alice.token, 400 * 1024 * 1024)
    grew = _rss_bytes() - before
    assert status in (413, 0)
    assert sent < 100 * 1024 * 1024, f"the API read {sent / 2**20:.0f} MB before refusing"
    assert grew < 60 * 1024 * 1024, f"the process grew by {grew / 2**20:.0f} MB"


def _image(kind: str, size: tuple[int, int] = (64, 48), **save: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format=kind, **save)
    return out.getvalue()


def _gps_exif() -> bytes:
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)}
    exif[0x0110] = "Secret Camera 3000"
    return exif.tobytes()


async def _upload(user: User, data: bytes, name: str = "a.jpg") -> httpx.Response:
    return await user.client.post(
        "/api/uploads",
        files={"file": (name, data, "application/octet-stream")},
        headers=user.headers,
    )


@pytest.mark.parametrize("kind", ["JPEG", "PNG", "WEBP"])
async def test_uploaded_images_lose_their_exif_and_gps(alice: User, kind: str) -> None:
    original = _image(kind, exif=_gps_exif())
    assert b"Secret Camera" in original
    response = await _upload(alice, original)
    assert response.status_code == 201, response.text
    stored = (await alice.client.get(response.json()["url"])).content
    assert b"Secret Camera" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == kind and image.size == (64, 48)
        assert not image.getexif().get_ifd(0x8825)


async def test_bytes_after_the_image_are_not_stored(alice: User) -> None:
    polyglot = _image("PNG") + b"<html><script>alert(document.cookie)</script></html>"
    response = await _upload(alice, polyglot, "a.png")
    assert response.status_code == 201, response.text
    stored = (await alice.client.get(response.json()["url"])).content
    assert b"<script>" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.size == (64, 48)


async def test_a_decompression_bomb_is_refused_with_a_clear_error(alice: User) -> None:
    # 179 megapixels of one colour compress to well under a megabyte of PNG.
    bomb = io.BytesIO()
    Image.new("1", (14_000, 12_800)).save(bomb, format="PNG")
    started = time.monotonic()
    response = await _upload(alice, bomb.getvalue(), "bomb.png")
    assert response.status_code == 400, response.text
    assert response.json()["error"]["problems"][0]["reason"] == "TOO_MANY_PIXELS"
    assert time.monotonic() - started < 5
    gallery = await alice.data("{ assets(first: 5) { edges { node { id } } } }")
    assert gallery["assets"]["edges"] == []


async def test_a_truncated_or_fake_image_is_refused(alice: User) -> None:
    whole = _image("PNG", (256, 256))
    for data in (whole[: len(whole) // 2], b"GIF89a" + b"\0" * 100, b"<html></html>"):
        response = await _upload(alice, data, "a.png")
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
