"""Billing end to end: the real app and worker, the local fal server, and the local Stripe
server reached through the real `stripe` library. Upgrading through Checkout, webhooks that
repeat, arrive out of order or are forged, usage reported exactly once under faults, and
the money rules of the ledger."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest
import stripe

import fal_local
from conftest import LiveServer, Worker
from services.billing.ledger import current_period
from services.billing.reconcile import reconcile
from services.billing.stripe_gateway import StripeGateway
from stripe_plugin import LocalStripe
from support import (
    CREATE,
    RUN,
    RUN_STATE,
    User,
    credits,
    error_codes,
    flux_node,
    problems,
    sign_in,
    wait_for_node,
    wait_for_run,
)

pytestmark = pytest.mark.usefixtures("worker")

BILLING = """
{ viewer { role spendingCapCents billing { plan subscriptionStatus graceEndsAt spendingCapCents
  defaultSpendingCapCents maxSpendingCapCents usageByDay { day cents }
  usageByModel { modelId modelName cents nodeRuns } } } }
"""
CHECKOUT = "mutation { startCheckout { url } }"
PORTAL = "mutation { openBillingPortal { url } }"
FLUX_CENTS = 3


@pytest.fixture(autouse=True)
async def clean_stripe(stripe_server: LocalStripe, fal_server: object) -> AsyncIterator[None]:
    await fal_local.reset()
    await fal_local.control(latency_ms=20)
    yield
    stripe_server.control(
        fail=None, duplicate_webhooks=False, reverse_webhooks=False, release_webhooks=True
    )


async def role(user: User) -> str:
    return str((await user.data("{ viewer { role } }"))["viewer"]["role"])


async def wait_role(user: User, wanted: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while (current := await role(user)) != wanted:
        assert time.monotonic() < deadline, f"role still {current}, wanted {wanted}"
        await asyncio.sleep(0.05)


async def upgrade(user: User, stripe_server: LocalStripe) -> str:
    """Checkout as a person does it: open the session URL, press Pay, come back."""
    url = (await user.data(CHECKOUT))["startCheckout"]["url"]
    page = stripe_server.http.get(url)
    assert page.status_code == 200 and "Pay" in page.text
    paid = stripe_server.pay(url)
    assert paid.status_code == 303
    assert paid.headers["location"].startswith(f"{user.client.base_url}/billing?checkout=success")
    await wait_role(user, "PRO")
    return url


async def profile(live: LiveServer, user: User) -> asyncpg.Record:
    async with live.runtime.db.as_service() as conn:
        row = await conn.fetchrow("select * from public.profiles where id = $1", uuid.UUID(user.id))
    assert row is not None
    return row


async def audit(live: LiveServer, user: User, action: str) -> list[dict[str, Any]]:
    async with live.runtime.db.as_service() as conn:
        rows = await conn.fetch(
            "select details from public.audit_log where target = $1 and action = $2 order by id",
            user.id,
            action,
        )
    return [dict(r["details"]) for r in rows]


async def run_flux(user: User, prompt: str = "a lighthouse") -> dict[str, Any]:
    created = await user.data(
        CREATE,
        input={
            "name": "billing",
            "nodes": [flux_node(prompt=f"{prompt} {uuid.uuid4()}")],
            "edges": [],
        },
    )
    started = await user.data(RUN, id=created["createWorkflow"]["id"], key=uuid.uuid4().hex)
    return await wait_for_run(user, started["runWorkflow"]["id"])


async def wait_reported(live: LiveServer, user: User, timeout: float = 90) -> list[asyncpg.Record]:
    """The user's Stripe charges once every one is marked reported."""
    deadline = time.monotonic() + timeout
    while True:
        async with live.runtime.db.as_service() as conn:
            rows = await conn.fetch(
                "select * from public.credit_ledger where user_id = $1 and entry = 'CHARGE'"
                " and payer = 'STRIPE'",
                uuid.UUID(user.id),
            )
        if rows and all(r["reported_at"] is not None for r in rows):
            return list(rows)
        assert time.monotonic() < deadline, f"unreported charges: {rows}"
        await asyncio.sleep(0.1)


