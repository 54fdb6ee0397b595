"""A fal request finished (its webhook said so): the node it belongs to gets a
`complete_node` message, once per request however often fal repeats the webhook."""

from __future__ import annotations

import json
import uuid
from typing import Any

from services.platform.webhook_log import first_delivery
from services.runs import outbox, transitions
from services.runs.engine import Engine

# A result larger than this is fetched by the worker rather than carried in the message.
MAX_CARRIED_RESULT_BYTES = 64_000


async def request_finished(
    engine: Engine, request_id: str, webhook: dict[str, Any], node_run_id: uuid.UUID | None
) -> bool:
    """True when this is news (a node was waiting on the request)."""
    async with engine.db.as_service() as conn:
        found = await conn.fetchval(
            """
            select id from public.node_runs
            where fal_request_id = $1 and status in ('QUEUED', 'RUNNING')
            """,
            request_id,
        )
        if found is None and node_run_id is not None:
            found = await transitions.adopt_orphan(conn, node_run_id, request_id)
        if found is None:
            return False
        if not await first_delivery(conn, "fal", request_id, "request.completed"):
            return False
        await outbox.add(conn, [outbox.complete(found, carried_result(webhook))])
    await engine.relay()
    return True


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
