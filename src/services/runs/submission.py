"""Submitting one claimed node to fal, once: the path a worker's `execute_node` and the API's
hand-off (`runs/hand_off.py`) share. The caller holds the node's submit lease; what fal is
sent is resolved here, a reusable result is reused instead, and fal's request id is stored
the moment fal answers, so no later delivery pays for the node a second time."""

from __future__ import annotations

from dataclasses import dataclass

from services.assets.storage import Storage
from services.assets.url_safety import image_hosts
from services.fal.gateway import FalError, FalGateway
from services.runs import inputs as node_io
from services.runs import transitions
from services.runs.completions import cost_of
from services.runs.engine import Engine
from services.runs.transitions import NodeWork, Transition

# What `submit` raises when the node cannot go to fal as it is: fal refused it or could not be
# reached (`FalUnavailable`, worth another try), or one of its inputs could not be resolved.
SUBMIT_ERRORS = (FalError, node_io.InputError)


@dataclass(frozen=True)
class Submitter:
    """What a process needs to submit nodes: the engine, fal and storage (for inputs)."""

    engine: Engine
    fal: FalGateway
    storage: Storage


@dataclass(frozen=True)
class Submitted:
    """What became of a claimed node. `waiting` is the node as fal now has it, when it is
    waiting on fal (someone must follow it); `message_settled` says the hand-off's message
    went with the submission's record."""

    transition: Transition
    waiting: NodeWork | None = None
    message_settled: bool = False


async def submit(submitter: Submitter, work: NodeWork, *, message: int | None = None) -> Submitted:
    """Raises one of `SUBMIT_ERRORS`, leaving the node as it was, for the caller's retry
    rule (then `refused`).

    `message` is the outbox message of a hand-off: stored with fal's request id, it is
    deleted and the node is left for a worker's follower to adopt."""
    engine = submitter.engine
    if work.run_status == "CANCELLED":
        # Nothing was sent to fal: nothing to pay.
        return Submitted(await transitions.fail(engine.db, work, "cancelled", status="CANCELLED"))
    inputs = await node_io.resolve(
        engine.db, submitter.storage, work, image_hosts(engine.settings.SUPABASE_URL)
    )
    cache_key = inputs.cache_key(work.model_id)
    if cache_key is not None:
        hit = await transitions.cached_result(engine.db, work, cache_key)
        if hit is not None:
            return Submitted(await transitions.mark_cached(engine.db, work, hit, inputs.identity))
    request_id = await submitter.fal.submit(
        work.model_id,
        inputs.arguments,
        # The node rides along, so a request whose submitter died before storing its id is
        # still found (and not submitted again) when fal reports it done.
        webhook_url=f"{engine.settings.fal_webhook_url}?node={work.id}",
    )
    submitted = await transitions.record_submission(
        engine.db, work, request_id, inputs.identity, message=message
    )
    if submitted is None:
        # Cancelled while we submitted: the node is closed, but fal may have started.
        stopped = await submitter.fal.stop(work.model_id, request_id)
        transition = (
            await transitions.charge_cancelled(engine.db, work, cost_of(work))
            if stopped.started
            else Transition()
        )
        return Submitted(transition, message_settled=message is not None)
    return Submitted(Transition([work.id]), submitted, message_settled=message is not None)


async def refused(submitter: Submitter, work: NodeWork, error: Exception) -> Transition:
    """The node fails with fal's (or its input's) word, once no retry is left to try."""
    return await transitions.fail(submitter.engine.db, work, str(error) or type(error).__name__)
