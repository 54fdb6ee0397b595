"""Starting and cancelling runs (`runWorkflow`, `cancelRun`)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import asyncpg
from redis.exceptions import RedisError

from services.accounts.viewer import Role, Viewer
from services.admin.platform import check_models_enabled
from services.assets.url_safety import check_public_https_url, image_hosts
from services.billing import ledger
from services.billing.pricing import estimate
from services.platform.database import as_service_from_here
from services.platform.errors import (
    NotFound,
    RateLimited,
    Unavailable,
    UpgradeRequired,
    ValidationFailed,
)
from services.runs import outbox, reuse
from services.runs.engine import Engine
from services.runs.hand_off import HandOff
from services.runs.reads import RUN_COLUMNS, RunRecord
from services.runs.status import TERMINAL_RUN
from services.runs.transitions import NodeWork
from services.workflows.catalog import CATALOG
from services.workflows.graph import Graph, Node, validate_for_run

# What a run start reads as the viewer, in one statement: a run this key already started,
# the workflow's graph, the LoRAs the viewer owns and the outputs the run may reuse.
START_READS = f"""
select (select row({RUN_COLUMNS}) from public.runs where idempotency_key = $1) as existing,
       (select graph from public.workflows where id = $2 and deleted_at is null) as graph,
       array(select row(id, base_model) from public.loras) as loras,
       (select coalesce(jsonb_agg(e), '[]') from ({reuse.earlier_outputs("$2")}) e) as earlier
"""

# The run, its node runs and the messages to execute those ready to, in one statement;
# nothing when the key won a race with us or a model it runs ($14) is turned off. With $15,
# the process hands those nodes off to itself: their messages are claimed, and the nodes
# leased, for it for $15 seconds.
INSERT_RUN = f"""
with run as (
  insert into public.runs (user_id, workflow_id, workflow_version, graph, target_node_ids,
                           idempotency_key, estimated_cost_cents)
  select $1, id, version, $3, $4, $5, $6 from public.workflows where id = $2
    and not exists (select from public.model_settings m where not m.enabled and m.model_id = any($14))
  on conflict (user_id, idempotency_key) do nothing
  returning {RUN_COLUMNS}
), node_runs as (
  insert into public.node_runs (run_id, user_id, node_id, model_id, params, status,
                                estimated_cost_cents, cached_from, inputs, progress,
                                started_at, finished_at, lease_until)
  select run.id, $1, n.node_id, n.model_id, n.params, n.status, n.cents, n.cached_from, n.inputs,
         case when n.status in ('SUCCEEDED', 'CACHED') then 1 end,
         case when n.status in ('SUCCEEDED', 'CACHED') then now() end,
         case when n.status in ('SUCCEEDED', 'CACHED') then now() end,
         case when n.status = 'QUEUED' then now() + make_interval(secs => $15) end
  from run, unnest($7::text[], $8::text[], $9::jsonb[], $10::text[], $11::int[], $12::uuid[],
                   $13::jsonb[])
    as n(node_id, model_id, params, status, cents, cached_from, inputs)
  returning id, node_id, status
), {outbox.execute_cte("to_execute", "(select id from node_runs where status = 'QUEUED')", "$15")}
select run.*, array(select row(id, node_id, status) from node_runs) as node_runs,
       array(select row(m.id, m.node_run_id, n.node_id)
             from to_execute m join node_runs n on n.id = m.node_run_id) as messages
