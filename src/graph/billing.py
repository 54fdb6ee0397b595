"""The Billing page's types: the plan, this month's usage, the spending cap, and what
Stripe will invoice. Usage comes from the ledger; invoices are read from Stripe when asked."""

from __future__ import annotations

import enum
import logging
from datetime import date, datetime, timedelta

import strawberry

from graph.context import Context
from services.accounts import viewer as accounts
from services.billing import summary
from services.billing.ledger import current_period, effective_cap
from services.billing.stripe_gateway import StripeRejected, StripeUnavailable
from services.workflows import catalog

log = logging.getLogger(__name__)
Info = strawberry.Info[Context, None]


@strawberry.enum(description="The Pro subscription's status, as Stripe reports it.")
class SubscriptionStatus(enum.Enum):
    INCOMPLETE = "incomplete"
    INCOMPLETE_EXPIRED = "incomplete_expired"
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    CANCELED = "canceled"
    UNPAID = "unpaid"
    PAUSED = "paused"


@strawberry.type
class DailyUsage:
    day: date
    cents: int


@strawberry.type
class ModelUsage:
    model_id: strawberry.ID
    model_name: str
    cents: int
    node_runs: int


@strawberry.type
class UpcomingInvoice:
    amount_due_cents: int
    currency: str
    period_end: datetime | None


@strawberry.type
class Invoice:
    id: strawberry.ID
    number: str | None
    status: str
    amount_due_cents: int
    amount_paid_cents: int
    currency: str
    created_at: datetime
    hosted_invoice_url: str | None


@strawberry.type(description="The viewer's plan and this month's usage.")
class Billing:
    plan: accounts.Role
    subscription_status: SubscriptionStatus | None
    grace_ends_at: datetime | None = strawberry.field(
        description="While PAST_DUE: when Pro ends unless the payment goes through."
    )
    current_period_end: datetime | None = strawberry.field(
        description="When the subscription's current billing period ends."
    )
    usage_period_start: date = strawberry.field(
        description="Usage is counted per calendar month (UTC) from this day."
    )
    spending_cap_cents: int | None = strawberry.field(
        description="The monthly cap in force (Pro); null where none applies."
    )
    default_spending_cap_cents: int
    max_spending_cap_cents: int = strawberry.field(
        description="The highest cap the viewer may set themselves."
    )
    _customer_id: strawberry.Private[str | None]
    _subscription_id: strawberry.Private[str | None]

    @strawberry.field
    async def usage_by_day(self, info: Info) -> list[DailyUsage]:
        viewer = info.context.signed_in
        found = await summary.usage_by_day(info.context.runtime.db, viewer)
        return [DailyUsage(day=u.day, cents=u.cents) for u in found]

    @strawberry.field
    async def usage_by_model(self, info: Info) -> list[ModelUsage]:
        viewer = info.context.signed_in
        found = await summary.usage_by_model(info.context.runtime.db, viewer)
        return [
            ModelUsage(
                model_id=strawberry.ID(u.model_id),
                model_name=catalog.CATALOG[u.model_id].name
                if u.model_id in catalog.CATALOG
                else u.model_id,
                cents=u.cents,
                node_runs=u.node_runs,
            )
            for u in found
        ]

    @strawberry.field(
        description="What Stripe will invoice at the end of this period; null without a "
        "subscription or while Stripe cannot be reached."
    )
    async def upcoming_invoice(self, info: Info) -> UpcomingInvoice | None:
        stripe = info.context.runtime.stripe
        if stripe is None or not self._customer_id or not self._subscription_id:
            return None
        if self.subscription_status not in (
            SubscriptionStatus.ACTIVE,
            SubscriptionStatus.TRIALING,
            SubscriptionStatus.PAST_DUE,
        ):
            return None
        try:
            found = await stripe.upcoming_invoice(self._customer_id, self._subscription_id)
        except (StripeUnavailable, StripeRejected):
            log.warning("no invoice preview for %s", self._customer_id, exc_info=True)
            return None
        return UpcomingInvoice(
            amount_due_cents=found.amount_due_cents,
            currency=found.currency,
            period_end=found.period_end,
        )

    @strawberry.field(description="Past invoices, newest first, with Stripe's hosted links.")
    async def invoices(self, info: Info, first: int = 12) -> list[Invoice]:
        stripe = info.context.runtime.stripe
        if stripe is None or not self._customer_id:
            return []
        try:
            found = await stripe.invoices(self._customer_id, max(1, min(first, 50)))
        except (StripeUnavailable, StripeRejected):
            log.warning("no invoices for %s", self._customer_id, exc_info=True)
            return []
        return [
            Invoice(
                id=strawberry.ID(i.id),
                number=i.number,
                status=i.status,
                amount_due_cents=i.amount_due_cents,
                amount_paid_cents=i.amount_paid_cents,
                currency=i.currency,
                created_at=i.created,
                hosted_invoice_url=i.hosted_invoice_url,
            )
            for i in found
        ]


async def billing_of(info: Info, viewer: accounts.Viewer) -> Billing:
    settings = info.context.runtime.settings
    found = await summary.plan(
        info.context.runtime.db, viewer, timedelta(seconds=settings.PAST_DUE_GRACE_SECONDS)
    )
    default_cap = settings.PRO_DEFAULT_SPENDING_CAP_CENTS
    return Billing(
        plan=viewer.role,
        subscription_status=SubscriptionStatus(found.subscription_status)
        if found.subscription_status
        else None,
        grace_ends_at=found.grace_ends_at,
        current_period_end=found.period_end,
        usage_period_start=current_period(),
        spending_cap_cents=effective_cap(viewer.spending_cap_cents, default_cap)
        if viewer.role == accounts.Role.PRO
        else None,
        default_spending_cap_cents=default_cap,
        max_spending_cap_cents=settings.PRO_MAX_SPENDING_CAP_CENTS
        if found.spending_cap_limit_cents is None
        else found.spending_cap_limit_cents,
        _customer_id=found.customer_id,
        _subscription_id=found.subscription_id,
    )
