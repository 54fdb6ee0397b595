"""Billing actors: reporting each Pro charge to Stripe, and the sweep that re-sends what is
still unreported and returns lapsed past_due subscriptions to Free."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import dramatiq

from jobs.broker import broker, schedule_once, settings
from jobs.context import worker_context
from services.billing import subscriptions, usage
from services.billing.stripe_gateway import StripeUnavailable
from services.runs import outbox
from services.runs.dispatch import BILLING_QUEUE, REPORT_USAGE

log = logging.getLogger(__name__)
SWEEP_SLOT_KEY = "lattice:billing:sweep-scheduled"
RESENT_KEY = "lattice:billing:resent:"


@dramatiq.actor(
    actor_name=REPORT_USAGE,
    broker=broker,
    queue_name=BILLING_QUEUE,
    # Stripe answering 429/5xx, or unreachable: back off and try again for about an hour;
    # the sweep picks up anything that outlives that.
    max_retries=60,
    min_backoff=500,
    max_backoff=30_000,
    retry_when=lambda retries, exc: isinstance(exc, StripeUnavailable) and retries < 60,
)
async def report_usage(ledger_id: int) -> None:
    ctx = await worker_context()
    if ctx.stripe is None:
        return  # billing is off in this deployment; the sweep reports once it is on
    await usage.report_charge(ctx.engine.db, ctx.stripe, ledger_id)


@dramatiq.actor(broker=broker, queue_name=BILLING_QUEUE, max_retries=3)
async def billing_sweep() -> None:
    ctx = await worker_context()
    try:
        grace = timedelta(seconds=settings.PAST_DUE_GRACE_SECONDS)
        async with ctx.engine.db.as_service() as conn:
            lapsed = await subscriptions.expire_grace(
                conn, grace=grace, default_cap_cents=settings.PRO_DEFAULT_SPENDING_CAP_CENTS
            )
        for change in lapsed:
            log.info("user %s returned to FREE: past_due grace ended", change.user_id)
        if ctx.stripe is not None:
            stale = await usage.unreported_charges(
                ctx.engine.db, timedelta(seconds=settings.USAGE_REPORT_RETRY_AFTER_SECONDS)
            )
            due = await asyncio.to_thread(_not_recently_resent, stale)
            if due:
                log.info("re-sending %d unreported charges to Stripe", len(due))
                async with ctx.engine.db.as_service() as conn:
                    await outbox.add(conn, outbox.report_usage(due))
                await ctx.engine.relay()
    finally:
        schedule_sweep()


def _not_recently_resent(ledger_ids: list[int]) -> list[int]:
    """At most one re-send per charge per retry period, however long Stripe stays down:
    the reports already sent keep retrying on their own."""
    ttl = max(1, int(settings.USAGE_REPORT_RETRY_AFTER_SECONDS))
    with broker.client.pipeline() as pipe:
        for ledger_id in ledger_ids:
            pipe.set(f"{RESENT_KEY}{ledger_id}", "1", nx=True, ex=ttl)
        claimed = pipe.execute()
    return [ledger_id for ledger_id, ok in zip(ledger_ids, claimed, strict=True) if ok]


def schedule_sweep() -> None:
    schedule_once(SWEEP_SLOT_KEY, billing_sweep, settings.BILLING_SWEEP_INTERVAL_SECONDS)
