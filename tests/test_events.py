"""The event hub over a real Redis and PostgreSQL: one subscription per process; a notice
becomes its payload once per run (one read as the service) and the same record reaches every
local subscriber of that run; a subscriber that stops reading is cut off instead of growing
memory; malformed messages are skipped; a lost Redis is retried and reported by /healthz."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as aioredis

from conftest import LiveServer, make_settings, serve
from devstack.embedded import free_port, start_redis
from graph.schema import SharedEventExecution
from services.platform.database import Database
from services.runs.events import CHANNEL_PREFIX, SUBSCRIBER_QUEUE_SIZE, EventHub, publish
from support import RUN_EVENTS, User, run_events_socket, sign_in

CLIENT_RUN_EVENTS = """
subscription Events($runId: ID!) {
  runEvents(runId: $runId) {
    run { id status estimatedCostCents costCents createdAt finishedAt workflowId
          nodeRuns { id nodeId modelId status queuePosition progress logs error startedAt finishedAt
                     outputs { id kind url storage expiresAt width height durationSeconds contentType modelId params createdAt nodeRunId } } }
    nodeRun { id nodeId modelId status queuePosition progress logs error startedAt finishedAt
              outputs { id kind url storage expiresAt width height durationSeconds contentType modelId params createdAt nodeRunId } }
  }
}
"""


async def until(condition: Callable[[], Any], timeout: float = 10, what: str = "") -> None:
    """Waits for a condition (polling; never a fixed sleep)."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)
    assert condition(), what


async def make_run(db: Database, user_id: str, nodes: int = 2) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """A run written straight to the database: RUNNING, with PENDING node runs (nothing the
    engine's sweepers pick up: no worker ever runs them) and an output for the first."""
    async with db.as_service() as conn:
        workflow = await conn.fetchval(
            "insert into public.workflows (user_id, name) values ($1, 'events') returning id",
            uuid.UUID(user_id),
        )
        run_id = await conn.fetchval(
            """
            insert into public.runs (user_id, workflow_id, workflow_version, graph, idempotency_key,
              status) values ($1, $2, 1, '{}'::jsonb, $3, 'RUNNING') returning id
            """,
            uuid.UUID(user_id),
            workflow,
            uuid.uuid4().hex,
        )
        node_runs = [
            await conn.fetchval(
                """
                insert into public.node_runs (run_id, user_id, node_id, model_id, status)
                values ($1, $2, $3, 'fal-ai/flux/dev', 'PENDING') returning id
                """,
                run_id,
                uuid.UUID(user_id),
                f"n{i}",
            )
            for i in range(nodes)
        ]
        await conn.execute(
            """
            insert into public.assets (user_id, kind, storage, source_url, content_type, model_id,
              run_id, node_run_id) values ($1, 'IMAGE', 'TEMPORARY', 'https://x/0.png',
              'image/png', 'fal-ai/flux/dev', $2, $3)
            """,
            uuid.UUID(user_id),
            run_id,
            node_runs[0],
        )
    return run_id, node_runs


async def set_node(db: Database, node_run_id: uuid.UUID, status: str, progress: float) -> None:
    async with db.as_service() as conn:
        await conn.execute(
            "update public.node_runs set status = $2, progress = $3 where id = $1",
            node_run_id,
            status,
            progress,
        )


@contextlib.asynccontextmanager
async def hub_on(redis_url: str, db: Database) -> AsyncIterator[tuple[EventHub, aioredis.Redis]]:
    redis = aioredis.from_url(redis_url)
    hub = EventHub(redis, db)
    await hub.start()
    try:
        yield hub, redis
    finally:
        await hub.stop()
        await redis.aclose()


async def test_one_read_per_notice_reaches_every_local_subscriber_of_that_run_only(
    live: LiveServer, alice: User, test_redis_url: str
) -> None:
    db = live.runtime.db
    (run, nodes), (other, _) = await make_run(db, alice.id), await make_run(db, alice.id)
    async with hub_on(test_redis_url, db) as (hub, redis):
        async with (
            hub.subscribe(run) as first,
            hub.subscribe(run) as second,
            hub.subscribe(other) as third,
        ):
            snapshots = [await asyncio.wait_for(s.get(), 5) for s in (first, second, third)]
            for snapshot in snapshots:
                assert snapshot is not None and snapshot.snapshot and snapshot.node_run is None
            assert [n.node_id for n in snapshots[0].state.node_runs] == ["n0", "n1"]
            assert len(snapshots[0].state.outputs_of(snapshots[0].state.node_runs[0])) == 1

            reads = hub.reads
            await set_node(db, nodes[1], "RUNNING", 0.5)
            await publish(redis, run, nodes[1])
            got = [await asyncio.wait_for(s.get(), 5) for s in (first, second)]
            assert got[0] is got[1]  # one record, shared
            assert got[0] is not None and got[0].node_run is not None
            assert (got[0].node_run.status, got[0].node_run.progress) == ("RUNNING", 0.5)
            assert hub.reads == reads + 1
            assert third.pending() == 0
        assert hub.subscriber_count == 0
        await until(lambda: hub.run_count == 0, what="per-run entries are released")


