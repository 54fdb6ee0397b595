"""The dev stand-in for Supabase Auth when several API processes share one data directory
(uvicorn --workers, `make dev` on a multi-core machine)."""

from __future__ import annotations

import multiprocessing
import stat
from pathlib import Path
from typing import Any

from services.accounts.dev_issuer import DevIssuer

ISSUER = "http://127.0.0.1/auth/v1"
PROCESSES = 6


def _start(key_file: str, barrier: Any, kids: Any) -> None:
    barrier.wait()
    kids.put(DevIssuer(Path(key_file), ISSUER).kid)


def test_processes_starting_together_on_an_empty_data_directory_sign_with_one_key(
    tmp_path: Path,
) -> None:
    """Each process used to find no key, make its own and overwrite the others', so a token
    signed by one process was refused by the next (UNAUTHENTICATED at random)."""
    context = multiprocessing.get_context("fork")
    for attempt in range(10):
        key_file = tmp_path / f"data-{attempt}" / "dev-issuer-key.pem"
        barrier, kids = context.Barrier(PROCESSES), context.Queue()
        starters = [
            context.Process(target=_start, args=(str(key_file), barrier, kids))
            for _ in range(PROCESSES)
        ]
        for starter in starters:
            starter.start()
        for starter in starters:
            starter.join(timeout=60)
            assert starter.exitcode == 0
        started = {kids.get(timeout=5) for _ in starters}
        assert started == {DevIssuer(key_file, ISSUER).kid}
        assert [p.name for p in key_file.parent.iterdir()] == [key_file.name]


def test_the_signing_key_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    key_file = tmp_path / "dev-issuer-key.pem"
    issuer = DevIssuer(key_file, ISSUER)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    issuer.rotate()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert DevIssuer(key_file, ISSUER).kid == issuer.kid
