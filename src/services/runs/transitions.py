"""Every state change of a node run, each a guarded update in one transaction, so a message
delivered twice or a worker restarted mid-node changes state (and money) exactly once.

The one module that moves run and node state. Locks are always taken run row first, then
node rows. The messages a change causes (downstream nodes to execute, charges to report)
go into the outbox in the same transaction; callers relay the outbox and publish the
returned node run ids after the transaction commits."""

from __future__ import annotations

import dataclasses
import uuid
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from services.billing import ledger
from services.platform.database import Database
from services.runs import outbox
from services.runs.status import DONE_OK, TERMINAL_NODE, NodeStatus
from services.workflows.graph import Graph

TERMINAL = TERMINAL_NODE
# Stored logs per node: the last lines (the count of all of them is kept beside).
LOG_LINES_KEPT = 200


@dataclass(frozen=True)
class NodeWork:
    """Everything a worker needs to execute one node run."""

    id: uuid.UUID
    run_id: uuid.UUID
    user_id: uuid.UUID
    node_id: str
    model_id: str
    params: dict[str, Any]
    status: str
    fal_request_id: str | None
    run_status: str
    graph: Graph
    started_at: datetime | None = None
    fal_logs_seen: int = 0


@dataclass(frozen=True)
class Transition:
    """The node runs whose state changed (to publish once committed), and whether the
    change left messages in the outbox (to relay once committed)."""

    changed: list[uuid.UUID] = field(default_factory=list)
    to_relay: bool = False


WORK_COLUMNS = """
    n.id, n.run_id, n.user_id, n.node_id, n.model_id, n.params, n.status, n.fal_request_id,
    n.started_at, n.fal_logs_seen, r.status as run_status, r.graph
"""


def work_of(row: asyncpg.Record) -> NodeWork:
    return NodeWork(
        row["id"],
        row["run_id"],
        row["user_id"],
        row["node_id"],
        row["model_id"],
        row["params"],
        row["status"],
        row["fal_request_id"],
        row["run_status"],
        Graph.from_json(row["graph"]),
        row["started_at"],
        row["fal_logs_seen"],
    )


async def load(db: Database, node_run_id: uuid.UUID) -> NodeWork | None:
    async with db.as_service_statement() as conn:
        return await load_in(conn, node_run_id)


async def load_in(conn: asyncpg.Connection, node_run_id: uuid.UUID) -> NodeWork | None:
    row = await conn.fetchrow(
        f"select {WORK_COLUMNS} from public.node_runs n join public.runs r on r.id = n.run_id"
        " where n.id = $1",
        node_run_id,
    )
    return work_of(row) if row else None


# The node waiting on the fal request $1, if one still is.
WAITING_ON_REQUEST = f"""
select {WORK_COLUMNS} from public.node_runs n join public.runs r on r.id = n.run_id
where n.fal_request_id = $1 and n.status in ('QUEUED', 'RUNNING')
"""


async def claim_to_submit(
    db: Database, node_run_id: uuid.UUID, lease_seconds: float
) -> NodeWork | None:
    """Loads a node that is ready to submit and takes its lease, in one statement. None when
    it is not: finished, not ready, submitted before, or another worker holds the lease
    (`load` tells which)."""
    async with db.as_service_statement() as conn:
        row = await conn.fetchrow(
            f"""
            update public.node_runs n set lease_until = now() + make_interval(secs => $2)
            from public.runs r
            where n.id = $1 and r.id = n.run_id and n.status in ('QUEUED', 'RUNNING')
              and n.fal_request_id is null and (n.lease_until is null or n.lease_until < now())
            returning {WORK_COLUMNS}
            """,
            node_run_id,
            lease_seconds,
        )
    return work_of(row) if row else None


async def release_lease(db: Database, work: NodeWork) -> None:
    """Lets the next delivery try at once (fal was unreachable; nothing was submitted)."""
    async with db.as_service_statement() as conn:
        await conn.execute(
            "update public.node_runs set lease_until = null where id = $1 and fal_request_id is null",
            work.id,
        )


