"""The server's knobs (latency, concurrency, injected faults) and counters, settable over
`POST /_control` so tests and demos can make fal slow, busy or failing on purpose."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Fault:
    # "submit"; "status" (hang: runs forever); "queue" (hang: never leaves the queue);
    # "poll" (a status call fails); "result"
    on: str
    status: int | str  # 422, 429, 500, 502 or "hang"
    times: int = 1
    model: str | None = None

    def matches(self, on: str, model: str) -> bool:
        return (
            self.times > 0
            and self.on == on
            and (self.model is None or model.startswith(self.model))
        )


@dataclass
class Control:
    latency_ms: int = 150  # per inference step
    steps: int = 8
    concurrency: int = 4
    # The request is accepted (and starts) at once, but the answer to the submit is late:
    # the window in which a client does not know the request id yet.
    submit_delay_ms: int = 0
    faults: list[Fault] = field(default_factory=list)
    submits: Counter[str] = field(default_factory=Counter)
    started: Counter[str] = field(default_factory=Counter)  # requests that began running
    cancels: int = 0

    def take_fault(self, on: str, model: str) -> Fault | None:
        for fault in self.faults:
            if fault.matches(on, model):
                fault.times -= 1
                return fault
        return None

    def configure(self, body: dict[str, Any]) -> None:
        for name in ("latency_ms", "steps", "concurrency", "submit_delay_ms"):
            if name in body:
                low = 0 if name in ("latency_ms", "submit_delay_ms") else 1
                setattr(self, name, max(low, int(body[name])))
        if "faults" in body:
            self.faults = [Fault(**f) for f in body["faults"]]

    def snapshot(self) -> dict[str, Any]:
        return {
            "latency_ms": self.latency_ms,
            "steps": self.steps,
            "concurrency": self.concurrency,
            "submit_delay_ms": self.submit_delay_ms,
            "faults": [vars(f) for f in self.faults],
            "counters": {
                "submits": dict(self.submits),
                "started": dict(self.started),
                "cancels": self.cancels,
            },
        }
