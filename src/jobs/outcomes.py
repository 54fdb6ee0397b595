"""What becomes of a node once fal has it: its outputs recorded and cost settled, or the
cancel rule applied; then the messages it caused relayed and subscribers told."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import httpx

from services.assets.media_probe import probe_video
from services.fal.gateway import FalError, FalUnavailable
from services.runs import inputs as node_io
from services.runs import transitions
from services.runs.completions import cost_of
from services.runs.transitions import NodeWork, Transition

if TYPE_CHECKING:
    from jobs.context import WorkerContext

log = logging.getLogger(__name__)


async def complete(
    ctx: WorkerContext, work: NodeWork, result: dict[str, Any] | None = None
) -> None:
    """fal says the request is done: record its result (fetched unless fal's signed webhook
    delivered it), or its error."""
    assert work.fal_request_id is not None
    try:
        if result is None:
            result = await ctx.fal.result(work.model_id, work.fal_request_id)
    except FalUnavailable:
        raise  # worth asking again
    except FalError as exc:
        await announce(ctx, work, await transitions.fail(ctx.engine.db, work, str(exc)))
        return
    await announce(ctx, work, await succeed(ctx, work, result))


async def succeed(ctx: WorkerContext, work: NodeWork, result: dict[str, Any]) -> Transition:
    assets = node_io.output_assets(work, result, ctx.engine.settings.TEMPORARY_ASSET_DAYS)
    for asset in assets:
        if asset["kind"] == "VIDEO":
            await _measure_video(ctx.http, asset)
    return await transitions.succeed(ctx.engine.db, work, cost_of(work), assets)


async def cancel_at_fal(ctx: WorkerContext, work: NodeWork, seen_running: bool) -> Transition:
    """The cancel rule: what fal completed is kept and charged, what it had started is
    charged at its estimate (fal bills it), and only what never left fal's queue is free."""
    assert work.fal_request_id is not None
    stopped = await ctx.fal.stop(work.model_id, work.fal_request_id)
    if stopped.result is not None:
        return await succeed(ctx, work, stopped.result)
    cost = cost_of(work) if stopped.started or seen_running else 0
    return await transitions.fail(
        ctx.engine.db, work, "cancelled", status="CANCELLED", charge_cents=cost
    )


async def _measure_video(http: httpx.AsyncClient, asset: dict[str, object]) -> None:
    """Width and height let the gallery reserve the tile's space before the video loads."""
    try:
        response = await http.get(str(asset["source_url"]))
        response.raise_for_status()
        # Decoding is CPU work: off the event loop, which follows every other request.
        info = await asyncio.to_thread(probe_video, response.content)
    except Exception:  # a missing preview size is cosmetic; never fail a paid node for it
        log.warning("could not measure %s", asset["source_url"], exc_info=True)
        return
    asset.update(width=info.width, height=info.height, file_size_bytes=len(response.content))
    if info.duration_seconds:
        asset["duration_seconds"] = info.duration_seconds


async def announce(ctx: WorkerContext, work: NodeWork, transition: Transition) -> None:
    """After a transition commits: relay the messages it caused, tell subscribers."""
    if transition.to_relay:
        await ctx.engine.relay()
    await ctx.engine.publish(work.run_id, transition.changed)
