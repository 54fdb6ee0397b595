"""Gives memory back to the operating system after a wave of WebSockets closes.

Each live socket holds tens of KiB of small Python objects. When thousands close, CPython
frees them, but glibc's allocator keeps the pages, so the process stays at its peak size
until it happens to reuse them. After every `batch` closed sockets (and at most once per
`pause` seconds) a collection runs and `malloc_trim` hands free pages back, off the event
loop. Elsewhere than glibc only the collection runs."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


def _malloc_trim() -> Callable[[], None] | None:
    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None
    if trim is None:
        return None
    return lambda: trim(0)


class MemoryReturn:
    def __init__(self, *, batch: int = 200, pause: float = 5.0) -> None:
        self._batch = batch
        self._pause = pause
        self._closed = 0
        self._last = float("-inf")
        self._task: asyncio.Task[None] | None = None
        self._trim = _malloc_trim()

    def closed(self) -> None:
        """One socket closed; after a batch of them, return what they held."""
        self._closed += 1
        if self._closed < self._batch or self._task is not None:
            return
        self._closed = 0
        self._task = asyncio.get_running_loop().create_task(self._return())

    async def _return(self) -> None:
        try:
            # Let the rest of the wave close first (and space trims out).
            await asyncio.sleep(max(1.0, self._last + self._pause - time.monotonic()))
            await asyncio.to_thread(self._collect)
            self._last = time.monotonic()
        except Exception:  # never worth failing a request for
            log.warning("returning memory failed", exc_info=True)
        finally:
            self._task = None

    def _collect(self) -> None:
        gc.collect()
        if self._trim is not None:
            self._trim()
