"""One follower per worker process: it tracks every fal request the process has in flight on
the process's event loop, with bounded concurrency, so waiting on fal holds no thread.

Each round it relays the outbox, adopts in-flight nodes nobody follows (their lease lapsed:
a worker died, or Redis lost a message), renews the leases of what it follows, checks cancel
flags, drops what finished elsewhere, and polls fal for each request (for progress and
logs). Completion normally arrives by fal's webhook, with the result; a request the follower
sees finished is given one more poll interval for its webhook before the follower fetches
the result itself (the transition is guarded, so either way one wins). A transient fal or
network error never fails a node: fal keeps working (and billing) on it, so the follower
keeps asking until the node's deadline."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from jobs import outcomes
from services.fal.gateway import FalError, FalUnavailable
from services.runs import outbox, transitions
from services.runs.status import NodeStatus
from services.runs.transitions import NodeWork

if TYPE_CHECKING:
    from jobs.context import WorkerContext

log = logging.getLogger(__name__)


@dataclass
class Tracked:
    work: NodeWork
    logs_seen: int
    seen_running: bool
    last: tuple[object, ...] | None = None
    failures: int = 0
    busy: bool = field(default=False)
    next_poll: float = 0.0
    # fal said it finished, but its webhook (which carries the result) may be on the way.
    done_seen: bool = False


class Follower:
    def __init__(
        self,
        *,
        poll_seconds: float,
        polls_per_second: float,
        concurrency: int,
        max_tracked: int,
        lease_seconds: float,
        deadline_seconds: float,
        stall_seconds: float,
    ) -> None:
        self._poll_seconds = poll_seconds
        self._polls_per_second = polls_per_second
        self._limit = asyncio.Semaphore(concurrency)
        self._max_tracked = max_tracked
        self._lease_seconds = lease_seconds
        self._deadline_seconds = deadline_seconds
        self._stall_seconds = stall_seconds
        self._next_recovery = 0.0
        self._next_renewal = 0.0
        self.tracked: dict[uuid.UUID, Tracked] = {}
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def start(self, ctx: WorkerContext) -> None:
        self._ctx = ctx
        self._task = asyncio.create_task(self._run(), name="fal-follower")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def adopt(self, work: NodeWork) -> None:
        """Follows a node this process just submitted (its lease is already ours)."""
        if work.id not in self.tracked and work.fal_request_id is not None:
            # First looked at a poll interval after its submission, not at once: a request
            # just submitted is queued at fal, which we know. One another process submitted
            # (the API's hand-off, a dead worker) may be that old already.
            self.tracked[work.id] = Tracked(
                work,
                work.fal_logs_seen,
                work.status == NodeStatus.RUNNING,
                next_poll=time.monotonic() + self._first_poll_in(work),
            )
            self._wake.set()

    def _first_poll_in(self, work: NodeWork) -> float:
        if work.started_at is None:
            return self._poll_seconds
        age = (datetime.now(UTC) - work.started_at).total_seconds()
        # Clamped: the database's clock and ours may disagree a little.
        return min(self._poll_seconds, max(0.0, self._poll_seconds - age))

    async def _run(self) -> None:
        while True:
            started = time.monotonic()
            try:
                await self._round()
            except asyncio.CancelledError:
                raise
            except Exception:  # PostgreSQL or Redis away: try again next round
                log.warning("follower round failed", exc_info=True)
            pause = max(0.0, self._poll_seconds - (time.monotonic() - started))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=pause)

    async def _round(self) -> None:
        engine = self._ctx.engine
        await engine.relay()
        await self._recover_stalled()
        await self._adopt_orphans()
        await self._renew_leases()
        cancelled = await self._look_up()
        # fal's webhook reports completions; polling is for progress and the webhooks that
        # never come. Each request is polled at most every poll interval, and less often as
        # more are followed, so the process stays within its polling budget.
        now = time.monotonic()
        spacing = max(self._poll_seconds, len(self.tracked) / self._polls_per_second)
        due = [
            t
            for t in list(self.tracked.values())
            if t.next_poll <= now or t.work.run_id in cancelled
        ]
        for tracked in due:
            tracked.next_poll = now + spacing
        await asyncio.gather(*(self._step(t, t.work.run_id in cancelled) for t in due))

    async def _recover_stalled(self) -> None:
        """Nodes queued for a worker that never came (their message was lost with a Redis
        failover, say) are sent again; a duplicate is harmless, every actor is idempotent."""
        if time.monotonic() < self._next_recovery:
            return
        self._next_recovery = time.monotonic() + max(1.0, self._stall_seconds / 4)
        async with self._ctx.engine.db.as_service() as conn:
            stalled = await conn.fetch(
                """
                update public.node_runs set updated_at = now()
                where id in (
                  select n.id from public.node_runs n join public.runs r on r.id = n.run_id
                  where n.status = 'QUEUED' and n.fal_request_id is null
                    and n.updated_at < now() - make_interval(secs => $1)
                    and (n.lease_until is null or n.lease_until < now()) and r.status <> 'CANCELLED'
                  limit 500 for update of n skip locked
                ) returning id
                """,
                self._stall_seconds,
            )
            await outbox.add(conn, outbox.execute(r["id"] for r in stalled))
        if stalled:
            log.warning("re-sending %d stalled queued nodes", len(stalled))
            await self._ctx.engine.relay()

    async def _adopt_orphans(self) -> None:
        room = self._max_tracked - len(self.tracked)
        if room <= 0:
            return
        async with self._ctx.engine.db.as_service_statement() as conn:
            rows = await conn.fetch(
                f"""
                with orphans as (
                  select id from public.node_runs
                  where status in ('QUEUED', 'RUNNING') and fal_request_id is not null
                    and (lease_until is null or lease_until < now())
                  order by updated_at limit $1 for update skip locked
                ), leased as (
                  update public.node_runs n set lease_until = now() + make_interval(secs => $2)
                  from orphans o where n.id = o.id returning n.*
                )
                select {transitions.WORK_COLUMNS.replace("n.", "l.")}
                from leased l join public.runs r on r.id = l.run_id
                """,
                room,
                self._lease_seconds,
            )
        for row in rows:
            work = transitions.work_of(row)
            log.info("following node %s (request %s) left by another", work.id, work.fal_request_id)
            self.adopt(work)

    async def _renew_leases(self) -> None:
        # A third of the lease is plenty of margin; renewing every round would rewrite
        # every followed row twice a second.
        if not self.tracked or time.monotonic() < self._next_renewal:
            return
        self._next_renewal = time.monotonic() + self._lease_seconds / 3
        async with self._ctx.engine.db.as_service_statement() as conn:
            await conn.execute(
                """
                update public.node_runs set lease_until = now() + make_interval(secs => $2)
                where id = any($1) and status in ('QUEUED', 'RUNNING')
                """,
                list(self.tracked),
                self._lease_seconds,
            )

    async def _look_up(self) -> set[uuid.UUID]:
        """Stops following nodes that finished elsewhere (fal's webhook reached another
        worker), so nobody asks fal about them again, and returns the runs cancelled since
        (read from PostgreSQL, not a Redis flag: a cancel must survive a Redis failover)."""
        if not self.tracked:
            return set()
        async with self._ctx.engine.db.as_service_statement() as conn:
            rows = await conn.fetch(
                """
                select n.id, n.status in ('QUEUED', 'RUNNING') as active, r.id as run_id,
                       r.status = 'CANCELLED' as cancelled
                from public.node_runs n join public.runs r on r.id = n.run_id
                where n.id = any($1)
                """,
                list(self.tracked),
            )
        for row in rows:
            if not row["active"]:
                self.tracked.pop(row["id"], None)
        return {r["run_id"] for r in rows if r["cancelled"] and r["active"]}

    async def _step(self, tracked: Tracked, cancelled: bool) -> None:
        if tracked.busy:
            return
        tracked.busy = True
        try:
            async with self._limit:
                done = await self._advance(tracked, cancelled)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("following node %s failed this round", tracked.work.id, exc_info=True)
            done = False
        finally:
            tracked.busy = False
        if done:
            self.tracked.pop(tracked.work.id, None)

    async def _advance(self, tracked: Tracked, cancelled: bool) -> bool:
        """One look at one request; True once this process is done with it."""
        ctx, work = self._ctx, tracked.work
        if cancelled:
            await outcomes.announce(
                ctx, work, await outcomes.cancel_at_fal(ctx, work, tracked.seen_running)
            )
            return True
        if self._past_deadline(work):
            await ctx.fal.cancel(work.model_id, str(work.fal_request_id))
            minutes = self._deadline_seconds / 60
            transition = await transitions.fail(
                ctx.engine.db,
                work,
                f"fal did not finish within {minutes:.0f} min; the request was cancelled",
            )
            await outcomes.announce(ctx, work, transition)
            return True
        try:
            polled = await ctx.fal.poll(
                work.model_id,
                str(work.fal_request_id),
                tracked.logs_seen,
                with_logs=tracked.seen_running,
            )
        except FalUnavailable:
            tracked.failures += 1  # fal still works on it; ask again next round
            return False
        except FalError as exc:  # fal does not know the request, or refused it
            await outcomes.announce(
                ctx, work, await transitions.fail(ctx.engine.db, work, str(exc))
            )
            return True
        tracked.failures = 0
        if polled.done:
            if not tracked.done_seen:
                # Its webhook (every submit asks for one) brings the result in a moment;
                # fetch it ourselves only if the node is still waiting a poll interval later.
                tracked.done_seen = True
                return False
            await self._complete(work)
            return True
        update = polled.update
        assert update is not None
        tracked.seen_running = tracked.seen_running or update.status == "RUNNING"
        moved = (update.status, update.queue_position, update.progress)
        if update.new_logs or moved != tracked.last:
            active = await transitions.record_progress(
                ctx.engine.db,
                work,
                status=update.status,
                queue_position=update.queue_position,
                progress=update.progress,
                new_logs=update.new_logs,
                logs_seen=polled.logs_seen,
                lease_seconds=self._lease_seconds,
            )
            if not active:
                return True
            tracked.last, tracked.logs_seen = moved, polled.logs_seen
            await ctx.engine.publish(work.run_id, [work.id])
        return False

    async def _complete(self, work: NodeWork) -> None:
        # At once, here: a message would add a round trip through Redis. fal's webhook
        # may race this through `complete_node`; the guarded transition keeps one.
        await outcomes.complete(self._ctx, work)

    def _past_deadline(self, work: NodeWork) -> bool:
        if work.started_at is None:
            return False
        age = (datetime.now(UTC) - work.started_at).total_seconds()
        return age > self._deadline_seconds