async def test_a_change_during_a_new_subscribers_snapshot_still_reaches_it(
    live: LiveServer, alice: User, test_redis_url: str
) -> None:
    """The node finishes while the hub reads a joining subscriber's snapshot, after the read
    saw the node's row: the snapshot is stale, so the notice that arrived meanwhile must
    still be delivered, or the stream would wait forever for a change already made."""
    db = live.runtime.db
    run, nodes = await make_run(db, alice.id)
    async with hub_on(test_redis_url, db) as (hub, redis), db.pool.acquire() as blocker:
        # The snapshot reads the run, then its nodes, then their outputs: holding the
        # outputs' table stops it after it has read the nodes.
        blocking = blocker.transaction()
        await blocking.start()
        released = False
        await blocker.execute("lock table public.assets in access exclusive mode")
        try:
            async with hub.subscribe(run) as joining:
                await until(lambda: hub.reads == 1, what="the hub is reading the snapshot")
                async with db.pool.acquire() as conn:
                    await until_blocked_on_assets(conn)
                await set_node(db, nodes[1], "SUCCEEDED", 1.0)
                await publish(redis, run, nodes[1])
                await until(lambda: hub.received >= 1, what="the notice reached the hub")
                released = True
                await blocking.rollback()
                snapshot = await asyncio.wait_for(joining.get(), 5)
                assert snapshot is not None and snapshot.snapshot
                statuses = {n.node_id: n.status for n in snapshot.state.node_runs}
                if statuses["n1"] != "SUCCEEDED":  # stale, as intended: the change follows
                    update = await asyncio.wait_for(joining.get(), 5)
                    assert update is not None and update.node_run is not None
                    assert (update.node_run.node_id, update.node_run.status) == (
                        "n1",
                        "SUCCEEDED",
                    )
        finally:
            if not released:
                await blocking.rollback()


async def until_blocked_on_assets(conn: Any) -> None:
    """Waits until some backend waits for a lock on public.assets (the hub's read)."""
    async with asyncio.timeout(10):
        while not await conn.fetchval(
            """
            select exists (select from pg_locks l join pg_class c on c.oid = l.relation
                           where c.relname = 'assets' and not l.granted)
            """
        ):
            await asyncio.sleep(0.01)


async def test_a_subscriber_that_falls_behind_is_told_so_and_dropped(
    live: LiveServer, alice: User, test_redis_url: str
) -> None:
    run, _ = await make_run(live.runtime.db, alice.id)
    async with hub_on(test_redis_url, live.runtime.db) as (hub, redis):
        async with hub.subscribe(run) as slow:
            await until(lambda: slow.pending() == 1, what="the snapshot")
            # Distinct notices: each is one update (the same node's repeats would merge).
            for _ in range(SUBSCRIBER_QUEUE_SIZE + 50):
                await publish(redis, run, uuid.uuid4())
            await until(lambda: hub.subscriber_count == 0, what="the slow subscriber is dropped")
            assert slow.pending() == 1
            assert await slow.get() is None  # the signal to resubscribe for a fresh snapshot
        await until(lambda: hub.run_count == 0)


async def test_malformed_messages_are_skipped_and_later_events_still_arrive(
    live: LiveServer, alice: User, client: httpx.AsyncClient, test_redis_url: str
) -> None:
    """On the live app's own hub: garbage on the channel, then a real change reaches a
    GraphQL subscriber, and /healthz stays ok."""
    db, hub = live.runtime.db, live.runtime.hub
    run, nodes = await make_run(db, alice.id)
    redis = aioredis.from_url(test_redis_url)
    try:
        async with subscribed(live, alice, run) as events:
            assert (await events())["run"]["status"] == "RUNNING"
            malformed = hub.malformed
            garbage = [b"not json", b"[1, 2]", b'{"run": "nope"}', b'{"node": null}', b"\xff\xfe"]
            for data in garbage:
                await redis.publish(f"{CHANNEL_PREFIX}{run}", data)
            await until(lambda: hub.malformed == malformed + len(garbage), what="all skipped")
            assert hub.status == "ok"
            await set_node(db, nodes[0], "RUNNING", 0.25)
            await publish(redis, run, nodes[0])
            event = await events()
            assert (event["nodeRun"]["nodeId"], event["nodeRun"]["status"]) == ("n0", "RUNNING")
            assert event["nodeRun"]["progress"] == 0.25
        health = await client.get("/healthz")
        assert health.status_code == 200 and health.json()["hub"] == "ok", health.text
    finally:
        await redis.aclose()


