"""The whole server's state in one place, shared by the REST API, the hosted pages and the
control API."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from devstack.stripe_server.billing import Billing
from devstack.stripe_server.catalog import Catalog
from devstack.stripe_server.faults import Fault
from devstack.stripe_server.store import Store
from devstack.stripe_server.webhooks import Webhooks


@dataclass
class StripeServer:
    store: Store
    catalog: Catalog
    billing: Billing
    webhooks: Webhooks
    public_url: str
    faults: list[Fault] = field(default_factory=list)
    requests: Counter[str] = field(default_factory=Counter)

    @classmethod
    def create(
        cls,
        public_url: str,
        webhook_url: str | None,
        webhook_secret: str,
        state_file: Path | None = None,
    ) -> StripeServer:
        public_url = public_url.rstrip("/")
        store = Store(state_file)
        catalog = Catalog(store)
        webhooks = Webhooks(store, webhook_url, webhook_secret)
        billing = Billing(store, catalog, webhooks, public_url)
        return cls(store, catalog, billing, webhooks, public_url)

    def reset(self) -> None:
        self.store.clear()
        self.store.save()
        self.catalog.accepted = self.catalog.deduplicated = 0
        self.webhooks.reset()
        self.faults.clear()
        self.requests.clear()
