"""A fal request finished (its webhook said so): the node it belongs to gets a
`complete_node` message, once per request however often fal repeats the webhook."""

from __future__ import annotations

from services.platform.webhook_log import first_delivery
from services.runs import outbox
from services.runs.engine import Engine


async def request_finished(engine: Engine, request_id: str) -> bool:
    """True when this is news (a node was waiting on the request)."""
    async with engine.db.as_service() as conn:
        node_run_id = await conn.fetchval(
            """
            select id from public.node_runs
            where fal_request_id = $1 and status in ('QUEUED', 'RUNNING')
            """,
            request_id,
        )
        if node_run_id is None:
            return False
        if not await first_delivery(conn, "fal", request_id, "request.completed"):
            return False
        await outbox.add(conn, [outbox.complete(node_run_id)])
    await engine.relay()
    return True