# One statement, so one round trip: the run's lock is taken first (`exists (select from
# locked)` is evaluated before any node row is written), and a node that moved while the
# statement waited for it (cancelled, or given this request by a webhook) is re-checked on
# its latest version, as an update under READ COMMITTED does. A hand-off's message ($5) has
# done its work once fal answered, whatever the node became meanwhile: it is deleted here,
# and the node's lease is given up, for a worker's follower to adopt it.
RECORD_SUBMISSION = """
with locked as (
  select id from public.runs where id = $4 for update
), node as (
  update public.node_runs set fal_request_id = $2, inputs = $3,
    started_at = coalesce(started_at, now()),
    lease_until = case when $5::bigint is null then lease_until end
  where id = $1 and status in ('QUEUED', 'RUNNING')
    and (fal_request_id is null or fal_request_id = $2) and exists (select from locked)
  returning started_at
), run as (
  update public.runs set status = 'RUNNING'
  where id = $4 and status = 'QUEUED' and exists (select from node)
), message as (
  delete from public.outbox where id = $5
)
select started_at from node
"""


async def record_submission(
    db: Database,
    work: NodeWork,
    request_id: str,
    inputs: dict[str, Any],
    *,
    message: int | None = None,
) -> NodeWork | None:
    """Stores fal's request id at once: a redelivered message resumes it instead of paying
    again. Returns the node as submitted, or None when it was cancelled meanwhile. Also
    when fal's webhook got here first and recorded the same request (see `adopt_orphan`).

    `message` is the outbox message of a hand-off (see `runs/hand_off.py`): it is deleted,
    and the node left for the workers' followers."""
    async with db.as_service_statement() as conn:
        started_at = await conn.fetchval(
            RECORD_SUBMISSION, work.id, request_id, inputs, work.run_id, message
        )
        if started_at is None:
            started_at = await conn.fetchval(
                "select started_at from public.node_runs where id = $1 and fal_request_id = $2",
                work.id,
                request_id,
            )
            if started_at is None:
                return None
    return dataclasses.replace(work, fal_request_id=request_id, started_at=started_at)


async def adopt_orphan(
    conn: asyncpg.Connection, node_run_id: uuid.UUID, request_id: str
) -> uuid.UUID | None:
    """Records a request fal finished for a node still waiting for its request id: the
    worker that submitted it died before storing the id (fal's webhook names the node).
    Without this the node would be submitted, and paid for at fal, a second time. Also the
    node's own when its worker stored that very id while this webhook waited for the lock,
    so the webhook is never lost to that race."""
    run_id = await conn.fetchval("select run_id from public.node_runs where id = $1", node_run_id)
    if run_id is None:
        return None
    await _lock_run(conn, run_id)
    adopted: uuid.UUID | None = await conn.fetchval(
        """
        update public.node_runs set fal_request_id = $2, started_at = coalesce(started_at, now())
        where id = $1 and status in ('QUEUED', 'RUNNING')
          and (fal_request_id is null or fal_request_id = $2)
        returning id
        """,
        node_run_id,
        request_id,
    )
    if adopted is not None:
        await conn.execute(
            "update public.runs set status = 'RUNNING' where id = $1 and status = 'QUEUED'",
            run_id,
        )
    return adopted


async def record_progress(
    db: Database,
    work: NodeWork,
    *,
    status: str,
    queue_position: int | None,
    progress: float | None,
    new_logs: list[str],
    logs_seen: int,
    lease_seconds: float,
) -> bool:
    """Writes what fal reported and renews the lease. Logs are appended once (fal's count
    of lines already stored guards a resumed request) and capped to the last lines. False
    when the node is no longer active (cancelled elsewhere): stop following it."""
    async with db.as_service_statement() as conn:
        updated = await conn.fetchval(
            """
            update public.node_runs set status = $2, queue_position = $3,
              progress = coalesce($4, progress),
              logs = case when $7 > fal_logs_seen
                          then (logs || $5::text[])[greatest(1, cardinality(logs) + cardinality($5::text[]) - $8 + 1):]
                          else logs end,
              logs_total = logs_total + case when $7 > fal_logs_seen then cardinality($5::text[]) else 0 end,
              fal_logs_seen = greatest(fal_logs_seen, $7),
              started_at = coalesce(started_at, now()), lease_until = now() + make_interval(secs => $6)
            where id = $1 and status in ('QUEUED', 'RUNNING') returning id
            """,
            work.id,
            status,
            queue_position if status == NodeStatus.QUEUED else None,
            progress,
            new_logs,
            lease_seconds,
            logs_seen,
            LOG_LINES_KEPT,
        )
    return updated is not None


