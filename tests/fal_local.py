"""Talks to the local fal server's control endpoint (latency, faults, counters)."""

from __future__ import annotations

import os
import ssl
from typing import Any

import httpx


def _base() -> str:
    return f"https://{os.environ['FAL_QUEUE_RUN_HOST']}"


async def control(**config: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(
        verify=ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    ) as http:
        response = await http.post(f"{_base()}/_control", json=config)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body


async def state() -> dict[str, Any]:
    async with httpx.AsyncClient(
        verify=ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    ) as http:
        response = await http.get(f"{_base()}/_control")
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body


async def submits(model: str) -> int:
    """How many requests fal has accepted for a model since it started."""
    return int((await state())["counters"]["submits"].get(model, 0))


async def reset() -> None:
    async with httpx.AsyncClient(
        verify=ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    ) as http:
        (await http.post(f"{_base()}/_control/reset")).raise_for_status()