def meter_events_of(stripe_server: LocalStripe, customer: str) -> list[dict[str, Any]]:
    return [e for e in stripe_server.meter_events() if e["customer"] == customer]


async def assert_reconciled(live: LiveServer, user: User) -> None:
    rows = await reconcile(live.runtime.db, StripeGateway(live.settings), current_period())
    mine = [r for r in rows if str(r.user_id) == user.id]
    assert mine and mine[0].difference == 0, mine
    assert mine[0].charged_cents == mine[0].stripe_cents == mine[0].marked_reported_cents


# -- upgrading and managing the plan ----------------------------------------------------


async def test_checkout_makes_a_free_user_pro_through_the_webhook(
    live: LiveServer, alice: User, stripe_server: LocalStripe
) -> None:
    assert await role(alice) == "FREE"
    await upgrade(alice, stripe_server)
    found = await profile(live, alice)
    assert found["stripe_customer_id"].startswith("cus_")
    assert found["subscription_status"] == "active"
    customer = stripe_server.client().v1.customers.retrieve(found["stripe_customer_id"])
    assert customer.metadata["user_id"] == alice.id
    billing = (await alice.data(BILLING))["viewer"]["billing"]
    assert billing["plan"] == "PRO" and billing["subscriptionStatus"] == "ACTIVE"
    # Pro starts with the platform's default cap.
    assert billing["spendingCapCents"] == live.settings.PRO_DEFAULT_SPENDING_CAP_CENTS
    assert [d["to"] for d in await audit(live, alice, "role.changed")] == ["PRO"]


async def test_checkout_reuses_the_customer_and_a_pro_user_cannot_subscribe_twice(
    live: LiveServer, bob: User, stripe_server: LocalStripe
) -> None:
    first = (await bob.data(CHECKOUT))["startCheckout"]["url"]
    second = (await bob.data(CHECKOUT))["startCheckout"]["url"]
    assert first != second
    mine = [c for c in stripe_server.state()["customers"] if c["metadata"].get("user_id") == bob.id]
    assert len(mine) == 1
    stripe_server.pay(second)
    await wait_role(bob, "PRO")
    again = await bob.gql(CHECKOUT)
    assert error_codes(again) == ["VALIDATION_ERROR"]
    assert problems(again)[0]["reason"] == "ALREADY_SUBSCRIBED"
    subs = [
        s for s in stripe_server.state()["subscriptions"] if s["metadata"].get("user_id") == bob.id
    ]
    assert len(subs) == 1


async def test_cancelling_in_the_portal_returns_the_user_to_free(
    live: LiveServer, client: httpx.AsyncClient, stripe_server: LocalStripe
) -> None:
    carol = await sign_in(client)
    await upgrade(carol, stripe_server)
    portal = (await carol.data(PORTAL))["openBillingPortal"]["url"]
    page = stripe_server.http.get(portal)
    assert page.status_code == 200 and "Cancel plan" in page.text
    subscription = (await profile(live, carol))["stripe_subscription_id"]
    stripe_server.http.post(f"{portal}/cancel", data={"subscription": subscription})
    await wait_role(carol, "FREE")
    assert (await profile(live, carol))["subscription_status"] == "canceled"
    assert [d["to"] for d in await audit(live, carol, "role.changed")] == ["PRO", "FREE"]


async def test_past_due_keeps_pro_through_the_grace_period_then_returns_to_free(
    live: LiveServer, client: httpx.AsyncClient, stripe_server: LocalStripe
) -> None:
    dave = await sign_in(client)
    await upgrade(dave, stripe_server)
    sub = (await profile(live, dave))["stripe_subscription_id"]
    stripe_server.set_subscription_status(sub, "past_due")
    deadline = time.monotonic() + 20
    while (await profile(live, dave))["subscription_status"] != "past_due":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    billing = (await dave.data(BILLING))["viewer"]["billing"]
    assert billing["plan"] == "PRO" and billing["subscriptionStatus"] == "PAST_DUE"
    assert billing["graceEndsAt"] is not None
    # The grace period passes (the payment never recovered): the sweep returns them to Free.
    async with live.runtime.db.as_service() as conn:
        await conn.execute(
            "update public.profiles set past_due_since = now() - interval '30 days' where id = $1",
            uuid.UUID(dave.id),
        )
    await wait_role(dave, "FREE")
    assert (await audit(live, dave, "role.changed"))[-1]["reason"] == "past_due grace period ended"