async def succeed(
    db: Database, work: NodeWork, cost_cents: int, asset_rows: list[dict[str, Any]]
) -> Transition:
    """Records outputs, charges the node, and queues every downstream node now ready."""
    async with _locking_run(db, work.run_id) as conn:
        return await succeed_locked(conn, work, cost_cents, asset_rows)


# What a run (aliased `r`) ends as once none of its nodes is left open.
_RUN_OUTCOME = """case
  when exists (select from public.node_runs where run_id = r.id and status = 'FAILED')
    then 'FAILED'
  when exists (select from public.node_runs where run_id = r.id and status = 'CANCELLED')
    then 'CANCELLED'
  else 'SUCCEEDED' end"""


# Succeeding a node in one statement, under the run's lock: the node (only while it is
# still active), its outputs, the run's cost (and its end, when this was its last open
# node) and the ledger, then what the rest of the run looks like. That last part is read
# in the same snapshot, taken under the lock: the other nodes' statuses cannot have moved
# since, except between QUEUED and RUNNING (both active), which no transition needs the
# lock for.
SUCCEED = f"""
with moved as (
  update public.node_runs set status = 'SUCCEEDED', cost_cents = $2, progress = 1,
    queue_position = null, finished_at = now()
  where id = $1 and status in ('QUEUED', 'RUNNING')
  returning id, user_id, run_id, model_id, params
), outputs as (
  insert into public.assets (user_id, kind, storage, source_url, storage_path, expires_at, width,
    height, duration_seconds, content_type, file_size_bytes, model_id, params, run_id, node_run_id,
    output_index)
  select m.user_id, a.kind, a.storage, a.source_url, a.storage_path, a.expires_at, a.width,
    a.height, a.duration_seconds, a.content_type, a.file_size_bytes, m.model_id, m.params, m.run_id,
    m.id, a.output_index
  from moved m, unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[],
                       $9::int[], $10::int[], $11::real[], $12::text[], $13::bigint[], $14::int[])
    as a(kind, storage, source_url, storage_path, expires_at, width, height, duration_seconds,
         content_type, file_size_bytes, output_index)
  on conflict (node_run_id, output_index) do nothing
), run as (
  -- The run's cost; and when no other node is left open, the run is over too.
  update public.runs r set cost_cents = r.cost_cents + $2,
    finished_at = case when last.is_last then now() else r.finished_at end,
    status = case when last.is_last then {_RUN_OUTCOME} else r.status end
  from (
    select r0.status in ('QUEUED', 'RUNNING') and not exists (
      select from public.node_runs
      where run_id = r0.id and id <> $1 and status in ('PENDING', 'QUEUED', 'RUNNING')
    ) as is_last
    from public.runs r0 where r0.id = $15
  ) last
  where r.id = (select run_id from moved)
), {ledger.settle_ctes("moved", "$2", "$3")}
select exists (select from moved) as moved,
  (select id from charged) as charge_id, (select payer from charged) as charge_payer,
  (select status from public.runs where id = $15) as run_status,
  array(select row(id, node_id, status) from public.node_runs where run_id = $15) as nodes
"""


