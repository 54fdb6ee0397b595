"""What the run engine needs from a process: the database, Redis (events, cancel flags,
rate limits), the queue, and settings. The API and the workers each build one."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import redis.asyncio as aioredis

from services.billing import ledger
from services.platform.config import Settings
from services.platform.database import Database
from services.runs import dispatch, events, outbox

log = logging.getLogger(__name__)


@dataclass
class Engine:
    settings: Settings
    db: Database
    redis: aioredis.Redis
    broker: dispatch.Broker

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
        """Tells subscribers what changed. The state is already committed, so Redis being
        away loses no state: the event hubs end their streams when they reconnect, and
        clients resubscribe for a fresh snapshot."""
        changed: list[uuid.UUID | None] = [*node_run_ids] or [None]
        try:
            for node_run_id in changed:
                await events.publish(self.redis, run_id, node_run_id)
        except (aioredis.RedisError, OSError):
            log.warning("could not announce a change of run %s", run_id, exc_info=True)