async def test_billing_is_not_available_to_guests(client: httpx.AsyncClient) -> None:
    token = (await client.post("/auth/dev/sign-in", json={"anonymous": True})).json()
    guest = User(client=client, token=token["access_token"], email="", id="")
    result = await guest.gql(CHECKOUT)
    assert error_codes(result) == ["UPGRADE_REQUIRED"]


# -- webhooks ---------------------------------------------------------------------------


def _signature(payload: bytes, secret: str, timestamp: int) -> str:
    return str(
        stripe.WebhookSignature.generate_signature_header(
            payload.decode(), secret, timestamp=timestamp
        )
    )


def deliveries_since(stripe_server: LocalStripe, before: set[str]) -> list[dict[str, Any]]:
    return [d for d in stripe_server.state()["deliveries"] if d["event_id"] not in before]


def delivered_ids(stripe_server: LocalStripe) -> set[str]:
    return {d["event_id"] for d in stripe_server.state()["deliveries"]}


async def test_forged_unsigned_and_stale_webhooks_are_refused_and_change_nothing(
    live: LiveServer, client: httpx.AsyncClient, alice: User
) -> None:
    found = await profile(live, alice)
    event = {
        "id": f"evt_forged_{uuid.uuid4().hex}",
        "object": "event",
        "type": "customer.subscription.updated",
        "data": {"object": {"id": "sub_forged", "customer": found["stripe_customer_id"]}},
    }
    body = json.dumps(event).encode()
    secret = live.settings.STRIPE_WEBHOOK_SECRET
    assert secret is not None
    now = int(time.time())
    attempts = {
        "unsigned": {},
        "wrong secret": {"stripe-signature": _signature(body, "whsec_wrong", now)},
        "stale": {"stripe-signature": _signature(body, secret.get_secret_value(), now - 600)},
        "tampered": {
            "stripe-signature": _signature(
                body.replace(b"sub_forged", b"sub_other"), secret.get_secret_value(), now
            )
        },
    }
    for name, headers in attempts.items():
        response = await client.post("/webhooks/stripe", content=body, headers=headers)
        assert response.status_code == 400, name
        assert "stale" not in response.text and "secret" not in response.text
    async with live.runtime.db.as_service() as conn:
        recorded = await conn.fetchval(
            "select count(*) from public.webhook_events where event_id = $1", event["id"]
        )
    assert recorded == 0
    assert await profile(live, alice) == found


async def test_repeated_events_change_nothing_twice(
    live: LiveServer, client: httpx.AsyncClient, stripe_server: LocalStripe
) -> None:
    erin = await sign_in(client)
    before = delivered_ids(stripe_server)
    stripe_server.control(duplicate_webhooks=True)
    await upgrade(erin, stripe_server)
    # Every event reached the app twice...
    deadline = time.monotonic() + 20
    while True:
        mine = [d for d in deliveries_since(stripe_server, before) if d["delivered"]]
        ids = [d["event_id"] for d in mine]
        if len(ids) >= 6 and all(ids.count(i) == 2 for i in ids):
            break
        assert time.monotonic() < deadline, mine
        await asyncio.sleep(0.1)
    # ...and was recorded once, with one role change.
    async with live.runtime.db.as_service() as conn:
        counts = await conn.fetch(
            "select event_id, count(*) from public.webhook_events group by event_id having count(*) > 1"
        )
    assert counts == []
    assert [d["to"] for d in await audit(live, erin, "role.changed")] == ["PRO"]


