"""The API process that starts a run submits the nodes the start made ready itself, right
after the run commits, instead of sending each through Redis to a worker first. A run's
first node reaches fal sooner, and no worker, queue or relay spends anything on it.

The outbox still holds every such node's `execute_node` message, written with the run and
claimed for this process, as the node is leased to it (for the submit lease), so nothing
depends on this process living:

- fal's answer is stored with the message deleted in one statement (`record_submission`),
  and the node's lease is given up, for a worker's follower to adopt and follow;
- a node fal refuses as it is (a 422), or whose input cannot be read, fails at once, as it
  would on a worker; anything else (fal away, the database) hands the message to the
  workers at once, whose `execute_node` applies its retry rules;
- should this process die, the message's claim lapses and a worker's relay sends it, and
  the submit lease keeps that delivery from submitting while an earlier one may still."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

from services.fal.gateway import FalUnavailable
from services.runs import outbox, transitions
from services.runs.submission import SUBMIT_ERRORS, Submitter, refused, submit
from services.runs.transitions import NodeWork, Transition

log = logging.getLogger(__name__)
# fal submits in flight at once from one API process; the rest wait their turn.
CONCURRENCY = 64
# How long a shutting-down process waits for submissions under way (fal may have accepted
# one whose id is not stored yet: cutting it off would leave it to the webhook to adopt).
CLOSE_SECONDS = 10.0


class HandOff:
    def __init__(self, submitter: Submitter) -> None:
        self._submitter = submitter
        self._limit = asyncio.Semaphore(CONCURRENCY)
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def claim_seconds(self) -> float:
        """How long a start claims its messages and leases their nodes for this process: the
        lease a submission holds. Both lapse together, so the delivery of a message this
        process never settled finds its node free."""
        return self._submitter.engine.settings.NODE_SUBMIT_LEASE_SECONDS

    def submit_soon(self, claimed: Iterable[tuple[int, NodeWork]]) -> None:
        """Submits each node of a committed start (leased for this process, with its claimed
        message), in the background."""
        for message, work in claimed:
            task = asyncio.create_task(self._submit(message, work))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=CLOSE_SECONDS)
        for task in self._tasks:
            task.cancel()

    async def _submit(self, message: int, work: NodeWork) -> None:
        engine = self._submitter.engine
        async with self._limit:
            try:
                transition = await self._submit_claimed(message, work)
            except Exception:
                # fal away (the workers try again, a second apart), or anything unexpected.
                log.warning("handing node %s to the workers", work.id, exc_info=True)
                await self._to_workers(message, work)
                return
        if transition.to_relay:
            await engine.relay()
        await engine.publish(work.run_id, transition.changed)

    async def _submit_claimed(self, message: int, work: NodeWork) -> Transition:
        try:
            submitted = await submit(self._submitter, work, message=message)
        except SUBMIT_ERRORS as exc:
            if isinstance(exc, FalUnavailable):
                raise
            # fal refused the node as it is, or an input is gone: no retry would do better.
            transition = await refused(self._submitter, work, exc)
        else:
            transition = submitted.transition
            if submitted.message_settled:
                return transition
        await outbox.remove(self._submitter.engine.db, [message])
        return transition

    async def _to_workers(self, message: int, work: NodeWork) -> None:
        """Lets a worker's delivery of the message take the node at once."""
        engine = self._submitter.engine
        with contextlib.suppress(Exception):  # else the claims lapse, with the same effect
            await transitions.release_lease(engine.db, work)
            await outbox.release(engine.db, [message])
            await engine.relay()
