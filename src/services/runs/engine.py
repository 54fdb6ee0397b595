"""What the run engine needs from a process: the database, Redis (events, cancel flags,
rate limits), the queue, and settings. The API and the workers each build one."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import dramatiq
import redis.asyncio as aioredis

from services.billing import ledger
from services.platform.config import Settings
from services.platform.database import Database
from services.runs import events, outbox

log = logging.getLogger(__name__)


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

    async def relay(self) -> None:
        """Hands what committed transactions left in the outbox to Dramatiq. A failure here
        loses nothing: the workers' relay sends it later."""
        try:
            await outbox.relay(self.db, self.broker)
        except Exception:
            log.warning("outbox relay failed; the workers will retry it", exc_info=True)

    async def publish(self, run_id: uuid.UUID, node_run_ids: Iterable[uuid.UUID] = ()) -> None:
        """Tells subscribers what changed; the state itself is already committed."""
        changed = list(node_run_ids)
        for node_run_id in changed:
            await events.publish(self.redis, run_id, node_run_id)
        if not changed:
            await events.publish(self.redis, run_id)

    async def request_cancel(self, run_id: uuid.UUID) -> None:
        await self.redis.set(cancel_flag(run_id), "1", ex=86_400)

    async def cancel_requested(self, run_id: uuid.UUID) -> bool:
        return bool(await self.redis.exists(cancel_flag(run_id)))

    async def cancel_flags(self, run_ids: list[uuid.UUID]) -> list[bool]:
        """One round trip for every run a follower watches."""
        found = await self.redis.mget([cancel_flag(r) for r in run_ids])
        return [value is not None for value in found]


def cancel_flag(run_id: uuid.UUID) -> str:
    return f"lattice:cancel:{run_id}"