async def test_events_out_of_order_end_in_the_subscriptions_current_state(
    live: LiveServer, client: httpx.AsyncClient, stripe_server: LocalStripe
) -> None:
    frank = await sign_in(client)
    before = delivered_ids(stripe_server)
    stripe_server.control(hold_webhooks=True, reverse_webhooks=True)
    url = (await frank.data(CHECKOUT))["startCheckout"]["url"]
    stripe_server.pay(url)
    sub = next(
        s
        for s in stripe_server.state()["subscriptions"]
        if s["metadata"].get("user_id") == frank.id
    )
    stripe_server.client().v1.subscriptions.cancel(sub["id"])
    # deleted arrives first, then updated/paid/completed/created of the subscription's past.
    stripe_server.control(release_webhooks=True)
    deadline = time.monotonic() + 20
    while True:
        mine = deliveries_since(stripe_server, before)
        if len(mine) >= 4 and all(d["delivered"] for d in mine):
            break
        assert time.monotonic() < deadline, mine
        await asyncio.sleep(0.1)
    assert await role(frank) == "FREE"
    assert (await profile(live, frank))["subscription_status"] == "canceled"


# -- usage reported to Stripe exactly once ---------------------------------------------


async def test_every_pro_charge_is_reported_once_as_a_meter_event(
    live: LiveServer, client: httpx.AsyncClient, stripe_server: LocalStripe
) -> None:
    gina = await sign_in(client)
    await upgrade(gina, stripe_server)
    for _ in range(2):
        assert (await run_flux(gina))["status"] == "SUCCEEDED"
    charges = await wait_reported(live, gina)
    customer = (await profile(live, gina))["stripe_customer_id"]
    events = meter_events_of(stripe_server, customer)
    assert sorted(e["identifier"] for e in events) == sorted(c["idempotency_key"] for c in charges)
    assert all(int(e["value"]) == FLUX_CENTS for e in events)
    await assert_reconciled(live, gina)
    billing = (await gina.data(BILLING))["viewer"]["billing"]
    assert billing["usageByModel"] == [
        {
            "modelId": "fal-ai/flux/dev",
            "modelName": billing["usageByModel"][0]["modelName"],
            "cents": 2 * FLUX_CENTS,
            "nodeRuns": 2,
        }
    ]
    assert sum(d["cents"] for d in billing["usageByDay"]) == 2 * FLUX_CENTS


async def test_stripe_answering_429_then_500_for_a_minute_loses_and_doubles_nothing(
    live: LiveServer, client: httpx.AsyncClient, stripe_server: LocalStripe
) -> None:
    hank = await sign_in(client)
    await upgrade(hank, stripe_server)
    paths = ["/v1/billing/meter_events"]
    customer = (await profile(live, hank))["stripe_customer_id"]
    outage_ends = time.monotonic() + 30
    stripe_server.fail(429, seconds=30, paths=paths)
    for _ in range(3):
        assert (await run_flux(hank))["status"] == "SUCCEEDED"
    for status in (429, 500):
        # Stripe refuses everything meanwhile; reports keep retrying.
        while time.monotonic() < outage_ends - 0.5:
            assert meter_events_of(stripe_server, customer) == []
            await asyncio.sleep(0.5)
        if status == 429:
            outage_ends = time.monotonic() + 30
            stripe_server.fail(500, seconds=30, paths=paths)
    charges = await wait_reported(live, hank, timeout=120)
    events = meter_events_of(stripe_server, customer)
    assert len(events) == len(charges) == 3
    await assert_reconciled(live, hank)


async def test_a_reporter_killed_mid_batch_and_a_repeated_report_leave_no_difference(
    live: LiveServer, client: httpx.AsyncClient, stripe_server: LocalStripe, worker: Worker
) -> None:
    """Reports are mid-retry when the worker dies with no chance to clean up."""
    ivy = await sign_in(client)
    await upgrade(ivy, stripe_server)
    stripe_server.fail(500, seconds=3, paths=["/v1/billing/meter_events"])
    for _ in range(4):
        assert (await run_flux(ivy))["status"] == "SUCCEEDED"
    worker.kill()
    worker.start()
    await worker.ready()
    charges = await wait_reported(live, ivy)
    customer = (await profile(live, ivy))["stripe_customer_id"]
    assert len(meter_events_of(stripe_server, customer)) == len(charges) == 4
    # The same usage sent again (a report whose acknowledgement was lost): Stripe refuses
    # the repeated identifier and the charge is reported, not doubled.
    async with live.runtime.db.as_service() as conn:
        await conn.execute(
            "update public.credit_ledger set reported_at = null where id = $1", charges[0]["id"]
        )
    await wait_reported(live, ivy)
    assert len(meter_events_of(stripe_server, customer)) == 4
    await assert_reconciled(live, ivy)


