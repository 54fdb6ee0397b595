"""Checks every URL a user hands us before the server or fal fetches it: https only, no
credentials, no private or loopback addresses, and only hosts we expect media to live on."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from services.platform.errors import ValidationFailed

MEDIA_HOSTS = (
    "fal.media",
    "fal.run",
    "fal.ai",
    "huggingface.co",
    "hf.co",
    "civitai.com",
    "supabase.co",
    "googleapis.com",
    "amazonaws.com",
    "cloudflarestorage.com",
    "githubusercontent.com",
)


def check_public_https_url(url: str, *, field: str, hosts: tuple[str, ...] = MEDIA_HOSTS) -> str:
    def reject(why: str) -> ValidationFailed:
        return ValidationFailed.single("INVALID_URL", f"{field}: {why}", field=field)

    if len(url) > 2048:
        raise reject("the URL is too long")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise reject("this is not a valid URL") from exc
    if parts.scheme != "https":
        raise reject("only https URLs are accepted")
    if parts.username or parts.password:
        raise reject("URLs with credentials are not accepted")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise reject("the URL has no host")
    if port not in (None, 443):
        raise reject("only the standard https port is accepted")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        raise reject("use a host name, not an IP address")
    if not any(host == allowed or host.endswith("." + allowed) for allowed in hosts):
        raise reject(f"{host} is not a host media can be fetched from ({', '.join(hosts)})")
    return url.strip()
