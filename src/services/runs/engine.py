"""What the run engine needs from a process: the database, Redis (events, cancel flags,
rate limits), the queue, and settings. The API and the workers each build one."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import dramatiq
import redis.asyncio as aioredis

from services.billing import ledger
from services.platform.config import Settings
from services.platform.database import Database
from services.runs import dispatch, events


@dataclass
class Engine:
    settings: Settings
    db: Database
    redis: aioredis.Redis
    broker: dramatiq.Broker

    @property
    def limits(self) -> ledger.Limits:
        return ledger.Limits(
            free_allowance_cents=self.settings.FREE_MONTHLY_CREDITS_CENTS,
            default_cap_cents=self.settings.PRO_DEFAULT_SPENDING_CAP_CENTS,
            platform_daily_cents=self.settings.PLATFORM_DAILY_SPEND_LIMIT_CENTS,
        )

    async def send_nodes(self, node_run_ids: Iterable[uuid.UUID]) -> None:
        ids = [str(i) for i in node_run_ids]
        if ids:
            # The broker's client is synchronous; keep it off the event loop.
            await asyncio.to_thread(dispatch.send_nodes, self.broker, ids)

    async def publish(self, run_id: uuid.UUID, node_run_ids: Iterable[uuid.UUID] = ()) -> None:
        """Tells subscribers what changed; the state itself is already committed."""
        changed = list(node_run_ids)
        for node_run_id in changed:
            await events.publish(self.redis, run_id, node_run_id)
        if not changed:
            await events.publish(self.redis, run_id)

    async def send_usage_reports(self, ledger_ids: Iterable[int]) -> None:
        ids = list(ledger_ids)
        if ids:
            await asyncio.to_thread(dispatch.send_usage_reports, self.broker, ids)

    async def request_cancel(self, run_id: uuid.UUID) -> None:
        await self.redis.set(cancel_flag(run_id), "1", ex=86_400)

    async def cancel_requested(self, run_id: uuid.UUID) -> bool:
        return bool(await self.redis.exists(cancel_flag(run_id)))


def cancel_flag(run_id: uuid.UUID) -> str:
    return f"lattice:cancel:{run_id}"
