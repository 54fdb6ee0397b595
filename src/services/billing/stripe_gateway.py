"""Stripe through the real `stripe` library: customers, Checkout, the customer portal,
subscriptions, meter events and invoices. The only module that imports stripe's client.

Prices and the meter are found by lookup key and event name (made by `billing.setup`),
never by id, so the same code runs against any Stripe account or the local server."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import stripe

from services.platform.config import Settings

USAGE_PRICE_KEY = "lattice_pro_usage"
BASE_PRICE_KEY = "lattice_pro_base"
PRODUCT_KEY = "lattice_pro"


class StripeUnavailable(Exception):
    """Stripe could not be reached or answered 429/5xx after the library's own retries:
    worth trying again later."""


class StripeRejected(Exception):
    """Stripe refused the request (4xx): trying again will not help."""


@dataclass(frozen=True)
class SubscriptionState:
    id: str
    customer_id: str
    status: str
    period_end: datetime | None
    user_id: str | None


@dataclass(frozen=True)
class InvoiceSummary:
    id: str
    number: str | None
    status: str
    amount_due_cents: int
    amount_paid_cents: int
    currency: str
    created: datetime
    hosted_invoice_url: str | None


@dataclass(frozen=True)
class UpcomingInvoice:
    amount_due_cents: int
    currency: str
    period_end: datetime | None


class StripeGateway:
    def __init__(self, settings: Settings) -> None:
        assert settings.STRIPE_SECRET_KEY is not None
        base = settings.STRIPE_API_BASE
        addresses: Any = (
            {"api": base, "files": base, "connect": base, "meter_events": base} if base else None
        )
        self._client = stripe.StripeClient(
            settings.STRIPE_SECRET_KEY.get_secret_value(),
            base_addresses=addresses,
            max_network_retries=2,
            http_client=stripe.HTTPXClient(),
        )
        self.meter_event_name = settings.STRIPE_METER_EVENT_NAME
        self._prices: list[str] | None = None
        self._meter_id: str | None = None

    @property
    def client(self) -> stripe.StripeClient:
        return self._client

    async def create_customer(self, user_id: uuid.UUID, email: str | None) -> str:
        """One customer per user however often this runs: the idempotency key is the user."""
        params: Any = {"metadata": {"user_id": str(user_id)}}
        if email:
            params["email"] = email
        customer = await self._call(
            self._client.v1.customers.create_async(
                params, {"idempotency_key": f"lattice-customer-{user_id}"}
            )
        )
        return str(customer.id)

    async def checkout_prices(self) -> list[str]:
        """The Pro plan's price ids, looked up by key once per process."""
        if self._prices is None:
            found = await self._call(
                self._client.v1.prices.list_async(
                    {"lookup_keys": [USAGE_PRICE_KEY, BASE_PRICE_KEY], "active": True}
                )
            )
            by_key = {p.lookup_key: p.id for p in found.data}
            if USAGE_PRICE_KEY not in by_key:
                raise StripeRejected(
                    "Stripe has no Pro price yet: run `uv run python -m services.billing.setup`"
                )
            self._prices = [by_key[k] for k in (USAGE_PRICE_KEY, BASE_PRICE_KEY) if k in by_key]
        return self._prices

    async def create_checkout(
        self, *, customer_id: str, user_id: uuid.UUID, success_url: str, cancel_url: str
    ) -> str:
        line_items: list[Any] = [{"price": p} for p in await self.checkout_prices()]
        for item in line_items[1:]:
            item["quantity"] = 1  # the flat base price; the metered one takes no quantity
        session = await self._call(
            self._client.v1.checkout.sessions.create_async(
                {
                    "mode": "subscription",
                    "customer": customer_id,
                    "client_reference_id": str(user_id),
                    "line_items": line_items,
                    "success_url": success_url,
                    "cancel_url": cancel_url,
                    "subscription_data": {"metadata": {"user_id": str(user_id)}},
                }
            )
        )
        return str(session.url)

    async def create_portal(self, *, customer_id: str, return_url: str) -> str:
        session = await self._call(
            self._client.v1.billing_portal.sessions.create_async(
                {"customer": customer_id, "return_url": return_url}
            )
        )
        return str(session.url)

    async def subscription(self, subscription_id: str) -> SubscriptionState:
        found = await self._call(self._client.v1.subscriptions.retrieve_async(subscription_id))
        return _subscription_state(found.to_dict())

    async def checkout_session(self, session_id: str) -> tuple[str | None, str | None]:
        """(customer id, subscription id) of a completed Checkout Session."""
        found = await self._call(self._client.v1.checkout.sessions.retrieve_async(session_id))
        session = found.to_dict()
        return _id(session.get("customer")), _id(session.get("subscription"))

    async def invoice_subscription(self, invoice_id: str) -> str | None:
        invoice = (await self._call(self._client.v1.invoices.retrieve_async(invoice_id))).to_dict()
        found = invoice.get("subscription")
        if found is None:
            details = (invoice.get("parent") or {}).get("subscription_details") or {}
            found = details.get("subscription")
        return _id(found)

    async def report_usage(
        self, *, customer_id: str, cents: int, identifier: str, timestamp: datetime
    ) -> None:
        """One meter event; Stripe de-duplicates by `identifier`, so a retry never counts
        twice. A duplicate identifier means an earlier attempt already landed."""
        try:
            await self._call(
                self._client.v1.billing.meter_events.create_async(
                    {
                        "event_name": self.meter_event_name,
                        "payload": {"stripe_customer_id": customer_id, "value": str(cents)},
                        "identifier": identifier,
                        "timestamp": int(timestamp.timestamp()),
                    },
                    {"idempotency_key": f"lattice-usage-{identifier}"},
                )
            )
        except StripeRejected as exc:
            if "identifier" not in str(exc).lower() or "already" not in str(exc).lower():
                raise

    async def meter_id(self) -> str:
        if self._meter_id is None:
            meters = await self._call(self._client.v1.billing.meters.list_async({"limit": 100}))
            found = [m.id for m in meters.data if m.event_name == self.meter_event_name]
            if not found:
                raise StripeRejected(
                    "Stripe has no usage meter yet: run `uv run python -m services.billing.setup`"
                )
            self._meter_id = found[0]
        return self._meter_id

    async def reported_cents(self, customer_id: str, start: datetime, end: datetime) -> int:
        """What Stripe's meter summed for a customer between two instants."""
        summaries = await self._call(
            self._client.v1.billing.meters.event_summaries.list_async(
                await self.meter_id(),
                {
                    "customer": customer_id,
                    "start_time": int(start.timestamp()),
                    "end_time": int(end.timestamp()),
                    "limit": 100,
                },
            )
        )
        return int(sum(float(s.aggregated_value) for s in summaries.data))

    async def upcoming_invoice(self, customer_id: str, subscription_id: str) -> UpcomingInvoice:
        preview = (
            await self._call(
                self._client.v1.invoices.create_preview_async(
                    {"customer": customer_id, "subscription": subscription_id}
                )
            )
        ).to_dict()
        end = preview.get("period_end")
        return UpcomingInvoice(
            amount_due_cents=int(preview.get("amount_due") or 0),
            currency=str(preview.get("currency") or "usd"),
            period_end=datetime.fromtimestamp(end, UTC) if end else None,
        )

    async def invoices(self, customer_id: str, limit: int) -> list[InvoiceSummary]:
        found = await self._call(
            self._client.v1.invoices.list_async({"customer": customer_id, "limit": limit})
        )
        return [
            InvoiceSummary(
                id=str(i["id"]),
                number=i.get("number"),
                status=str(i.get("status") or "draft"),
                amount_due_cents=int(i.get("amount_due") or 0),
                amount_paid_cents=int(i.get("amount_paid") or 0),
                currency=str(i.get("currency") or "usd"),
                created=datetime.fromtimestamp(int(i["created"]), UTC),
                hosted_invoice_url=i.get("hosted_invoice_url"),
            )
            for i in (invoice.to_dict() for invoice in found.data)
        ]

    async def _call(self, pending: Any) -> Any:
        try:
            return await pending
        except (stripe.RateLimitError, stripe.APIConnectionError) as exc:
            raise StripeUnavailable(str(exc.user_message or exc)) from exc
        except stripe.StripeError as exc:
            status = exc.http_status or 0
            if status >= 500 or status in (409, 429) or status == 0:
                raise StripeUnavailable(str(exc.user_message or exc)) from exc
            raise StripeRejected(str(exc.user_message or exc)) from exc