async def test_free_and_comped_pro_usage_is_never_sent_to_stripe(
    live: LiveServer, alice: User, pro: User
) -> None:
    for user in (alice, pro):
        assert (await run_flux(user))["status"] == "SUCCEEDED"
    async with live.runtime.db.as_service() as conn:
        payers = await conn.fetch(
            "select user_id, payer from public.credit_ledger where entry = 'CHARGE'"
            " and user_id = any($1)",
            [uuid.UUID(alice.id), uuid.UUID(pro.id)],
        )
    assert {(str(r["user_id"]), r["payer"]) for r in payers} == {
        (alice.id, "ALLOWANCE"),
        (pro.id, "PLATFORM"),  # Pro without a subscription (granted): the platform pays
    }


# -- the ledger's money rules -----------------------------------------------------------


async def test_twenty_parallel_runs_never_fail_internally_or_pass_the_allowance(
    live: LiveServer, alice: User
) -> None:
    created = await alice.data(
        CREATE, input={"name": "many", "nodes": [flux_node(prompt="many")], "edges": []}
    )
    workflow = created["createWorkflow"]["id"]
    results = await asyncio.gather(
        *(alice.gql(RUN, id=workflow, key=uuid.uuid4().hex) for _ in range(20))
    )
    codes = [error_codes(r) for r in results]
    assert all(c in ([], ["INSUFFICIENT_CREDITS"], ["RATE_LIMITED"]) for c in codes), codes
    started = sum(1 for c in codes if c == [])
    allowance = live.settings.FREE_MONTHLY_CREDITS_CENTS
    assert 0 < started <= allowance // FLUX_CENTS
    balance = await credits(alice)
    assert balance["periodUsageCents"] + balance["reservedCents"] <= allowance


async def test_cancel_charges_a_started_node_and_frees_a_queued_one(
    live: LiveServer, client: httpx.AsyncClient
) -> None:
    """fal bills what it started; a request that never left fal's queue costs nothing."""
    judy = await sign_in(client, role="ADMIN")
    # One request starts and runs on; the other never leaves fal's queue. (A model no other
    # test uses, so nothing else takes these faults.)
    lora = "fal-ai/flux-lora"
    await fal_local.control(
        faults=[
            {"on": "status", "status": "hang", "times": 1, "model": lora},
            {"on": "queue", "status": "hang", "times": 1, "model": lora},
        ]
    )
    runs, estimate = [], 0
    for name in ("first", "second"):
        node = {**flux_node(prompt=f"{name} {uuid.uuid4()}"), "modelId": lora}
        created = await judy.data(CREATE, input={"name": name, "nodes": [node], "edges": []})
        started = await judy.data(RUN, id=created["createWorkflow"]["id"], key=uuid.uuid4().hex)
        runs.append(started["runWorkflow"]["id"])
        estimate = started["runWorkflow"]["estimatedCostCents"]
    # Both are on fal: one RUNNING, the other waiting in its queue.
    deadline = time.monotonic() + 20
    while True:
        async with live.runtime.db.as_service() as conn:
            nodes = await conn.fetch(
                "select run_id::text, status, fal_request_id from public.node_runs"
                " where run_id = any($1::uuid[])",
                runs,
            )
        if all(n["fal_request_id"] for n in nodes) and {n["status"] for n in nodes} == {
            "RUNNING",
            "QUEUED",
        }:
            break
        assert time.monotonic() < deadline, nodes
        await asyncio.sleep(0.02)
    runs.sort(
        key=lambda run_id: next(n["status"] for n in nodes if n["run_id"] == run_id) != "RUNNING"
    )
    for run_id in runs:
        await judy.data("mutation($id: ID!) { cancelRun(id: $id) { status } }", id=run_id)
    finished = [
        await wait_for_node(judy, run_id, "a", ("CANCELLED",), timeout=20) for run_id in runs
    ]
    finished = [await wait_for_run(judy, run_id) for run_id in runs]
    assert [r["costCents"] for r in finished] == [estimate, 0] and estimate > 0
    async with live.runtime.db.as_service() as conn:
        entries = await conn.fetch(
            "select entry, amount_cents, payer from public.credit_ledger where run_id = any($1::uuid[])"
            " order by id",
            runs,
        )
    charges = [(e["entry"], e["amount_cents"]) for e in entries if e["entry"] == "CHARGE"]
    assert charges == [("CHARGE", estimate)]
    assert {e["payer"] for e in entries} == {"PLATFORM"}  # admins are charged to the platform
    assert (await credits(judy))["reservedCents"] == 0


