"""Rate limits on writes, per user and, separately, per API key, and on MFA code attempts,
with the `limits` library over the project's Redis (fixed one-minute windows: every API
process shares the counts)."""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.storage import RedisStorage
from limits.aio.strategies import FixedWindowRateLimiter
from redis.exceptions import RedisError

from services.platform.errors import RateLimited, Unavailable

# A six-digit code must not be guessable by trying: a handful of tries a minute.
MFA_ATTEMPTS_PER_MINUTE = 5


class RateLimits:
    def __init__(self, redis_url: str, *, per_user: int, per_key: int) -> None:
        scheme, sep, rest = redis_url.partition("://")
        uri = f"async+{scheme}{sep}{rest}" if not scheme.startswith("async+") else redis_url
        self._storage = RedisStorage(uri, implementation="redispy", key_prefix="lattice:limits")
        self._limiter = FixedWindowRateLimiter(self._storage)
        self._per_user = RateLimitItemPerMinute(per_user)
        self._per_key = RateLimitItemPerMinute(per_key)
        self._mfa = RateLimitItemPerMinute(MFA_ATTEMPTS_PER_MINUTE)

    async def hit(self, *, user_id: str, key_id: str | None) -> None:
        """Counts one write; RATE_LIMITED past the limit of the user, or of the key."""
        rule, who = (
            (self._per_key, f"key:{key_id}") if key_id else (self._per_user, f"user:{user_id}")
        )
        await self._hit(rule, "writes", who, "Too many changes in a minute")

    async def hit_mfa(self, user_id: str) -> None:
        """Counts one MFA code tried; RATE_LIMITED past MFA_ATTEMPTS_PER_MINUTE."""
        await self._hit(self._mfa, "mfa", f"user:{user_id}", "Too many codes tried")

    async def _hit(self, rule: RateLimitItem, bucket: str, who: str, what: str) -> None:
        try:
            allowed = await self._limiter.hit(rule, bucket, who)
            if allowed:
                return
            stats = await self._limiter.get_window_stats(rule, bucket, who)
        except (RedisError, OSError) as exc:
            # Fail closed like run starts: without counts nothing would hold back a flood.
            raise Unavailable("Paused for a moment; try again shortly") from exc
        retry = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimited(f"{what}; try again in {retry} s", retryAfterSeconds=retry)
