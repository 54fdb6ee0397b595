"""The local Stripe server through the real stripe library: catalog, idempotency, meter
events, Checkout and the portal as a browser uses them, signed webhooks (duplicated, out of
order, retried), injected faults, and the upcoming-invoice preview."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import stripe

from stripe_plugin import WEBHOOK_SECRET, LocalStripe, WebhookReceiver, start_server, wait_for


@pytest.fixture(scope="module", autouse=True)
def webhooks_to_receiver(
    stripe_server: LocalStripe, stripe_webhooks: WebhookReceiver
) -> Iterator[None]:
    previous = stripe_server.state()["webhooks"]["url"]
    stripe_server.control(webhook_url=stripe_webhooks.url, fail=None)
    yield
    stripe_server.control(webhook_url=previous, fail=None)


@pytest.fixture
def client(stripe_server: LocalStripe) -> stripe.StripeClient:
    return stripe_server.client()


@dataclass
class Plan:
    meter: stripe.billing.Meter
    flat: stripe.Price
    metered: stripe.Price


@pytest.fixture(scope="module")
def plan(stripe_server: LocalStripe) -> Plan:
    client = stripe_server.client()
    suffix = uuid.uuid4().hex[:8]
    meter = client.v1.billing.meters.create(
        {
            "display_name": "Lattice usage",
            "event_name": f"lattice_usage_{suffix}",
            "default_aggregation": {"formula": "sum"},
            "customer_mapping": {"event_payload_key": "stripe_customer_id", "type": "by_id"},
            "value_settings": {"event_payload_key": "value"},
        }
    )
    flat = client.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": 2000,
            "lookup_key": f"pro_monthly_{suffix}",
            "product_data": {"name": "Lattice Pro"},
            "recurring": {"interval": "month"},
        }
    )
    metered = client.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": 1,
            "lookup_key": f"usage_{suffix}",
            "product_data": {"name": "Lattice usage"},
            "recurring": {"interval": "month", "usage_type": "metered", "meter": meter.id},
        }
    )
    return Plan(meter, flat, metered)


def subscribe(
    stripe_server: LocalStripe, client: stripe.StripeClient, plan: Plan, customer: str
) -> tuple[stripe.checkout.Session, stripe.Subscription]:
    session = client.v1.checkout.sessions.create(
        {
            "mode": "subscription",
            "customer": customer,
            "client_reference_id": "user-1",
            "line_items": [{"price": plan.flat.id, "quantity": 1}, {"price": plan.metered.id}],
            "success_url": "http://lattice.test/billing?session={CHECKOUT_SESSION_ID}",
            "cancel_url": "http://lattice.test/billing",
            "subscription_data": {"metadata": {"user_id": "user-1"}},
        }
    )
    assert stripe_server.pay(session.url or "").status_code == 303
    subscription = client.v1.subscriptions.list({"customer": customer}).data[0]
    return session, subscription


def new_customer(client: stripe.StripeClient) -> stripe.Customer:
    return client.v1.customers.create({"email": f"{uuid.uuid4().hex[:8]}@lattice.test"})


def test_catalog_objects_and_lookup_keys(client: stripe.StripeClient, plan: Plan) -> None:
    email = f"{uuid.uuid4().hex[:8]}@lattice.test"
    customer = client.v1.customers.create({"email": email, "metadata": {"user_id": "42"}})
    assert customer.id.startswith("cus_") and customer.livemode is False
    client.v1.customers.update(customer.id, {"name": "Ada", "metadata": {"plan": "pro"}})
    fetched = client.v1.customers.retrieve(customer.id)
    assert fetched.name == "Ada" and fetched.to_dict()["metadata"] == {
        "user_id": "42",
        "plan": "pro",
    }
    assert [c.id for c in client.v1.customers.list({"email": email}).data] == [customer.id]

    keys = [plan.flat.lookup_key or "", plan.metered.lookup_key or ""]
    prices = client.v1.prices.list({"lookup_keys": keys, "expand": ["data.product"]}).data
    assert {p.id for p in prices} == {plan.flat.id, plan.metered.id}
    assert {p.product.name for p in prices} == {"Lattice Pro", "Lattice usage"}  # type: ignore[union-attr]
    assert plan.metered.recurring and plan.metered.recurring.meter == plan.meter.id
    assert client.v1.billing.meters.retrieve(plan.meter.id).event_name == plan.meter.event_name
    assert plan.meter.id in {m.id for m in client.v1.billing.meters.list({"limit": 100}).data}

    with pytest.raises(stripe.InvalidRequestError) as taken:
        client.v1.prices.create(
            {
                "currency": "usd",
                "unit_amount": 5,
                "lookup_key": keys[0],
                "product": plan.flat.product,  # type: ignore[typeddict-item]
            }
        )
    assert taken.value.param == "lookup_key"
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.customers.retrieve("cus_missing")
    assert missing.value.code == "resource_missing" and missing.value.http_status == 404


def test_bad_key_is_an_authentication_error(stripe_server: LocalStripe) -> None:
    client = stripe.StripeClient(
        "sk_live_nope", base_addresses={"api": stripe_server.base_url}, max_network_retries=0
    )
    with pytest.raises(stripe.AuthenticationError):
        client.v1.customers.list()


def test_list_pagination(client: stripe.StripeClient) -> None:
    ids = {new_customer(client).id for _ in range(3)}
    first = client.v1.customers.list({"limit": 2})
    assert first.has_more and len(first.data) == 2
    rest = client.v1.customers.list({"limit": 100, "starting_after": first.data[-1].id})
    assert ids <= {c.id for c in [*first.data, *rest.data]}


def test_idempotency_replay_and_mismatch(
    stripe_server: LocalStripe, client: stripe.StripeClient
) -> None:
    key = uuid.uuid4().hex
    first = client.v1.customers.create({"email": "same@lattice.test"}, {"idempotency_key": key})
    again = client.v1.customers.create({"email": "same@lattice.test"}, {"idempotency_key": key})
    assert again.id == first.id
    raw = httpx.post(
        f"{stripe_server.base_url}/v1/customers",
        data={"email": "same@lattice.test"},
        headers={"Authorization": f"Bearer {stripe_server.secret_key}", "Idempotency-Key": key},
    )
    assert raw.headers["Idempotent-Replayed"] == "true" and raw.json()["id"] == first.id
    assert raw.headers["Request-Id"].startswith("req_")
    with pytest.raises(stripe.IdempotencyError):
        client.v1.customers.create({"email": "other@lattice.test"}, {"idempotency_key": key})


def test_meter_events_deduplicate_and_summaries_sum(
    stripe_server: LocalStripe, client: stripe.StripeClient, plan: Plan
) -> None:
    customer = new_customer(client)
    before = stripe_server.state()["meter_events"]
    identifiers = [f"run-{uuid.uuid4().hex}" for _ in range(2)]
    for identifier, value in zip(identifiers, ("25", "17"), strict=True):
        event = client.v1.billing.meter_events.create(
            {
                "event_name": plan.meter.event_name,
                "payload": {"stripe_customer_id": customer.id, "value": value},
                "identifier": identifier,
            }
        )
        assert event.identifier == identifier
    with pytest.raises(stripe.InvalidRequestError) as duplicate:
        client.v1.billing.meter_events.create(
            {
                "event_name": plan.meter.event_name,
                "payload": {"stripe_customer_id": customer.id, "value": "25"},
                "identifier": identifiers[0],
            }
        )
    assert "identifier" in str(duplicate.value) and duplicate.value.http_status == 400
    for bad in (
        {"event_name": "nope", "payload": {"stripe_customer_id": customer.id, "value": "1"}},
        {
            "event_name": plan.meter.event_name,
            "payload": {"stripe_customer_id": "cus_x", "value": "1"},
        },
        {
            "event_name": plan.meter.event_name,
            "payload": {"stripe_customer_id": customer.id, "value": "1.5"},
        },
    ):
        with pytest.raises(stripe.InvalidRequestError):
            client.v1.billing.meter_events.create(bad)  # type: ignore[arg-type]

    after = stripe_server.state()["meter_events"]
    assert after["accepted"] - before["accepted"] == 2
    assert after["deduplicated"] - before["deduplicated"] == 1
    recorded = [e for e in stripe_server.meter_events() if e["customer"] == customer.id]
    assert [e["value"] for e in recorded] == ["25", "17"]

    now = int(time.time())
    summaries = client.v1.billing.meters.event_summaries.list(
        plan.meter.id, {"customer": customer.id, "start_time": now - 3600, "end_time": now + 60}
    )
    assert [s.aggregated_value for s in summaries.data] == [42.0]
    start = now - now % 86400
    daily = client.v1.billing.meters.event_summaries.list(
        plan.meter.id,
        {
            "customer": customer.id,
            "start_time": start - 86400,
            "end_time": start + 86400,
            "value_grouping_window": "day",
        },
    )
    assert sorted(s.aggregated_value for s in daily.data) == [0.0, 42.0]


def test_checkout_subscribes_and_sends_signed_webhooks(
    stripe_server: LocalStripe,
    stripe_webhooks: WebhookReceiver,
    client: stripe.StripeClient,
    plan: Plan,
) -> None:
    customer = new_customer(client)
    session = client.v1.checkout.sessions.create(
        {
            "mode": "subscription",
            "customer": customer.id,
            "client_reference_id": "user-7",
            "line_items": [{"price": plan.flat.id, "quantity": 1}, {"price": plan.metered.id}],
            "success_url": "http://lattice.test/billing?session={CHECKOUT_SESSION_ID}",
            "cancel_url": "http://lattice.test/billing?canceled=1",
            "metadata": {"user_id": "user-7"},
            "subscription_data": {"metadata": {"user_id": "user-7"}},
        }
    )
    assert session.url == f"{stripe_server.base_url}/c/pay/{session.id}"
    page = httpx.get(session.url)
    assert page.status_code == 200
    for text in ("Pay", "Lattice Pro", "$20.00 / month", "per cent of usage", "canceled=1"):
        assert text in page.text

    paid = stripe_server.pay(session.url)
    assert paid.status_code == 303
    assert paid.headers["location"] == f"http://lattice.test/billing?session={session.id}"
    assert stripe_server.pay(session.url).status_code == 303  # twice: still one subscription

    done = client.v1.checkout.sessions.retrieve(session.id)
    assert done.status == "complete" and done.payment_status == "paid"
    subscriptions = client.v1.subscriptions.list({"customer": customer.id, "status": "all"}).data
    assert len(subscriptions) == 1
    subscription = subscriptions[0]
    assert subscription.id == done.subscription and subscription.status == "active"
    assert subscription.metadata.to_dict() == {"user_id": "user-7"}
    item = subscription["items"].data[0]
    assert item.current_period_end > item.current_period_start + 27 * 86400

    created = stripe_webhooks.wait(subscription.id, "customer.subscription.created")
    completed = stripe_webhooks.wait(session.id, "checkout.session.completed")
    invoice_paid = stripe_webhooks.wait(str(done.invoice), "invoice.paid")
    assert completed[0].data.object["client_reference_id"] == "user-7"
    assert completed[0].data.object["subscription"] == subscription.id
    assert invoice_paid[0].data.object["amount_paid"] == 2000
    assert created[0].created <= completed[0].created
    assert stripe_webhooks.rejected == 0
    assert client.v1.events.retrieve(completed[0].id).type == "checkout.session.completed"
    invoices = client.v1.invoices.list({"customer": customer.id}).data
    assert [i.status for i in invoices] == ["paid"]
    assert httpx.get(invoices[0].hosted_invoice_url or "").status_code == 200


def test_portal_cancel_plan(
    stripe_server: LocalStripe,
    stripe_webhooks: WebhookReceiver,
    client: stripe.StripeClient,
    plan: Plan,
) -> None:
    customer = new_customer(client)
    _, subscription = subscribe(stripe_server, client, plan, customer.id)
    portal = client.v1.billing_portal.sessions.create(
        {"customer": customer.id, "return_url": "http://lattice.test/account"}
    )
    assert portal.object == "billing_portal.session"
    page = httpx.get(portal.url)
    assert "Cancel plan" in page.text and "Return to Lattice" in page.text
    cancel = httpx.post(f"{portal.url}/cancel", data={"subscription": subscription.id})
    assert cancel.status_code == 303 and cancel.headers["location"].endswith(portal.id)
    assert client.v1.subscriptions.retrieve(subscription.id).status == "canceled"
    deleted = stripe_webhooks.wait(subscription.id, "customer.subscription.deleted")
    assert deleted[0].data.object["status"] == "canceled"
    assert client.v1.subscriptions.list({"customer": customer.id}).data == []
    assert "canceled" in httpx.get(portal.url).text


def test_subscription_updates_and_delete(
    stripe_server: LocalStripe,
    stripe_webhooks: WebhookReceiver,
    client: stripe.StripeClient,
    plan: Plan,
) -> None:
    customer = new_customer(client)
    _, subscription = subscribe(stripe_server, client, plan, customer.id)
    updated = client.v1.subscriptions.update(subscription.id, {"cancel_at_period_end": True})
    assert updated.cancel_at_period_end is True
    event = stripe_webhooks.wait(subscription.id, "customer.subscription.updated")[0]
    assert event.data.previous_attributes["cancel_at_period_end"] is False  # type: ignore[index]

    stripe_server.set_subscription_status(subscription.id, "past_due")
    failed = stripe_webhooks.wait(subscription.id, "customer.subscription.updated", 2)[-1]
    assert failed.data.previous_attributes["status"] == "active"  # type: ignore[index]
    wait_for(
        lambda: [
            e
            for e in stripe_webhooks.events
            if e.type == "invoice.payment_failed" and e.data.object["customer"] == customer.id
        ]
    )
    stripe_server.set_subscription_status(subscription.id, "active")
    stripe_webhooks.wait(subscription.id, "customer.subscription.updated", 3)

    canceled = client.v1.subscriptions.cancel(subscription.id)
    assert canceled.status == "canceled"
    stripe_webhooks.wait(subscription.id, "customer.subscription.deleted")
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.subscriptions.cancel(subscription.id)


def test_faults_surface_as_library_errors(
    stripe_server: LocalStripe, client: stripe.StripeClient
) -> None:
    try:
        stripe_server.fail(429, count=1, paths=["/v1/customers"])
        with pytest.raises(stripe.RateLimitError):
            client.v1.customers.list()
        client.v1.customers.list()  # the fault is used up

        stripe_server.fail(500, count=10, paths=["/v1/customers"])
        with pytest.raises(stripe.APIError):
            stripe_server.client(max_network_retries=1).v1.customers.create({})
        client.v1.products.list()  # other paths answer

        stripe_server.fail(500, count=1, paths=["/v1/customers"])
        before = stripe_server.state()["requests"].get("/v1/customers", 0)
        created = client.v1.customers.create({"email": "retried@lattice.test"})
        assert created.email == "retried@lattice.test"
        assert stripe_server.state()["requests"]["/v1/customers"] - before == 2

        stripe_server.fail(500, seconds=30)
        with pytest.raises(stripe.APIError):
            stripe_server.client(max_network_retries=0).v1.products.list()
    finally:
        stripe_server.clear_faults()


def test_duplicate_reversed_and_redelivered_webhooks(
    stripe_server: LocalStripe,
    stripe_webhooks: WebhookReceiver,
    client: stripe.StripeClient,
    plan: Plan,
) -> None:
    customer = new_customer(client)
    _, subscription = subscribe(stripe_server, client, plan, customer.id)
    stripe_webhooks.wait(subscription.id, "customer.subscription.created")
    try:
        stripe_server.control(duplicate_webhooks=True)
        client.v1.subscriptions.update(subscription.id, {"metadata": {"step": "1"}})
        twice = stripe_webhooks.wait(subscription.id, "customer.subscription.updated", 2)
        assert twice[0].id == twice[1].id
    finally:
        stripe_server.control(duplicate_webhooks=False)

    try:
        stripe_server.control(hold_webhooks=True, reverse_webhooks=True)
        for step in ("2", "3", "4"):
            client.v1.subscriptions.update(subscription.id, {"metadata": {"step": step}})
        assert len(stripe_server.state()["webhooks"]["held"]) == 3
        stripe_server.control(release_webhooks=True)
        updates = stripe_webhooks.wait(subscription.id, "customer.subscription.updated", 5)
        assert [e.data.object["metadata"]["step"] for e in updates[2:]] == ["4", "3", "2"]
    finally:
        stripe_server.control(hold_webhooks=False, reverse_webhooks=False)

    stripe_server.redeliver(updates[-1].id)
    wait_for(lambda: [e for e in stripe_webhooks.of(subscription.id) if e.id == updates[-1].id][1:])


def test_failed_delivery_is_retried(
    stripe_server: LocalStripe,
    stripe_webhooks: WebhookReceiver,
    client: stripe.StripeClient,
    plan: Plan,
) -> None:
    customer = new_customer(client)
    _, subscription = subscribe(stripe_server, client, plan, customer.id)
    stripe_webhooks.wait(str(subscription.latest_invoice), "invoice.paid")  # the last one
    stripe_server.control(webhook_retry={"initial_seconds": 0.05, "total_seconds": 10})
    try:
        stripe_webhooks.fail_next(2)
        client.v1.subscriptions.update(subscription.id, {"metadata": {"retry": "yes"}})
        event = stripe_webhooks.wait(subscription.id, "customer.subscription.updated")[0]
        delivery = wait_for(
            lambda: [d for d in stripe_server.deliveries(event.id) if d["delivered"]]
        )
        assert delivery[0]["attempts"] == 3
        assert [o.get("status") for o in delivery[0]["outcomes"]] == [500, 500, 200]
    finally:
        stripe_webhooks.fail_next(0)
        stripe_server.control(webhook_retry={"initial_seconds": 0.5, "total_seconds": 60})


def test_create_preview_is_flat_plus_usage(
    stripe_server: LocalStripe, client: stripe.StripeClient, plan: Plan
) -> None:
    customer = new_customer(client)
    _, subscription = subscribe(stripe_server, client, plan, customer.id)
    for value in ("300", "45"):
        client.v1.billing.meter_events.create(
            {
                "event_name": plan.meter.event_name,
                "payload": {"stripe_customer_id": customer.id, "value": value},
                "identifier": uuid.uuid4().hex,
            }
        )
    preview = client.v1.invoices.create_preview(
        {"customer": customer.id, "subscription": subscription.id}
    )
    assert preview.object == "invoice"
    assert preview.amount_due == preview.total == 2000 + 345
    assert sorted(line.amount for line in preview.lines.data) == [345, 2000]
    assert preview.period_start == subscription["items"].data[0].current_period_start


@contextlib.contextmanager
def running_server(state: Path) -> Iterator[LocalStripe]:
    with start_server(WEBHOOK_SECRET, "--state-file", str(state)) as server:
        yield server


def test_state_file_survives_a_restart(tmp_path: Path) -> None:
    """What `make dev` relies on: customers and subscriptions outlive the process."""
    state = tmp_path / "stripe.json"
    with running_server(state) as server:
        client = server.client()
        customer = client.v1.customers.create({"email": "kept@lattice.test"})
    assert state.is_file()
    with running_server(state) as server:
        assert server.client().v1.customers.retrieve(customer.id).email == "kept@lattice.test"