async def test_a_node_reserved_in_one_month_is_charged_to_that_month(
    live: LiveServer, pro: User
) -> None:
    await fal_local.control(latency_ms=60, steps=4)
    created = await pro.data(
        CREATE,
        input={
            "name": "midnight",
            "nodes": [flux_node(prompt=f"[slow] {uuid.uuid4()}")],
            "edges": [],
        },
    )
    run_id = (await pro.data(RUN, id=created["createWorkflow"]["id"], key=uuid.uuid4().hex))[
        "runWorkflow"
    ]["id"]
    await wait_for_node(pro, run_id, "a", ("RUNNING",))
    last_month = (current_period() - timedelta(days=1)).replace(day=1)
    # Time passes: the month the run was reserved in ends while fal works on it.
    async with live.runtime.db.as_service() as conn:
        await conn.execute(
            "set local session_replication_role = replica"
        )  # the ledger is append-only
        await conn.execute(
            "update public.credit_ledger set period = $2 where run_id = $1",
            uuid.UUID(run_id),
            last_month,
        )
    assert (await wait_for_run(pro, run_id))["status"] == "SUCCEEDED"
    async with live.runtime.db.as_service() as conn:
        periods = await conn.fetch(
            "select entry, period from public.credit_ledger where run_id = $1", uuid.UUID(run_id)
        )
    assert {(p["entry"], p["period"]) for p in periods} == {
        ("RESERVE", last_month),
        ("RELEASE", last_month),
        ("CHARGE", last_month),
    }


async def test_pro_spending_cap_defaults_and_is_bounded_by_the_platform_maximum(
    live: LiveServer, pro: User
) -> None:
    settings = live.settings
    billing = (await pro.data(BILLING))["viewer"]["billing"]
    assert billing["spendingCapCents"] == settings.PRO_DEFAULT_SPENDING_CAP_CENTS
    assert billing["maxSpendingCapCents"] == settings.PRO_MAX_SPENDING_CAP_CENTS
    set_cap = "mutation($c: Int) { setSpendingCap(cents: $c) { spendingCapCents } }"
    too_high = await pro.gql(set_cap, c=settings.PRO_MAX_SPENDING_CAP_CENTS + 1)
    assert problems(too_high)[0]["reason"] == "CAP_TOO_HIGH"
    await pro.data(set_cap, c=settings.PRO_MAX_SPENDING_CAP_CENTS)
    # Writing the cap directly (as Supabase's REST API would) is refused.
    async with live.runtime.db.as_user({"sub": pro.id, "role": "authenticated"}) as conn:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(
                "update public.profiles set spending_cap_cents = 99999999 where id = $1",
                uuid.UUID(pro.id),
            )
    # Only an admin lifts a user above the platform's maximum.
    async with live.runtime.db.as_service() as conn:
        await conn.execute(
            "update public.profiles set spending_cap_limit_cents = $2 where id = $1",
            uuid.UUID(pro.id),
            settings.PRO_MAX_SPENDING_CAP_CENTS * 2,
        )
    lifted = await pro.data(set_cap, c=settings.PRO_MAX_SPENDING_CAP_CENTS * 2)
    assert lifted["setSpendingCap"]["spendingCapCents"] == settings.PRO_MAX_SPENDING_CAP_CENTS * 2
    # A cap below what a run costs refuses the run.
    await pro.data(set_cap, c=0)
    result = await pro.gql(
        RUN,
        id=(await pro.data(CREATE, input={"name": "c", "nodes": [flux_node()], "edges": []}))[
            "createWorkflow"
        ]["id"],
        key=uuid.uuid4().hex,
    )
    assert error_codes(result) == ["SPENDING_CAP_REACHED"]
    await pro.data(set_cap, c=None)


