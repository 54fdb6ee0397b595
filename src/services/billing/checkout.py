"""Upgrading to Pro and managing the plan: Stripe Checkout and the customer portal."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from services.accounts.viewer import Role, Viewer
from services.billing.stripe_gateway import StripeGateway, StripeRejected, StripeUnavailable
from services.billing.subscriptions import LIVE_STATUSES
from services.platform.database import Database
from services.platform.errors import NotAvailable, Unavailable, UpgradeRequired, ValidationFailed

log = logging.getLogger(__name__)


async def start_checkout(
    db: Database, stripe: StripeGateway, viewer: Viewer, public_url: str
) -> str:
    """The URL of a Checkout Session for the Pro plan, for the viewer's own customer."""
    if viewer.is_anonymous:
        raise UpgradeRequired("Create an account before upgrading to Pro")
    async with db.as_user(viewer.claims) as conn:
        profile = await conn.fetchrow(
            "select role, stripe_customer_id, subscription_status from public.profiles where id = $1",
            viewer.id,
        )
    if profile["role"] == Role.ADMIN.value:
        raise ValidationFailed.single(
            "ALREADY_SUBSCRIBED",
            "Admins need no subscription: their usage is charged to the platform",
            field="plan",
        )
    if profile["role"] == Role.PRO.value or profile["subscription_status"] in LIVE_STATUSES:
        raise ValidationFailed.single(
            "ALREADY_SUBSCRIBED",
            "You already have Pro: manage it from the billing portal",
            field="plan",
        )
    with _stripe_errors():
        customer_id = profile["stripe_customer_id"] or await _create_customer(db, stripe, viewer)
        return await stripe.create_checkout(
            customer_id=customer_id,
            user_id=viewer.id,
            success_url=f"{public_url}/billing?checkout=success&session_id={{CHECKOUT_SESSION_ID}}",
            cancel_url=f"{public_url}/billing?checkout=cancelled",
        )


async def open_portal(db: Database, stripe: StripeGateway, viewer: Viewer, public_url: str) -> str:
    async with db.as_user(viewer.claims) as conn:
        customer_id = await conn.fetchval(
            "select stripe_customer_id from public.profiles where id = $1", viewer.id
        )
    if customer_id is None:
        raise ValidationFailed.single(
            "NO_SUBSCRIPTION", "There is no billing account yet: upgrade to Pro first", field="plan"
        )
    with _stripe_errors():
        return await stripe.create_portal(
            customer_id=customer_id, return_url=f"{public_url}/billing"
        )


@contextmanager
def _stripe_errors() -> Iterator[None]:
    try:
        yield
    except StripeUnavailable as exc:
        raise Unavailable("Stripe cannot be reached right now; try again in a minute") from exc
    except StripeRejected as exc:
        log.error("Stripe refused a billing request: %s", exc)
        raise NotAvailable("Billing is misconfigured on this server; we have been told") from exc


async def _create_customer(db: Database, stripe: StripeGateway, viewer: Viewer) -> str:
    # Stripe's idempotency key (the user id) makes a second concurrent call return the same
    # customer; the conditional update keeps the first one stored.
    customer_id = await stripe.create_customer(viewer.id, viewer.email)
    async with db.as_service() as conn:
        stored: str = await conn.fetchval(
            """
            update public.profiles set stripe_customer_id = coalesce(stripe_customer_id, $2)
            where id = $1 returning stripe_customer_id
            """,
            viewer.id,
            customer_id,
        )
    return stored