def _id(value: Any) -> str | None:
    if value is None:
        return None
    return str(value if isinstance(value, str) else value.get("id"))


def _subscription_state(sub: dict[str, Any]) -> SubscriptionState:
    # Recent API versions keep the period on the items, older ones on the subscription.
    end = sub.get("current_period_end")
    items = (sub.get("items") or {}).get("data") or []
    if end is None and items:
        end = items[0].get("current_period_end")
    return SubscriptionState(
        id=str(sub["id"]),
        customer_id=str(_id(sub.get("customer"))),
        status=str(sub.get("status")),
        period_end=datetime.fromtimestamp(int(end), UTC) if end else None,
        user_id=(sub.get("metadata") or {}).get("user_id"),
    )


class InvalidWebhook(Exception):
    """Unsigned, wrongly signed, stale or malformed: refuse it."""


def verify_webhook(payload: bytes, signature: str | None, secret: str) -> dict[str, Any]:
    """The event in a webhook whose `Stripe-Signature` matches the raw body and is at most
    five minutes old."""
    if not signature:
        raise InvalidWebhook("no Stripe-Signature header")
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret, tolerance=300)
    except (ValueError, stripe.SignatureVerificationError) as exc:
        raise InvalidWebhook(str(exc)) from exc
    found: dict[str, Any] = event.to_dict()
    return found
