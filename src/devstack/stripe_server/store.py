"""All state in memory: Stripe objects by kind, accepted meter events, idempotent responses,
and what a checkout session sells. Optionally saved to a JSON file after each change, so a
restart of the dev stack keeps its customers and subscriptions."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

from devstack.stripe_server.errors import missing

Obj = dict[str, Any]

KINDS = {
    # kind: (id prefix, what error messages call it)
    "customer": ("cus_", "customer"),
    "product": ("prod_", "product"),
    "price": ("price_", "price"),
    "meter": ("mtr_", "billing meter"),
    "checkout_session": ("cs_test_", "checkout.session"),
    "portal_session": ("bps_", "billing portal session"),
    "subscription": ("sub_", "subscription"),
    "invoice": ("in_", "invoice"),
    "event": ("evt_", "event"),
}


def new_id(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(18).replace("-", "").replace("_", "")[:24]


def now() -> int:
    return int(time.time())


class Store:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.clear()
        if path is not None and path.is_file():
            with contextlib.suppress(ValueError, OSError):
                self._load(json.loads(path.read_text()))

    def clear(self) -> None:
        self.objects: dict[str, dict[str, Obj]] = {kind: {} for kind in KINDS}
        self.meter_events: list[Obj] = []  # accepted, in arrival order
        self.identifiers: set[str] = set()
        self.checkouts: dict[str, Obj] = {}  # session id -> {"items", "subscription_metadata"}
        self.idempotent: dict[str, tuple[str, int, bytes]] = {}  # key -> (params, status, body)

    # -- objects --------------------------------------------------------------------------
    def create(self, kind: str, fields: Obj) -> Obj:
        prefix, _ = KINDS[kind]
        obj = {"id": new_id(prefix), **fields}
        self.objects[kind][obj["id"]] = obj
        return obj

    def get(self, kind: str, id: str, param: str = "id") -> Obj:
        found = self.objects[kind].get(id)
        if found is None:
            raise missing(KINDS[kind][1], id, param)
        return found

    def find(self, id: str) -> Obj | None:
        """Any object by its id (for `expand`)."""
        for kind, (prefix, _) in KINDS.items():
            if id.startswith(prefix):
                return self.objects[kind].get(id)
        return None

    def all(self, kind: str) -> list[Obj]:
        """Newest first, as Stripe lists."""
        return list(reversed(self.objects[kind].values()))

    # -- persistence ----------------------------------------------------------------------
    def save(self) -> None:
        if self.path is None:
            return
        data = {
            "objects": self.objects,
            "meter_events": self.meter_events,
            "checkouts": self.checkouts,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(self.path.suffix + ".tmp")
        temporary.write_text(json.dumps(data))
        os.replace(temporary, self.path)

    def _load(self, data: Obj) -> None:
        for kind, objects in data.get("objects", {}).items():
            if kind in self.objects:
                self.objects[kind] = objects
        self.meter_events = data.get("meter_events", [])
        self.identifiers = {event["identifier"] for event in self.meter_events}
        self.checkouts = data.get("checkouts", {})