async def succeed_locked(
    conn: asyncpg.Connection, work: NodeWork, cost_cents: int, asset_rows: list[dict[str, Any]]
) -> Transition:
    """`succeed`, in a transaction the caller holds that has locked the run already."""
    row = await conn.fetchrow(
        SUCCEED,
        work.id,
        cost_cents,
        ledger.current_period(),
        *(
            [a.get(column) for a in asset_rows]
            for column in (
                "kind",
                "storage",
                "source_url",
                "storage_path",
                "expires_at",
                "width",
                "height",
                "duration_seconds",
                "content_type",
                "file_size_bytes",
                "output_index",
            )
        ),
        work.run_id,
    )
    if not row["moved"]:  # finished elsewhere: its outputs and charge are already recorded
        return Transition()
    stripe = ledger.stripe_charge(row["charge_id"], row["charge_payer"])
    nodes = [
        (node_run_id, node_id, "SUCCEEDED" if node_run_id == work.id else status)
        for node_run_id, node_id, status in row["nodes"]
    ]
    to_send = await _queue_ready_of(conn, work, nodes, row["run_status"])
    to_relay = await outbox.add(
        conn, [*outbox.execute(to_send), *outbox.report_usage(_reportable(stripe))]
    )
    return Transition([work.id, *to_send], to_relay)


async def mark_cached(
    db: Database, work: NodeWork, cached_from: uuid.UUID, inputs: dict[str, Any]
) -> Transition:
    async with _locking_run(db, work.run_id) as conn:
        moved = await conn.fetchval(
            """
            update public.node_runs set status = 'CACHED', cached_from = $2, inputs = $3, cost_cents = 0,
              progress = 1, queue_position = null, started_at = coalesce(started_at, now()), finished_at = now()
            where id = $1 and status in ('QUEUED', 'RUNNING') returning id
            """,
            work.id,
            cached_from,
            inputs,
        )
        if moved is None:
            return Transition()
        await ledger.release_node(conn, work.id)
        to_send = await _queue_ready(conn, work)
        to_relay = await outbox.add(conn, outbox.execute(to_send))
        await _finish_run_if_done(conn, work.run_id)
    return Transition([work.id, *to_send], to_relay)


async def fail(
    db: Database, work: NodeWork, error: str, *, status: str = "FAILED", charge_cents: int = 0
) -> Transition:
    """Fails (or cancels) the node, skips everything downstream of it, releases their money.
    `charge_cents` is what fal did for it anyway (a cancelled request already in progress)."""
    async with _locking_run(db, work.run_id) as conn:
        moved = await conn.fetchval(
            """
            update public.node_runs set status = $2, error = $3, queue_position = null, finished_at = now(),
              cost_cents = $4
            where id = $1 and status in ('PENDING', 'QUEUED', 'RUNNING') returning id
            """,
            work.id,
            status,
            error[:4000] if status == "FAILED" else None,
            charge_cents,
        )
        if moved is None:
            return Transition()
        charge = await _settle_or_release(conn, work, charge_cents)
        downstream = _downstream(work.graph, work.node_id)
        skipped = await conn.fetch(
            """
            update public.node_runs set status = 'SKIPPED', finished_at = now()
            where run_id = $1 and node_id = any($2) and status = 'PENDING' returning id
            """,
            work.run_id,
            sorted(downstream),
        )
        for row in skipped:
            await ledger.release_node(conn, row["id"])
        to_relay = await outbox.add(conn, outbox.report_usage(_reportable(charge)))
        await _finish_run_if_done(conn, work.run_id)
    return Transition([work.id, *(r["id"] for r in skipped)], to_relay)


async def charge_cancelled(db: Database, work: NodeWork, charge_cents: int) -> Transition:
    """A node cancelled before its fal request id was recorded, whose request fal had
    nevertheless started: it is charged like any cancelled node fal worked on."""
    async with _locking_run(db, work.run_id) as conn:
        moved = await conn.fetchval(
            """
            update public.node_runs set cost_cents = $2
            where id = $1 and status = 'CANCELLED' and cost_cents = 0 returning id
            """,
            work.id,
            charge_cents,
        )
        if moved is None:
            return Transition()
        charge = await _settle_or_release(conn, work, charge_cents)
        to_relay = await outbox.add(conn, outbox.report_usage(_reportable(charge)))
    return Transition([work.id], to_relay)


async def _settle_or_release(
    conn: asyncpg.Connection, work: NodeWork, charge_cents: int
) -> int | None:
    if charge_cents <= 0:
        await ledger.release_node(conn, work.id)
        return None
    return await _charge(conn, work, charge_cents)


