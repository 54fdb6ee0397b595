"""The statuses of runs and node runs: one definition, used by every query and transition."""

from __future__ import annotations

from enum import StrEnum


class NodeStatus(StrEnum):
    PENDING = "PENDING"  # waits for upstream nodes
    QUEUED = "QUEUED"  # sent to a worker, or waiting in fal's queue
    RUNNING = "RUNNING"  # fal is working on it
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    SKIPPED = "SKIPPED"  # an upstream node failed or was cancelled
    CACHED = "CACHED"  # an earlier output was reused


class RunStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


ACTIVE_NODE = (NodeStatus.QUEUED, NodeStatus.RUNNING)
OPEN_NODE = (NodeStatus.PENDING, *ACTIVE_NODE)
DONE_OK = (NodeStatus.SUCCEEDED, NodeStatus.CACHED)
TERMINAL_NODE = tuple(s for s in NodeStatus if s not in OPEN_NODE)
TERMINAL_RUN = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)