from run
"""


async def start_run(
    engine: Engine,
    viewer: Viewer,
    workflow_id: uuid.UUID,
    idempotency_key: str,
    targets: list[str] | None,
    reroll: list[str] | None = None,
    hand_off: HandOff | None = None,
) -> RunRecord:
    """`hand_off`: this process submits the nodes ready to run itself (the API does);
    without it, they are sent to the workers."""
    if viewer.is_anonymous:
        raise UpgradeRequired("Create an account to run workflows: guests can look around only")
    key = idempotency_key.strip()
    if not 1 <= len(key) <= 200:
        raise ValidationFailed.single(
            "INVALID_ARGUMENT", "idempotencyKey must be 1-200 characters", field="idempotencyKey"
        )
    async with engine.db.as_user(viewer.claims) as conn:
        known = await conn.fetchrow(START_READS, key, workflow_id)
        if known["existing"] is not None:
            return _same_run(RunRecord.from_values(known["existing"]), workflow_id)
        if known["graph"] is None:
            raise NotFound("Workflow", str(workflow_id))
        graph = Graph.from_json(known["graph"])
        selected = _selected_nodes(graph, targets)
        # A draft is saved with what it lacks; it runs only once the nodes to run lack nothing.
        loras = {str(lora_id): base_model for lora_id, base_model in known["loras"]}
        validate_for_run(graph, role=viewer.role, owned_loras=loras, only=selected)
        _check_reroll(graph, reroll)
        await _check_given_inputs(conn, graph, selected, engine.settings.SUPABASE_URL)
        decided = reuse.decide(graph, selected, reroll or (), known["earlier"])
        await _rate_limit(engine, viewer)
        quote = estimate(graph, only=decided.to_run)
        # What was read and checked as the viewer, the run is written from as the service
        # (ledger, platform limits), in the same transaction.
        await as_service_from_here(conn)
        nodes = [n for n in graph.nodes if n.id in selected]
        params = {n.id: _effective_params(graph, n) for n in nodes}
        models = sorted({n.model_id for n in nodes})
        run = await conn.fetchrow(
            INSERT_RUN,
            viewer.id,
            workflow_id,
            graph.as_json(),
            targets,
            key,
            quote.total_cents,
            [n.id for n in nodes],
            [n.model_id for n in nodes],
            [params[n.id] for n in nodes],
            [_initial_status(graph, n.id, decided) for n in nodes],
            [quote.by_node.get(n.id, 0) for n in nodes],
            [decided.reused[n.id][0] if n.id in decided.reused else None for n in nodes],
            [decided.reused[n.id][1] if n.id in decided.reused else None for n in nodes],
            models,
            hand_off.claim_seconds if hand_off else None,
        )
        if run is None:
            await check_models_enabled(conn, set(models))
            return await _existing(engine, viewer, key, workflow_id)  # the key won a race
        messages = run["messages"]
        # Locked last, so the user's other run starts wait only for the ledger's checks and
        # the reservation (a refusal still undoes the run written above).
        # `viewer.role` is ADMIN only with admin powers on this request (network and MFA).
        account = await ledger.lock_account(conn, viewer.id, admin_powers=viewer.role == Role.ADMIN)
        await ledger.reserve_run(
            conn,
            account,
            run_id=run["id"],
            estimates={
                node_run_id: quote.by_node.get(node_id, 0)
                for node_run_id, node_id, _ in run["node_runs"]
                if node_id in decided.to_run
            },
            limits=engine.limits,
        )
        if not decided.to_run:
            # Everything was reused or is a utility node: the run is over as it starts.
            run = await conn.fetchrow(
                f"""
                update public.runs set status = 'SUCCEEDED', finished_at = now()
                where id = $1 returning {RUN_COLUMNS}
                """,
                run["id"],
            )
    # No notice of the new run: nobody can have subscribed to it before this answer names it.
    if hand_off is not None:
        hand_off.submit_soon(_claimed_work(run["id"], viewer, graph, nodes, params, messages))
    else:
        await engine.relay()
    return RunRecord.from_row(run)


def _claimed_work(
    run_id: uuid.UUID,
    viewer: Viewer,
    graph: Graph,
    nodes: list[Node],
    params: dict[str, dict[str, Any]],
    messages: list[tuple[int, uuid.UUID, str]],
) -> list[tuple[int, NodeWork]]:
    """Each handed-off node as the start just wrote it (leased for this process), with its
    message: what a worker's claim would have read back."""
    models = {n.id: n.model_id for n in nodes}
    return [
        (
            message,
            NodeWork(
                id=node_run_id,
                run_id=run_id,
                user_id=viewer.id,
                node_id=node_id,
                model_id=models[node_id],
                params=params[node_id],
                status="QUEUED",
                fal_request_id=None,
                run_status="QUEUED",
                graph=graph,
            ),
        )
        for message, node_run_id, node_id in messages
    ]


def _effective_params(graph: Graph, node: Node) -> dict[str, Any]:
    """The node's parameters with the text a Text node wires into them, so what the node
    ran with (and its outputs' prompt in the gallery) is what it was given."""
    params = dict(node.params)
    for edge in graph.incoming(node.id):
        source = graph.node(edge.source)
        spec = CATALOG.get(source.model_id) if source else None
        if source and spec and spec.value_param and not spec.image_params:
            params[edge.target_port] = source.params.get(spec.value_param) or ""
    return params


def _initial_status(graph: Graph, node_id: str, decided: reuse.Plan) -> str:
    if node_id in decided.instant:
        return "SUCCEEDED"
    if node_id in decided.reused:
        return "CACHED"
    ready = all(e.source in decided.done for e in graph.incoming(node_id))
    return "QUEUED" if ready else "PENDING"


def _check_reroll(graph: Graph, reroll: list[str] | None) -> None:
    unknown = [r for r in reroll or [] if graph.node(r) is None]
    if unknown:
        raise ValidationFailed.single(
            "UNKNOWN_NODE",
            f"rerollNodeIds names nodes not in this workflow: {', '.join(unknown)}",
            field="rerollNodeIds",
        )


