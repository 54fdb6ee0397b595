"""Injected failures for the REST API: answer N requests (or for S seconds) with a 429, a
500 or any other status, optionally only on some path prefixes."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from devstack.stripe_server.errors import StripeError, invalid


@dataclass
class Fault:
    status: int
    count: int | None = None  # how many requests still fail; None = no count limit
    until: float | None = None  # monotonic deadline; None = no time limit
    paths: list[str] | None = None  # path prefixes; None = every /v1 path
    should_retry: bool | None = None  # a `Stripe-Should-Retry` header, when set

    @classmethod
    def parse(cls, spec: dict[str, Any]) -> Fault:
        status = int(spec.get("status", 500))
        if not 400 <= status <= 599:
            raise invalid("fail.status must be a 4xx or 5xx status", "status")
        count = spec.get("count")
        seconds = spec.get("seconds")
        paths = spec.get("paths")
        return cls(
            status=status,
            count=None if count is None else int(count),
            until=None if seconds is None else time.monotonic() + float(seconds),
            paths=None if paths is None else [str(p) for p in paths],
            should_retry=spec.get("should_retry"),
        )

    def live(self) -> bool:
        if self.count is not None and self.count <= 0:
            return False
        return self.until is None or time.monotonic() < self.until

    def matches(self, path: str) -> bool:
        return self.live() and (self.paths is None or any(path.startswith(p) for p in self.paths))

    def take(self) -> StripeError:
        if self.count is not None:
            self.count -= 1
        if self.status == 429:
            return StripeError(
                429,
                "Request rate limit exceeded. Learn more about rate limits here "
                "https://stripe.com/docs/rate-limits.",
                code="rate_limit",
                should_retry=self.should_retry,
            )
        if self.status == 402:
            return StripeError(
                402, "Your card was declined.", type="card_error", code="card_declined"
            )
        if self.status >= 500:
            return StripeError(
                self.status,
                "An unknown error occurred (injected by the local Stripe server).",
                type="api_error",
                should_retry=self.should_retry,
            )
        return StripeError(self.status, "Injected error.", should_retry=self.should_retry)

    def snapshot(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "count": self.count,
            "seconds_left": None
            if self.until is None
            else max(0.0, round(self.until - time.monotonic(), 3)),
            "paths": self.paths,
            "should_retry": self.should_retry,
            "live": self.live(),
        }


def take_fault(faults: list[Fault], path: str) -> StripeError | None:
    for fault in faults:
        if fault.matches(path):
            return fault.take()
    return None
