"""A fal request finished (its signed webhook said so), once per request however often fal
repeats the webhook. A successful image result the webhook carries is recorded right here,
in the webhook's transaction; anything else (a failure, a result too large to carry, a video
to measure) becomes a `complete_node` message for a worker."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg

from services.platform.webhook_log import first_delivery, recorded
from services.runs import outbox, transitions
from services.runs.engine import Engine
from services.runs.inputs import output_assets
from services.runs.transitions import NodeWork, Transition
from services.workflows.catalog import CATALOG

# A result larger than this is fetched by the worker rather than carried in the message.
MAX_CARRIED_RESULT_BYTES = 64_000

# The node waiting on the request $1 and, when one is, its run's lock and this delivery's
# record, in one statement: `first` is false for a repeat. `locked` is selected so that the
# lock is taken (a CTE nobody reads never runs). The node was read before the lock; every
# transition re-checks its status under it.
WAITING_AND_RECORDED = f"""
with work as ({transitions.WAITING_ON_REQUEST}),
locked as (select id from public.runs where id in (select run_id from work) for update),
{recorded("delivery", "'fal'", "$1", "'request.completed'", when="exists (select from work)")}
select work.*, exists (select from delivery) as first, exists (select from locked) as locked
from work
"""


async def request_finished(
    engine: Engine, request_id: str, webhook: dict[str, Any], node_run_id: uuid.UUID | None
) -> bool:
    """True when this is news (a node was waiting on the request)."""
    result = carried_result(webhook)
    async with engine.db.as_service() as conn:
        work = await _news_to(conn, request_id, node_run_id)
        if work is None:
            return False
        assets = output_assets(work, result, engine.settings.TEMPORARY_ASSET_DAYS) if result else []
        if assets and all(a["kind"] == "IMAGE" for a in assets):
            transition = await transitions.succeed_locked(conn, work, cost_of(work), assets)
        else:
            await outbox.add(conn, [outbox.complete(work.id, result)])
            transition = Transition(to_relay=True)
    if transition.to_relay:
        await engine.relay()
    if transition.changed:
        await engine.publish(work.run_id, transition.changed)
    return True


async def _news_to(
    conn: asyncpg.Connection, request_id: str, node_run_id: uuid.UUID | None
) -> NodeWork | None:
    """The node this delivery is news to, its run locked and its delivery recorded: the
    node waiting on the request, or the node the webhook names when its worker died before
    storing the id. None for a repeat, or when no node waits on the request."""
    waiting = await conn.fetchrow(WAITING_AND_RECORDED, request_id)
    if waiting is not None:
        return transitions.work_of(waiting) if waiting["first"] else None
    if node_run_id is None or not await transitions.adopt_orphan(conn, node_run_id, request_id):
        return None
    if not await first_delivery(conn, "fal", request_id, "request.completed"):
        return None
    return await transitions.load_in(conn, node_run_id)


def cost_of(work: NodeWork) -> int:
    """What a node that fal worked on is charged: its estimate."""
    return CATALOG[work.model_id].estimate_cents(work.params)


def carried_result(webhook: dict[str, Any]) -> dict[str, Any] | None:
    """fal's result as its signed webhook delivered it, when it succeeded and is small;
    None sends the worker to fal for it (failures, and results fal could not attach)."""
    result = webhook.get("payload")
    if (
        webhook.get("status") != "OK"
        or webhook.get("payload_error")
        or not isinstance(result, dict)
    ):
        return None
    if len(json.dumps(result)) > MAX_CARRIED_RESULT_BYTES:
        return None
    return result
