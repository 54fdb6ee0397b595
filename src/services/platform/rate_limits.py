"""Rate limits on writes, per user and, separately, per API key, with the `limits` library
over the project's Redis (fixed one-minute windows: every API process shares the counts)."""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerMinute
from limits.aio.storage import RedisStorage
from limits.aio.strategies import FixedWindowRateLimiter
from redis.exceptions import RedisError

from services.platform.errors import RateLimited, Unavailable


class RateLimits:
    def __init__(self, redis_url: str, *, per_user: int, per_key: int) -> None:
        scheme, sep, rest = redis_url.partition("://")
        uri = f"async+{scheme}{sep}{rest}" if not scheme.startswith("async+") else redis_url
        self._storage = RedisStorage(uri, implementation="redispy", key_prefix="lattice:limits")
        self._limiter = FixedWindowRateLimiter(self._storage)
        self._per_user = RateLimitItemPerMinute(per_user)
        self._per_key = RateLimitItemPerMinute(per_key)

    async def hit(self, *, user_id: str, key_id: str | None) -> None:
        """Counts one write; RATE_LIMITED past the limit of the user, or of the key."""
        rule, who = (
            (self._per_key, f"key:{key_id}") if key_id else (self._per_user, f"user:{user_id}")
        )
        try:
            allowed = await self._limiter.hit(rule, "writes", who)
            if allowed:
                return
            stats = await self._limiter.get_window_stats(rule, "writes", who)
        except (RedisError, OSError) as exc:
            # Fail closed like run starts: without counts nothing would hold back a flood.
            raise Unavailable("Writes are paused for a moment; try again shortly") from exc
        retry = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimited(
            f"Too many changes in a minute; try again in {retry} s", retryAfterSeconds=retry
        )
