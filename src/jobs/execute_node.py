"""Starting and finishing node runs. `execute_node` resolves inputs, reuses a cached result
or submits to fal (once), and ends: no thread waits on fal. fal's signed webhook (through
the API) or the process's follower sends `complete_node` when the request is done, which
records the outputs, settles the cost and queues what became ready.

A message may be delivered more than once (a worker killed mid-node is redelivered), so every
step is guarded: a short lease keeps two deliveries from submitting at once, a stored fal
request id is never submitted again, and the state changes are idempotent."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import dramatiq
import httpx
from dramatiq.middleware import CurrentMessage

from jobs import outcomes
from jobs.broker import broker
from jobs.context import WorkerContext, worker_context
from services.fal.gateway import FalUnavailable
from services.runs import submission, transitions
from services.runs.dispatch import COMPLETE_NODE, EXECUTE_NODE, QUEUE
from services.runs.status import NodeStatus
from services.runs.transitions import NodeWork, Transition

log = logging.getLogger(__name__)
# fal unreachable when submitting: try again this often (a second apart at first), then
# fail the node rather than leave it queued through an outage.
SUBMIT_RETRIES = 3


class LeaseHeld(Exception):
    """Another delivery is submitting this node; retry once its lease may have lapsed."""


@dramatiq.actor(
    actor_name=EXECUTE_NODE,
    broker=broker,
    queue_name=QUEUE,
    max_retries=20,
    min_backoff=300,
    max_backoff=30_000,
    time_limit=600_000,
    retry_when=lambda retries, exc: isinstance(exc, LeaseHeld | FalUnavailable) or retries < 5,
)
async def execute_node(node_run_id: str) -> None:
    ctx = await worker_context()
    work = await transitions.claim_to_submit(
        ctx.engine.db, uuid.UUID(node_run_id), ctx.engine.settings.NODE_SUBMIT_LEASE_SECONDS
    )
    if work is None:
        await _not_to_submit(ctx, uuid.UUID(node_run_id))
        return
    try:
        transition = await _start(ctx, work)
    except submission.SUBMIT_ERRORS as exc:
        if isinstance(exc, FalUnavailable) and _retries() < SUBMIT_RETRIES:
            await transitions.release_lease(ctx.engine.db, work)
            raise  # fal may be back in a moment: the message is retried
        log.info("node %s failed: %s", work.id, exc)
        transition = await submission.refused(ctx.submitter, work, exc)
    except BaseException:
        # Anything unexpected: let the retry (or the stall recovery) try again at once
        # rather than wait out the lease.
        await transitions.release_lease(ctx.engine.db, work)
        raise
    await outcomes.announce(ctx, work, transition)


async def _not_to_submit(ctx: WorkerContext, node_run_id: uuid.UUID) -> None:
    """Why the node could not be claimed, and what that asks of this delivery."""
    work = await transitions.load(ctx.engine.db, node_run_id)
    if work is None or work.status in transitions.TERMINAL or work.status == NodeStatus.PENDING:
        return  # already done, or not ready: a duplicate or stale delivery
    if work.fal_request_id is not None:
        ctx.follower.adopt(work)  # submitted before: follow it, never pay twice
        return
    raise LeaseHeld(str(node_run_id))


def _retries() -> int:
    message = CurrentMessage.get_current_message()
    return int(message.options.get("retries", 0)) if message else 0


async def _start(ctx: WorkerContext, work: NodeWork) -> Transition:
    submitted = await submission.submit(ctx.submitter, work)
    if submitted.waiting is not None:
        ctx.follower.adopt(submitted.waiting)
    return submitted.transition


@dramatiq.actor(
    actor_name=COMPLETE_NODE,
    broker=broker,
    queue_name=QUEUE,
    max_retries=20,
    min_backoff=500,
    max_backoff=30_000,
    retry_when=lambda retries, exc: (
        isinstance(exc, FalUnavailable | httpx.HTTPError) or retries < 3
    ),
)
async def complete_node(node_run_id: str, result: dict[str, Any] | None = None) -> None:
    """fal says the request is done (its webhook, with the result when it succeeded)."""
    ctx = await worker_context()
    work = await transitions.load(ctx.engine.db, uuid.UUID(node_run_id))
    if work is None or work.status in transitions.TERMINAL or work.fal_request_id is None:
        return
    await outcomes.complete(ctx, work, result)
