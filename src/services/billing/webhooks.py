"""Stripe's webhooks: each event is recorded in `webhook_events` in the same transaction
as its effect, so a repeated delivery changes nothing twice. Subscription news is never
taken from the event itself: the subscription is re-read from Stripe and its current state
applied, so events may arrive in any order."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from services.billing.stripe_gateway import StripeGateway, SubscriptionState
from services.billing.subscriptions import RoleChange, apply_subscription
from services.platform.config import Settings
from services.platform.database import Database
from services.platform.webhook_log import first_delivery

log = logging.getLogger(__name__)
HANDLED = (
    "checkout.session.completed",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.paid",
    "invoice.payment_failed",
)


async def handle_event(
    db: Database, stripe: StripeGateway, settings: Settings, event: dict[str, Any]
) -> RoleChange | None:
    kind = str(event.get("type"))
    obj: dict[str, Any] = event.get("data", {}).get("object", {})
    # Stripe is asked first, outside the transaction; a failure here answers 5xx and
    # Stripe delivers the event again later.
    sub = await _subscription_of(stripe, kind, obj) if kind in HANDLED else None
    async with db.as_service() as conn:
        if not await first_delivery(conn, "stripe", str(event["id"]), kind):
            return None  # delivered before; its effect is already committed
        if kind == "checkout.session.completed":
            await _link_customer(conn, obj)
        if sub is None:
            return None
        return await apply_subscription(
            conn,
            sub,
            grace=timedelta(seconds=settings.PAST_DUE_GRACE_SECONDS),
            default_cap_cents=settings.PRO_DEFAULT_SPENDING_CAP_CENTS,
            reason=f"stripe {kind} ({event['id']})",
        )


async def _subscription_of(
    stripe: StripeGateway, kind: str, obj: dict[str, Any]
) -> SubscriptionState | None:
    if kind.startswith("customer.subscription."):
        sub_id: str | None = obj.get("id")
    elif kind == "checkout.session.completed":
        sub_id = _ref(obj.get("subscription"))
    else:  # invoices
        sub_id = _ref(obj.get("subscription")) or await stripe.invoice_subscription(obj["id"])
    return await stripe.subscription(sub_id) if sub_id else None


async def _link_customer(conn: Any, session: dict[str, Any]) -> None:
    """Checkout names the user; the customer was made for them, but link it in case the
    session was created elsewhere (a payment link, say)."""
    customer, user = _ref(session.get("customer")), session.get("client_reference_id")
    try:
        user_id = uuid.UUID(str(user))
    except ValueError:
        return
    if customer:
        await conn.execute(
            """
            update public.profiles set stripe_customer_id = $2
            where id = $1 and stripe_customer_id is null
              and not exists (select from public.profiles where stripe_customer_id = $2)
            """,
            user_id,
            customer,
        )


def _ref(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return str(value.get("id"))
