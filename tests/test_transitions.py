"""Node state transitions against the real database, without a worker: what a node's
success does to the run around it (its downstream nodes, the run's status, the money),
and that a success recorded twice changes nothing the second time."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from conftest import LiveServer
from services.platform.database import Database
from services.runs import transitions
from services.workflows.graph import Graph
from support import User, flux_node, wan_node, wire

FLUX_CENTS = 3


async def _run(db: Database, user_id: str) -> tuple[uuid.UUID, dict[str, uuid.UUID]]:
    """A run of FLUX a -> Wan b beside an unconnected FLUX c: a and c at fal, b waiting on a,
    each node's estimate reserved, as a run start leaves it."""
    graph = Graph.from_json(
        {"nodes": [flux_node("a"), wan_node("b"), flux_node("c", row=1)], "edges": [wire("a", "b")]}
    )
    user = uuid.UUID(user_id)
    async with db.as_service() as conn:
        workflow = await conn.fetchval(
            "insert into public.workflows (user_id, name, graph) values ($1, 'runs', $2) returning id",
            user,
            graph.as_json(),
        )
        run_id = await conn.fetchval(
            """
            insert into public.runs (user_id, workflow_id, workflow_version, graph, idempotency_key,
              status) values ($1, $2, 1, $3, $4, 'RUNNING') returning id
            """,
            user,
            workflow,
            graph.as_json(),
            uuid.uuid4().hex,
        )
        ids = {}
        for node in graph.nodes:
            status = "PENDING" if node.id == "b" else "RUNNING"
            ids[node.id] = await conn.fetchval(
                """
                insert into public.node_runs (run_id, user_id, node_id, model_id, params, status,
                  fal_request_id) values ($1, $2, $3, $4, $5, $6, $7) returning id
                """,
                run_id,
                user,
                node.id,
                node.model_id,
                node.params,
                status,
                None if status == "PENDING" else f"req-{uuid.uuid4().hex}",
            )
            await conn.execute(
                """
                insert into public.credit_ledger (user_id, run_id, node_run_id, entry, amount_cents,
                  period, idempotency_key, payer)
                values ($1, $2, $3, 'RESERVE', 50, date_trunc('month', now())::date, $4,
                        'PLATFORM')
                """,
                user,
                run_id,
                ids[node.id],
                f"reserve:{ids[node.id]}",
            )
    return run_id, ids


def _image(index: int = 0) -> dict[str, Any]:
    return {
        "kind": "IMAGE",
        "storage": "TEMPORARY",
        "source_url": f"https://v3.fal.media/files/out-{index}.png",
        "expires_at": datetime.now(UTC) + timedelta(days=7),
        "width": 1024,
        "height": 768,
        "content_type": "image/png",
        "output_index": index,
    }


async def _state(db: Database, run_id: uuid.UUID) -> tuple[str, dict[str, str], int, int]:
    async with db.as_service() as conn:
        run = await conn.fetchrow(
            "select status, cost_cents from public.runs where id = $1", run_id
        )
        nodes = await conn.fetch(
            "select node_id, status from public.node_runs where run_id = $1", run_id
        )
        charges = await conn.fetchval(
            "select count(*) from public.credit_ledger where run_id = $1 and entry = 'CHARGE'",
            run_id,
        )
    return run["status"], {r["node_id"]: r["status"] for r in nodes}, run["cost_cents"], charges


async def _succeed(db: Database, node_run_id: uuid.UUID, images: int = 1) -> transitions.Transition:
    work = await transitions.load(db, node_run_id)
    assert work is not None
    return await transitions.succeed(db, work, FLUX_CENTS, [_image(i) for i in range(images)])


async def test_a_success_queues_what_it_unblocks_and_the_run_ends_with_its_last_node(
    live: LiveServer, alice: User
) -> None:
    db = live.runtime.db
    run_id, ids = await _run(db, alice.id)

    first = await _succeed(db, ids["a"], images=2)
    # b was waiting on a only: it is queued, and its message written with the change.
    assert first.changed == [ids["a"], ids["b"]] and first.to_relay
    assert await _state(db, run_id) == (
        "RUNNING",
        {"a": "SUCCEEDED", "b": "QUEUED", "c": "RUNNING"},
        FLUX_CENTS,
        1,
    )
    async with db.as_service() as conn:
        outputs = await conn.fetchval(
            "select count(*) from public.assets where node_run_id = $1", ids["a"]
        )
        released = await conn.fetchval(
            "select count(*) from public.credit_ledger where node_run_id = $1 and entry = 'RELEASE'",
            ids["a"],
        )
    assert (outputs, released) == (2, 1)

    # c finishes while b is still open: the run goes on.
    await _succeed(db, ids["c"])
    assert (await _state(db, run_id))[0] == "RUNNING"

    await _succeed(db, ids["b"])
    assert await _state(db, run_id) == (
        "SUCCEEDED",
        {"a": "SUCCEEDED", "b": "SUCCEEDED", "c": "SUCCEEDED"},
        3 * FLUX_CENTS,
        3,
    )


