"""Stopping the processes a local stack started, each leading its own process group."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterable


def stop(processes: Iterable[subprocess.Popen[bytes]], timeout: float = 15.0) -> None:
    """SIGTERM to each group's leader, as a supervisor stops a service, then SIGKILL to
    whatever is left of each group after `timeout`.

    Only the leader: Dramatiq's and uvicorn's parents forward one SIGTERM to their
    children, and a child that gets a second one (a signal to the whole group) quits at
    once, dropping the messages and requests it had in hand."""
    processes = list(processes)
    for process in processes:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
    deadline = time.monotonic() + timeout
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
    for process in processes:
        # The leader's pid names its group for as long as any member lives.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