def _same_run(run: RunRecord, workflow_id: uuid.UUID) -> RunRecord:
    if run.workflow_id != workflow_id:
        raise ValidationFailed.single(
            "IDEMPOTENCY_KEY_REUSED",
            "This idempotencyKey was already used for another workflow",
            field="idempotencyKey",
        )
    return run


async def _existing(engine: Engine, viewer: Viewer, key: str, workflow_id: uuid.UUID) -> RunRecord:
    async with engine.db.as_user(viewer.claims) as conn:
        row = await conn.fetchrow(
            f"select {RUN_COLUMNS} from public.runs where idempotency_key = $1", key
        )
    return _same_run(RunRecord.from_row(row), workflow_id)


def _selected_nodes(graph: Graph, targets: list[str] | None) -> set[str]:
    if not graph.nodes:
        raise ValidationFailed.single("EMPTY_WORKFLOW", "Add a node before running")
    if targets is None:
        return {n.id for n in graph.nodes}
    unknown = [t for t in targets if graph.node(t) is None]
    if unknown or not targets:
        raise ValidationFailed.single(
            "UNKNOWN_NODE",
            f"targetNodeIds names nodes not in this workflow: {', '.join(unknown) or '(none)'}",
            field="targetNodeIds",
        )
    # The targets and everything they need; what is unchanged since it last ran is reused.
    return graph.upstream_closure(targets)


async def _check_given_inputs(
    conn: asyncpg.Connection, graph: Graph, selected: set[str], supabase_url: str | None
) -> None:
    """Image inputs given as parameters: the viewer's own gallery asset, or a public https URL."""
    wired = {(e.target, e.target_port) for e in graph.edges}
    asset_ids: dict[uuid.UUID, str] = {}
    for node in graph.nodes:
        if node.id not in selected:
            continue
        value = node.params.get("image_url")
        if not isinstance(value, str) or not value or (node.id, "image_url") in wired:
            continue
        if value.startswith("https://"):
            try:
                check_public_https_url(
                    value, field=f"{node.id}.image_url", hosts=image_hosts(supabase_url)
                )
            except ValidationFailed as exc:
                raise ValidationFailed.single(
                    "INVALID_URL", exc.message, node_id=node.id, field="image_url"
                ) from exc
        else:
            asset_ids[uuid.UUID(value)] = node.id
    if asset_ids:
        # Under RLS: another user's asset id simply does not exist here.
        found = {
            r["id"]
            for r in await conn.fetch(
                "select id from public.assets where id = any($1)", list(asset_ids)
            )
        }
        for asset_id, node_id in asset_ids.items():
            if asset_id not in found:
                raise ValidationFailed.single(
                    "ASSET_NOT_FOUND",
                    f"Node {node_id}: that gallery asset does not exist",
                    node_id=node_id,
                    field="image_url",
                )


async def _rate_limit(engine: Engine, viewer: Viewer) -> None:
    window = int(time.time() // 60)
    key = f"lattice:rate:runs:{viewer.id}:{window}"
    try:
        # One round trip: the window's key lives two minutes past its latest run.
        async with engine.redis.pipeline(transaction=False) as pipe:
            pipe.incr(key)
            pipe.expire(key, 120)
            count, _ = await pipe.execute()
    except (RedisError, OSError) as exc:
        raise Unavailable("Runs cannot start for a moment; try again shortly") from exc
    if count > engine.settings.RUNS_PER_MINUTE:
        retry = 60 - int(time.time() % 60)
        raise RateLimited(f"Too many runs; try again in {retry} s", retryAfterSeconds=retry)


async def cancel_run(engine: Engine, viewer: Viewer, run_id: uuid.UUID) -> RunRecord:
    async with engine.db.as_user(viewer.claims) as conn:
        row = await conn.fetchrow(f"select {RUN_COLUMNS} from public.runs where id = $1", run_id)
    if row is None:
        raise NotFound("Run", str(run_id))
    if row["status"] in TERMINAL_RUN:
        return RunRecord.from_row(row)
    async with engine.db.as_service() as conn:
        await conn.execute("select 1 from public.runs where id = $1 for update", run_id)
        stopped = await conn.fetch(
            """
            update public.node_runs set status = 'CANCELLED', finished_at = now(), queue_position = null
            where run_id = $1 and status in ('PENDING', 'QUEUED') and fal_request_id is null
            returning id
            """,
            run_id,
        )
        for node in stopped:
            await ledger.release_node(conn, node["id"])
        row = await conn.fetchrow(
            f"""
            update public.runs set status = 'CANCELLED', finished_at = now()
            where id = $1 and status in ('QUEUED', 'RUNNING') returning {RUN_COLUMNS}
            """,
            run_id,
        ) or await conn.fetchrow(f"select {RUN_COLUMNS} from public.runs where id = $1", run_id)
    await engine.publish(run_id, [n["id"] for n in stopped])
    return RunRecord.from_row(row)
