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
    faults: list[Fault] = field(default_factory=list)
    submits: Counter[str] = field(default_factory=Counter)
    cancels: int = 0

    def take_fault(self, on: str, model: str) -> Fault | None:
        for fault in self.faults:
            if fault.matches(on, model):
                fault.times -= 1
                return fault
        return None

    def configure(self, body: dict[str, Any]) -> None:
        for name in ("latency_ms", "steps", "concurrency"):
            if name in body:
                setattr(self, name, max(0 if name == "latency_ms" else 1, int(body[name])))
        if "faults" in body:
            self.faults = [Fault(**f) for f in body["faults"]]

    def snapshot(self) -> dict[str, Any]:
        return {
            "latency_ms": self.latency_ms,
            "steps": self.steps,
            "concurrency": self.concurrency,
            "faults": [vars(f) for f in self.faults],
            "counters": {"submits": dict(self.submits), "cancels": self.cancels},
        }