async def test_a_success_recorded_twice_changes_nothing_the_second_time(
    live: LiveServer, alice: User
) -> None:
    db = live.runtime.db
    run_id, ids = await _run(db, alice.id)
    await _succeed(db, ids["c"])
    before = await _state(db, run_id)

    again = await _succeed(db, ids["c"], images=3)

    assert again.changed == [] and not again.to_relay
    assert await _state(db, run_id) == before
    async with db.as_service() as conn:
        outputs = await conn.fetchval(
            "select count(*) from public.assets where node_run_id = $1", ids["c"]
        )
    assert outputs == 1


async def test_a_run_whose_other_branch_failed_ends_failed_with_its_last_success(
    live: LiveServer, alice: User
) -> None:
    db = live.runtime.db
    run_id, ids = await _run(db, alice.id)
    async with db.as_service() as conn:
        await conn.execute("update public.node_runs set status = 'FAILED' where id = $1", ids["c"])

    await _succeed(db, ids["a"])
    assert (await _state(db, run_id))[0] == "RUNNING"  # b is still to run
    await _succeed(db, ids["b"])

    status, nodes, cost, _ = await _state(db, run_id)
    assert (status, nodes, cost) == (
        "FAILED",
        {"a": "SUCCEEDED", "b": "SUCCEEDED", "c": "FAILED"},
        2 * FLUX_CENTS,
    )
    async with db.as_service() as conn:
        finished = await conn.fetchval("select finished_at from public.runs where id = $1", run_id)
    assert finished is not None


async def test_a_node_finishing_after_its_run_was_cancelled_is_charged_but_runs_nothing_on(
    live: LiveServer, alice: User
) -> None:
    """fal finished what it had started: the node is charged, its downstream node stays
    cancelled and the run stays CANCELLED."""
    db = live.runtime.db
    run_id, ids = await _run(db, alice.id)
    async with db.as_service() as conn:
        await conn.execute(
            "update public.runs set status = 'CANCELLED', finished_at = now() where id = $1", run_id
        )
        await conn.execute(
            "update public.node_runs set status = 'CANCELLED' where id = any($1)",
            [ids["b"], ids["c"]],
        )

    moved = await _succeed(db, ids["a"])

    assert moved.changed == [ids["a"]] and not moved.to_relay
    assert await _state(db, run_id) == (
        "CANCELLED",
        {"a": "SUCCEEDED", "b": "CANCELLED", "c": "CANCELLED"},
        FLUX_CENTS,
        1,
    )


async def test_a_submission_recorded_while_a_cancel_holds_the_run_waits_and_then_records_nothing(
    live: LiveServer, alice: User
) -> None:
    """Cancel locks the run, then its nodes. The submission's one statement takes the run's
    lock before it writes the node, so it waits (no deadlock), and then sees the node
    cancelled: fal's request id is not stored and the run stays CANCELLED."""
    db = live.runtime.db
    run_id, ids = await _run(db, alice.id)
    async with db.as_service() as conn:
        await conn.execute("update public.node_runs set status = 'QUEUED' where id = $1", ids["b"])
    work = await transitions.load(db, ids["b"])
    assert work is not None and work.fal_request_id is None

    async with db.pool.acquire() as cancel, cancel.transaction():
        await cancel.execute("select 1 from public.runs where id = $1 for update", run_id)
        submission = asyncio.create_task(
            transitions.record_submission(db, work, "req-late", {"prompt": "x"})
        )
        # Had it not waited for the run, it would be done by now, the request id stored.
        await _until_waiting_on_a_lock(db, "with locked as", or_done=submission)
        await cancel.execute(
            "update public.node_runs set status = 'CANCELLED' where run_id = $1", run_id
        )
        await cancel.execute(
            "update public.runs set status = 'CANCELLED', finished_at = now() where id = $1",
            run_id,
        )

    assert await asyncio.wait_for(submission, timeout=10) is None
    async with db.as_service() as conn:
        stored = await conn.fetchval(
            "select fal_request_id from public.node_runs where id = $1", ids["b"]
        )
        status = await conn.fetchval("select status from public.runs where id = $1", run_id)
    assert (stored, status) == (None, "CANCELLED")


async def _until_waiting_on_a_lock(
    db: Database, query_start: str, *, or_done: asyncio.Task[Any]
) -> None:
    """Returns once a backend runs a statement starting `query_start` and waits on a lock
    (or once `or_done` is done), so the test orders the two transactions by a condition,
    not by time. (Asked outside the test's transaction: within one, pg_stat_activity is a
    snapshot.)"""
    async with asyncio.timeout(10):
        while not or_done.done():
            async with db.as_service_statement() as conn:
                if await conn.fetchval(
                    "select exists (select from pg_stat_activity where wait_event_type = 'Lock'"
                    " and ltrim(query, E' \\n\\t') like $1 || '%')",
                    query_start,
                ):
                    return
            await asyncio.sleep(0.01)
