"""Keys kept on disk in dev and tests, shared by every process on the machine (the API's
processes and the workers). Each is written to a draft that only its owner can read from
the start, never briefly world-readable under a loose umask, then moved into place at once,
so no process ever reads half a key."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path


def first_written(path: Path, make: Callable[[], bytes]) -> bytes:
    """The file's bytes, written with `make()` when it does not exist yet. Processes that
    start together on a missing file all get the same bytes: `link` never replaces, so the
    first draft linked into place wins and the others read it."""
    if not path.exists():
        draft = _draft(path, make())
        try:
            with contextlib.suppress(FileExistsError):
                os.link(draft, path)
        finally:
            draft.unlink()
    return path.read_bytes()


def replace(path: Path, data: bytes) -> None:
    """Puts `data` in place of the file, at once."""
    os.replace(_draft(path, data), path)


def _draft(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(data)
    return draft
