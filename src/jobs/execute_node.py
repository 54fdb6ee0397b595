"""Executes one node run on fal: resolve inputs, reuse a cached result or submit (once) and
follow the request, record outputs, settle the cost, and queue what became ready.

A message may be delivered more than once (a worker killed mid-node is redelivered), so every
step is guarded: the node's lease keeps two deliveries from working at once, the stored fal
request id is resumed instead of submitted again, and the state changes are idempotent."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import dramatiq
import httpx

from jobs.broker import broker
from jobs.context import WorkerContext, worker_context
from services.assets.media_probe import probe_video
from services.fal.gateway import FalError, FalUpdate
from services.runs import inputs as node_io
from services.runs import transitions
from services.runs.dispatch import EXECUTE_NODE, QUEUE
from services.runs.transitions import NodeWork, Transition
from services.workflows.catalog import CATALOG

log = logging.getLogger(__name__)


class LeaseHeld(Exception):
    """Another delivery is working on this node; retry once its lease may have lapsed."""


class Cancelled(Exception):
    pass


@dramatiq.actor(
    actor_name=EXECUTE_NODE,
    broker=broker,
    queue_name=QUEUE,
    max_retries=20,
    min_backoff=1_000,
    max_backoff=30_000,
    time_limit=3_600_000,
    retry_when=lambda retries, exc: isinstance(exc, LeaseHeld) or retries < 5,
)
async def execute_node(node_run_id: str) -> None:
    ctx = await worker_context()
    work = await transitions.load(ctx.engine.db, uuid.UUID(node_run_id))
    if work is None or work.status in transitions.TERMINAL or work.status == "PENDING":
        return  # already done, or not ready: a duplicate or stale delivery
    settings = ctx.engine.settings
    if not await transitions.claim(ctx.engine.db, work, settings.NODE_LEASE_SECONDS):
        raise LeaseHeld(node_run_id)
    try:
        transition = await _execute(ctx, work)
    except Cancelled:
        transition = await transitions.fail(ctx.engine.db, work, "cancelled", status="CANCELLED")
    except (FalError, node_io.InputError) as exc:
        log.info("node %s failed: %s", work.id, exc)
        transition = await transitions.fail(ctx.engine.db, work, str(exc) or type(exc).__name__)
    await _announce(ctx, work, transition)


async def _execute(ctx: WorkerContext, work: NodeWork) -> Transition:
    engine = ctx.engine
    if work.run_status == "CANCELLED" or await engine.cancel_requested(work.run_id):
        if work.fal_request_id is not None:  # a resumed node: fal may have worked on it
            return await _cancel_at_fal(ctx, work, work.fal_request_id, work.status == "RUNNING")
        raise Cancelled  # nothing was sent to fal: nothing to pay
    inputs = await node_io.resolve(engine.db, ctx.storage, work)
    request_id = work.fal_request_id
    if request_id is None:
        cache_key = inputs.cache_key(work.model_id)
        if cache_key is not None:
            hit = await transitions.cached_result(engine.db, work.user_id, cache_key)
            if hit is not None:
                return await transitions.mark_cached(engine.db, work, hit, inputs.identity)
            await transitions.set_cache_key(engine.db, work, cache_key)
        request_id = await ctx.fal.submit(work.model_id, inputs.arguments)
        if not await transitions.record_submission(engine.db, work, request_id, inputs.identity):
            # Cancelled while we submitted: the node is closed, but fal may have started.
            stopped = await ctx.fal.stop(work.model_id, request_id)
            if not stopped.started:
                return Transition([], [])
            return await transitions.charge_cancelled(engine.db, work, _cost(work))
        await engine.publish(work.run_id, [work.id])
    seen_running = work.status == "RUNNING"

    async def still_wanted() -> None:
        # Checked on every poll, not only on a change: a request waiting in fal's queue
        # reports no change, and must be cancelled there before it starts (and bills).
        if await engine.cancel_requested(work.run_id):
            raise Cancelled

    async def on_update(update: FalUpdate) -> None:
        nonlocal seen_running
        seen_running = seen_running or update.status == "RUNNING"
        active = await transitions.record_progress(
            engine.db,
            work,
            status="QUEUED" if update.status == "QUEUED" else "RUNNING",
            queue_position=update.queue_position,
            progress=update.progress,
            new_logs=update.new_logs,
            lease_seconds=engine.settings.NODE_LEASE_SECONDS,
        )
        if not active:
            raise Cancelled
        await engine.publish(work.run_id, [work.id])

    try:
        result = await ctx.fal.follow(
            work.model_id,
            request_id,
            on_update,
            deadline_s=engine.settings.NODE_DEADLINE_SECONDS,
            still_wanted=still_wanted,
        )
    except Cancelled:
        return await _cancel_at_fal(ctx, work, request_id, seen_running)
    return await _succeed(ctx, work, result)


async def _cancel_at_fal(
    ctx: WorkerContext, work: NodeWork, request_id: str, seen_running: bool
) -> Transition:
    """The cancel rule: what fal completed is kept and charged, what it had started is
    charged at its estimate (fal bills it), and only what never left fal's queue is free."""
    stopped = await ctx.fal.stop(work.model_id, request_id)
    if stopped.result is not None:
        return await _succeed(ctx, work, stopped.result)
    cost = _cost(work) if stopped.started or seen_running else 0
    return await transitions.fail(
        ctx.engine.db, work, "cancelled", status="CANCELLED", charge_cents=cost
    )


async def _succeed(ctx: WorkerContext, work: NodeWork, result: dict[str, Any]) -> Transition:
    assets = node_io.output_assets(work, result, ctx.engine.settings.TEMPORARY_ASSET_DAYS)
    for asset in assets:
        if asset["kind"] == "VIDEO":
            await _measure_video(ctx.http, asset)
    return await transitions.succeed(ctx.engine.db, work, _cost(work), assets)


def _cost(work: NodeWork) -> int:
    return CATALOG[work.model_id].estimate_cents(work.params)


async def _measure_video(http: httpx.AsyncClient, asset: dict[str, object]) -> None:
    """Width and height let the gallery reserve the tile's space before the video loads."""
    try:
        response = await http.get(str(asset["source_url"]))
        response.raise_for_status()
        info = probe_video(response.content)
    except Exception:  # a missing preview size is cosmetic; never fail a paid node for it
        log.warning("could not measure %s", asset["source_url"], exc_info=True)
        return
    asset.update(width=info.width, height=info.height, file_size_bytes=len(response.content))
    if info.duration_seconds:
        asset["duration_seconds"] = info.duration_seconds


async def _announce(ctx: WorkerContext, work: NodeWork, transition: Transition) -> None:
    await ctx.engine.send_nodes(transition.to_send)
    await ctx.engine.send_usage_reports(transition.charges)
    await ctx.engine.publish(work.run_id, transition.changed)