async def test_one_notice_costs_the_same_statements_for_one_subscriber_or_many(
    live: LiveServer, alice: User
) -> None:
    """Per notice the database work is one read, whatever the number of subscribers; each
    subscriber only serializes the shared result."""
    db, hub = live.runtime.db, live.runtime.hub
    costs = {}
    for count in (1, 15):  # many, within one user's connection cap
        run, nodes = await make_run(db, alice.id)
        async with contextlib.AsyncExitStack() as stack:
            streams = [
                await stack.enter_async_context(subscribed(live, alice, run, CLIENT_RUN_EVENTS))
                for _ in range(count)
            ]
            for events in streams:
                assert (await events())["nodeRun"] is None
            await set_node(db, nodes[0], "RUNNING", 0.5)
            statements, reads = db.stats.count, hub.reads
            executed = SharedEventExecution.executed
            await publish(live.runtime.hub.redis, run, nodes[0])
            received = [await events() for events in streams]
            costs[count] = (db.stats.count - statements, hub.reads - reads)
            # The subscribers sent the same document: the event was executed once for all.
            assert SharedEventExecution.executed == executed + 1
            assert all(r == received[0] for r in received)
            assert received[0]["nodeRun"]["status"] == "RUNNING"
            assert received[0]["run"]["nodeRuns"][0]["outputs"][0]["url"] == "https://x/0.png"
        await until(lambda: hub.run_count == 0, what="per-run entries are released")
    assert costs[15] == costs[1], costs
    # One read: a transaction of three selects.
    assert costs[1][1] == 1 and costs[1][0] <= 6, costs


async def test_healthz_names_a_dead_hub_and_a_lost_redis_and_the_hub_reconnects(
    database_url: str, data_dir: Path
) -> None:
    """An app of its own on a Redis of its own, so stopping either harms no other test."""
    port = free_port()
    redis_server = start_redis(data_dir, port)[1]
    settings = make_settings(database_url, f"redis://127.0.0.1:{port}/0", data_dir, free_port())
    try:
        async for server in serve(settings):
            hub = server.runtime.hub
            async with httpx.AsyncClient(base_url=server.base_url) as http:
                assert (await http.get("/healthz")).status_code == 200
                user = await sign_in(http)  # a user of this app's own token issuer
                run, _ = await make_run(server.runtime.db, user.id)
                async with subscribed(server, user, run) as events:
                    await events()
                    redis_server.terminate()
                    redis_server.wait()
                    await until(lambda h=hub: h.status == "reconnecting", what="the hub saw it")
                    # Its stream ends: the client resubscribes for a fresh snapshot.
                    ended = await events(raw=True)
                    assert ended["errors"][0]["extensions"]["code"] == "FELL_BEHIND", ended
                health = await http.get("/healthz")
                assert health.status_code == 503
                assert health.json()["down"] == ["hub", "redis"], health.text

                redis_server = start_redis(data_dir, port)[1]
                await until(lambda h=hub: h.status == "ok", timeout=20, what="reconnected")
                assert (await http.get("/healthz")).status_code == 200
                async with subscribed(server, user, run) as events:
                    assert (await events())["run"]["status"] == "RUNNING"

                hub._task.cancel()  # type: ignore[union-attr]
                await until(lambda h=hub: h.status == "stopped")
                health = await http.get("/healthz")
                assert health.status_code == 503
                assert health.json()["down"] == ["hub"] and health.json()["hub"] == "stopped"
    finally:
        redis_server.terminate()
        redis_server.wait()


Events = Callable[..., Awaitable[dict[str, Any]]]


@contextlib.asynccontextmanager
async def subscribed(
    live: LiveServer, user: User, run_id: uuid.UUID, document: str = RUN_EVENTS
) -> AsyncIterator[Events]:
    """A graphql-transport-ws subscription to runEvents; yields a function returning the
    next event's `runEvents` (or, with raw=True, the whole next payload)."""
    async with run_events_socket(live.base_url, user.token, str(run_id), document) as ws:

        async def next_event(raw: bool = False) -> dict[str, Any]:
            async with asyncio.timeout(10):
                while True:
                    message = json.loads(await ws.recv())
                    if message["type"] == "next":
                        payload: dict[str, Any] = message["payload"]
                        if raw:
                            return payload
                        assert "errors" not in payload, payload
                        return dict(payload["data"]["runEvents"])
                    if message["type"] == "error":
                        return {"errors": message["payload"]}

        yield next_event
