"""A transactional outbox: the messages a state change causes are written in the same
transaction as the change, then relayed to Dramatiq. A crash between the commit and the
send loses nothing (the relay sends it later, once its claim lapses); a crash after the send
but before the rows are deleted sends it twice, which every actor tolerates (each is
idempotent)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import asyncpg

from services.platform.database import Database
from services.runs import dispatch


@dataclass(frozen=True)
class Message:
    actor: str
    args: tuple[Any, ...]
    queue: str = dispatch.QUEUE


def execute(node_run_ids: Iterable[Any]) -> list[Message]:
    return [Message(dispatch.EXECUTE_NODE, (str(i),)) for i in node_run_ids]


def complete(node_run_id: Any, result: dict[str, Any] | None = None) -> Message:
    """`result` is fal's own, from its signed webhook, saving the worker a fetch."""
    args: tuple[Any, ...] = (str(node_run_id),) if result is None else (str(node_run_id), result)
    return Message(dispatch.COMPLETE_NODE, args)


def report_usage(ledger_ids: Iterable[int]) -> list[Message]:
    return [Message(dispatch.REPORT_USAGE, (i,), dispatch.BILLING_QUEUE) for i in ledger_ids]


def execute_cte(name: str, node_runs: str, claim_seconds: str = "null") -> str:
    """A common table expression `name` that puts an `execute` message for each node run of
    `node_runs` (a subquery with an `id` column) in the outbox, for a statement that creates
    them, and returns each message's `id` with its `node_run_id`. `claim_seconds` (an SQL
    expression) claims them for the process that writes them (see `runs/hand_off.py`)."""
    return f"""{name} as (
      insert into public.outbox (actor, args, queue, claimed_until)
      select '{dispatch.EXECUTE_NODE}', jsonb_build_array(n.id::text), '{dispatch.QUEUE}',
             now() + make_interval(secs => {claim_seconds})
      from {node_runs} n
      returning id, (args->>0)::uuid as node_run_id
    )"""


async def add(conn: asyncpg.Connection, messages: Iterable[Message]) -> bool:
    """True when there is something to relay once the transaction commits."""
    rows = [(m.actor, list(m.args), m.queue) for m in messages]
    if rows:
        await conn.executemany(
            "insert into public.outbox (actor, args, queue) values ($1, $2, $3)", rows
        )
    return bool(rows)


async def remove(db: Database, ids: list[int]) -> None:
    """Messages whose work was done without them (their node was submitted by the process
    that wrote them)."""
    async with db.as_service_statement() as conn:
        await conn.execute("delete from public.outbox where id = any($1)", ids)


async def release(db: Database, ids: list[int]) -> None:
    """Gives up a claim, so the next relay sends the messages at once."""
    async with db.as_service_statement() as conn:
        await conn.execute("update public.outbox set claimed_until = null where id = any($1)", ids)


# What a relay claims at once, and for how long: a send of a whole batch to Redis takes
# milliseconds, so a claim still held after this long belongs to a relay that died.
RELAY_BATCH = 500
CLAIM_SECONDS = 10.0

CLAIM = """
update public.outbox set claimed_until = now() + make_interval(secs => $2)
where id in (
  select id from public.outbox where claimed_until is null or claimed_until < now()
  order by id limit $1 for update skip locked
) returning id, actor, args, queue
"""


async def relay(db: Database, broker: dispatch.Broker) -> int:
    """Sends what the outbox holds; rows leave the outbox only once Redis has them. Each
    batch is claimed, sent, then deleted: two statements, and no transaction stays open
    while Redis answers. Should the send fail, the claims are given up at once, so the next
    relay (the workers' follower runs one every round) tries again."""
    sent = 0
    while True:
        async with db.as_service_statement() as conn:
            rows = await conn.fetch(CLAIM, RELAY_BATCH, CLAIM_SECONDS)
        if rows:
            ids = [r["id"] for r in rows]
            try:
                # The broker's client is synchronous: keep it off the event loop.
                await asyncio.to_thread(_send, broker, [dict(r) for r in rows])
            except BaseException:
                with contextlib.suppress(Exception):
                    await release(db, ids)
                raise
            await remove(db, ids)
        sent += len(rows)
        if len(rows) < RELAY_BATCH:
            return sent


def _send(broker: dispatch.Broker, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        dispatch.send(broker, row["actor"], *row["args"], queue=row["queue"])
    # Idle workers fetch now rather than at their next poll.
    broker.ring(row["queue"] for row in rows)