async def _charge(conn: asyncpg.Connection, work: NodeWork, cents: int) -> int | None:
    """Settles the node in the ledger and adds its cost to the run's."""
    await conn.execute(
        "update public.runs set cost_cents = cost_cents + $2 where id = $1", work.run_id, cents
    )
    return await ledger.settle_node(conn, work.id, cents)


def _reportable(charge: int | None) -> list[int]:
    return [charge] if charge is not None else []


def _lock_run_statement(run_id: uuid.UUID) -> str:
    # Serializes the state changes of one run's nodes, so two upstream nodes finishing at
    # once cannot both miss (or both send) their shared downstream node. A UUID's text is
    # only hex digits and dashes: safe as a literal, so the lock can go with BEGIN.
    return f"select 1 from public.runs where id = '{run_id}' for update"


def _locking_run(
    db: Database, run_id: uuid.UUID
) -> AbstractAsyncContextManager[asyncpg.Connection]:
    """A service transaction that takes the run's lock first, in BEGIN's round trip."""
    return db.as_service_from(_lock_run_statement(run_id))


async def _lock_run(conn: asyncpg.Connection, run_id: uuid.UUID) -> None:
    await conn.execute(_lock_run_statement(run_id))


async def _queue_ready(conn: asyncpg.Connection, work: NodeWork) -> list[uuid.UUID]:
    row = await conn.fetchrow(
        "select status, array(select row(id, node_id, status) from public.node_runs"
        " where run_id = $1) as nodes from public.runs where id = $1",
        work.run_id,
    )
    return await _queue_ready_of(conn, work, row["nodes"], row["status"])


async def _queue_ready_of(
    conn: asyncpg.Connection,
    work: NodeWork,
    nodes: list[tuple[uuid.UUID, str, str]],
    run_status: str,
) -> list[uuid.UUID]:
    """Queues the PENDING nodes of the run whose upstream nodes are all done, given the
    run's nodes as `(id, node_id, status)` and its status, read under the run's lock."""
    if run_status == "CANCELLED":
        return []
    status = {node_id: current for _, node_id, current in nodes}
    ready = []
    for node_run_id, node_id, current in nodes:
        if current != "PENDING":
            continue
        upstream = {e.source for e in work.graph.incoming(node_id)}
        if all(status.get(u) in DONE_OK for u in upstream):
            ready.append(node_run_id)
    if not ready:
        return []
    moved = await conn.fetch(
        "update public.node_runs set status = 'QUEUED' where id = any($1) and status = 'PENDING' returning id",
        ready,
    )
    return [r["id"] for r in moved]


async def _finish_run_if_done(conn: asyncpg.Connection, run_id: uuid.UUID) -> None:
    await conn.execute(
        f"""
        update public.runs r set finished_at = now(), status = {_RUN_OUTCOME}
        where r.id = $1 and r.status in ('QUEUED', 'RUNNING')
          and not exists (select from public.node_runs where run_id = r.id and status in ('PENDING', 'QUEUED', 'RUNNING'))
        """,
        run_id,
    )


def _downstream(graph: Graph, node_id: str) -> set[str]:
    found: set[str] = set()
    pending = [node_id]
    while pending:
        current = pending.pop()
        for edge in graph.edges:
            if edge.source == current and edge.target not in found:
                found.add(edge.target)
                pending.append(edge.target)
    return found


async def cached_result(db: Database, work: NodeWork, cache_key: str) -> uuid.UUID | None:
    """The newest successful node run of this user with the same cache key that still has
    outputs. When there is none, the key is stored on this node, whose result will be it."""
    async with db.as_service_statement() as conn:
        found: uuid.UUID | None = await conn.fetchval(
            """
            with hit as (
              select n.id from public.node_runs n
              where n.user_id = $1 and n.cache_key = $2 and n.status = 'SUCCEEDED'
                and exists (select from public.assets a where a.node_run_id = n.id
                            and (a.expires_at is null or a.expires_at > now()))
              order by n.finished_at desc limit 1
            ), keyed as (
              update public.node_runs set cache_key = $2
              where id = $3 and not exists (select from hit) returning id
            )
            select (select id from hit)
            """,
            work.user_id,
            cache_key,
            work.id,
        )
    return found