async def test_the_platform_daily_limit_stops_new_runs_including_admins(
    live: LiveServer, client: httpx.AsyncClient
) -> None:
    admin = await sign_in(client, role="ADMIN")
    created = await admin.data(CREATE, input={"name": "limit", "nodes": [flux_node()], "edges": []})
    limit = live.settings.PLATFORM_DAILY_SPEND_LIMIT_CENTS
    today = "(now() at time zone 'utc')::date"
    async with live.runtime.db.as_service() as conn:
        spent = await conn.fetchval(f"select public.platform_spend_on({today})")
        # Today's spend stands just under the limit (on one of the day's rows).
        await conn.execute(
            f"""
            insert into public.platform_daily_spend as s (day, shard, cents) values ({today}, 0, $1)
            on conflict (day, shard) do update set cents = s.cents + excluded.cents
            """,
            limit - 1 - spent,
        )
    try:
        result = await admin.gql(RUN, id=created["createWorkflow"]["id"], key=uuid.uuid4().hex)
        assert error_codes(result) == ["UNAVAILABLE"]
        assert "limit" in result["errors"][0]["message"]
    finally:
        async with live.runtime.db.as_service() as conn:
            await conn.execute(
                f"update public.platform_daily_spend set cents = cents - $1 where day = {today} and shard = 0",
                limit - 1 - spent,
            )
    ok = await admin.gql(RUN, id=created["createWorkflow"]["id"], key=uuid.uuid4().hex)
    assert error_codes(ok) == []


async def test_run_starts_of_different_users_do_not_queue_behind_one_platform_row(
    live: LiveServer, client: httpx.AsyncClient
) -> None:
    """Every reservation counts toward the platform's daily spend; one user's open
    transaction must not hold up another user's run start (it did: one row per day)."""
    first = await sign_in(client, role="PRO")
    async with live.runtime.db.as_service() as conn:
        shard_of = "select abs(hashtext($1::text)) % 16"
        first_shard = await conn.fetchval(shard_of, first.id)
        second = await sign_in(client, role="PRO")
        while await conn.fetchval(shard_of, second.id) == first_shard:
            second = await sign_in(client, role="PRO")
    created = await second.data(CREATE, input={"name": "p", "nodes": [flux_node()], "edges": []})
    blocker = await asyncpg.connect(str(live.settings.DATABASE_URL))
    try:
        # The first user's spending sits uncommitted, as in a run start or settlement.
        transaction = blocker.transaction()
        await transaction.start()
        await blocker.execute(
            """
            insert into public.credit_ledger (user_id, entry, amount_cents, period, idempotency_key, payer)
            values ($1, 'RESERVE', 5, $2, $3, 'PLATFORM')
            """,
            uuid.UUID(first.id),
            current_period(),
            f"test-hold:{uuid.uuid4()}",
        )
        started = await asyncio.wait_for(
            second.gql(RUN, id=created["createWorkflow"]["id"], key=uuid.uuid4().hex), 20
        )
        assert error_codes(started) == []
        await transaction.rollback()
    finally:
        await blocker.close()


async def test_guests_get_no_free_credits_and_must_sign_up_to_run(
    client: httpx.AsyncClient,
) -> None:
    token = (await client.post("/auth/dev/sign-in", json={"anonymous": True})).json()
    guest = User(client=client, token=token["access_token"], email="", id="")
    me = await guest.data("{ viewer { role freeAllowanceCents credits { freeRemaining } } }")
    assert me["viewer"]["freeAllowanceCents"] == 0
    assert me["viewer"]["credits"]["freeRemaining"] == 0
    created = await guest.data(CREATE, input={"name": "g", "nodes": [flux_node()], "edges": []})
    result = await guest.gql(RUN, id=created["createWorkflow"]["id"], key=uuid.uuid4().hex)
    assert error_codes(result) == ["UPGRADE_REQUIRED"]
    state = await guest.gql(RUN_STATE, id=str(uuid.uuid4()))
    assert state["data"]["run"] is None
