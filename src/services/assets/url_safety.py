"""Checks every URL a user hands us before the server or fal fetches it.

URLs are parsed by httpx, the library that fetches them here: Python's `urlsplit` and
urllib3 disagree about `https://127.0.0.1\\.fal.media/a.png` (one sees a fal host, the other
127.0.0.1), so a check made with one parser and a fetch made with another is no check.
Anything a parser could read two ways (backslashes, credentials, IP literals, unusual
ports, percent-escapes or spaces in the host) is refused outright. Only the hosts media
actually comes from are accepted, and for what the server fetches itself every address the
name resolves to must be public."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Collection

import httpx

from services.platform.errors import ValidationFailed

# Images handed to fal: fal's CDN (its outputs) and this project's Supabase Storage (signed
# object URLs): `image_hosts` adds the project's own host, never every project's.
IMAGE_HOSTS = ("fal.media",)
# Where the LoRA loader fal runs downloads weights from.
LORA_HOSTS = ("huggingface.co", "hf.co", "civitai.com")
# What the server copies into storage: fal's outputs.
FAL_OUTPUT_HOSTS = ("fal.media",)
HOST_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def _reject(field: str, why: str) -> ValidationFailed:
    return ValidationFailed.single("INVALID_URL", f"{field}: {why}", field=field)


def parse_https_url(url: str, *, field: str) -> httpx.URL:
    """The URL as httpx reads it, if no reader could take it any other way."""
    url = url.strip()
    if len(url) > 2048:
        raise _reject(field, "the URL is too long")
    if "\\" in url or any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise _reject(field, "the URL contains characters URLs must not have")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise _reject(field, "this is not a valid URL") from exc
    if parsed.scheme != "https":
        raise _reject(field, "only https URLs are accepted")
    authority = url[len("https://") :].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    if "@" in authority or parsed.userinfo:
        raise _reject(field, "URLs with credentials are not accepted")
    if parsed.port not in (None, 443):
        raise _reject(field, "only the standard https port is accepted")
    host = parsed.host.rstrip(".").lower()
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        raise _reject(field, "use a host name, not an IP address")
    if not HOST_NAME.match(host):
        raise _reject(field, "the URL's host is not a plain host name")
    return parsed


def image_hosts(supabase_url: str | None) -> tuple[str, ...]:
    """fal's CDN, and the host of this project's Supabase (when it has one)."""
    host = httpx.URL(supabase_url).host if supabase_url else ""
    return (*IMAGE_HOSTS, host) if host else IMAGE_HOSTS


def _allowed(host: str, hosts: Collection[str]) -> bool:
    return any(host == allowed or host.endswith("." + allowed) for allowed in hosts)


def check_public_https_url(url: str, *, field: str, hosts: Collection[str] = IMAGE_HOSTS) -> str:
    """An https URL on one of `hosts` (or their subdomains), returned as checked."""
    parsed = parse_https_url(url, field=field)
    host = parsed.host.rstrip(".").lower()
    if not _allowed(host, hosts):
        raise _reject(field, f"{host} is not a host media can be fetched from ({', '.join(hosts)})")
    return url.strip()


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def check_fetchable(
    url: str, *, field: str, hosts: Collection[str], local_origins: Collection[str] = ()
) -> None:
    """For URLs this server fetches itself: on an allowed host, and resolving only to public
    addresses. `local_origins` ("host:port", from LOCAL_MEDIA_ORIGINS) are the dev and test
    stand-ins on loopback, allowed only when configured so."""
    stripped = url.strip()
    if local_origins and "\\" not in stripped and "@" not in stripped:
        # The stand-ins serve plain http on loopback; matched exactly, host and port.
        for scheme in ("http://", "https://"):
            if (
                stripped.startswith(scheme)
                and stripped[len(scheme) :].split("/", 1)[0] in local_origins
            ):
                return
    check_public_https_url(url, field=field, hosts=hosts)
    host = httpx.URL(stripped).host
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, 443, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise _reject(field, f"{host} does not resolve") from exc
    if not infos or not all(_public(str(info[4][0])) for info in infos):
        raise _reject(field, f"{host} resolves to an address that is not public")
