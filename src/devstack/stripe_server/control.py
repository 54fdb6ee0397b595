"""The control API under `/_control` (JSON, no auth): what tests and demos use to look inside
the server and to make Stripe misbehave on purpose. Shapes are documented in the package
docstring (`devstack/stripe_server/__init__.py`)."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from devstack.stripe_server.errors import StripeError
from devstack.stripe_server.faults import Fault
from devstack.stripe_server.server import StripeServer


def snapshot(server: StripeServer) -> dict[str, Any]:
    store = server.store
    return {
        "requests": dict(server.requests),
        "meter_events": {
            "accepted": server.catalog.accepted,
            "deduplicated": server.catalog.deduplicated,
        },
        "faults": [fault.snapshot() for fault in server.faults],
        "webhooks": server.webhooks.snapshot(),
        "deliveries": [d.snapshot() for d in server.webhooks.deliveries],
        "customers": [
            {"id": c["id"], "email": c["email"], "metadata": c["metadata"]}
            for c in store.all("customer")
        ],
        "subscriptions": [
            {
                "id": s["id"],
                "customer": s["customer"],
                "status": s["status"],
                "cancel_at_period_end": s["cancel_at_period_end"],
                "prices": [i["price"]["id"] for i in s["items"]["data"]],
                "metadata": s["metadata"],
            }
            for s in store.all("subscription")
        ],
    }


def configure(server: StripeServer, body: dict[str, Any]) -> None:
    webhooks = server.webhooks
    if body.get("reset"):
        server.reset()
    if "webhook_url" in body:
        webhooks.url = body["webhook_url"] or None
    if "webhook_retry" in body:
        retry = body["webhook_retry"]
        webhooks.retry_initial = float(retry.get("initial_seconds", webhooks.retry_initial))
        webhooks.retry_total = float(retry.get("total_seconds", webhooks.retry_total))
    if "fail" in body:
        specs = body["fail"]
        specs = [] if specs is None else specs if isinstance(specs, list) else [specs]
        server.faults = [Fault.parse(spec) for spec in specs]
    for name, attribute in (
        ("duplicate_webhooks", "duplicate"),
        ("hold_webhooks", "hold"),
        ("reverse_webhooks", "reverse"),
    ):
        if name in body:
            setattr(webhooks, attribute, bool(body[name]))
    if body.get("release_webhooks"):
        webhooks.hold = False
        webhooks.release()


def routes(server: StripeServer) -> list[Route]:
    def failed(error: StripeError) -> JSONResponse:
        return JSONResponse({"error": error.message}, error.status)

    async def get(request: Request) -> Response:
        return JSONResponse(snapshot(server))

    async def post(request: Request) -> Response:
        try:
            body = json.loads(await request.body() or b"{}")
            configure(server, body)
        except (ValueError, TypeError, AttributeError) as error:
            return JSONResponse({"error": str(error)}, 400)
        except StripeError as error:
            return failed(error)
        return JSONResponse(snapshot(server))

    async def subscription_status(request: Request) -> Response:
        body = json.loads(await request.body() or b"{}")
        try:
            subscription = server.billing.set_status(
                request.path_params["id"], str(body.get("status"))
            )
        except StripeError as error:
            return failed(error)
        server.store.save()
        return JSONResponse(subscription)

    async def redeliver(request: Request) -> Response:
        event = server.store.objects["event"].get(request.path_params["id"])
        if event is None:
            return JSONResponse({"error": "no such event"}, 404)
        server.webhooks.send(event)
        return JSONResponse({"event_id": event["id"], "queued": True})

    async def meter_events(request: Request) -> Response:
        return JSONResponse(
            [
                {
                    "identifier": e["identifier"],
                    "event_name": e["event_name"],
                    "customer": e["payload"].get("stripe_customer_id"),
                    "value": e["payload"].get("value"),
                    "timestamp": e["timestamp"],
                }
                for e in server.store.meter_events
            ]
        )

    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True})

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/_control", get, methods=["GET"]),
        Route("/_control", post, methods=["POST"]),
        Route("/_control/subscriptions/{id}", subscription_status, methods=["POST"]),
        Route("/_control/redeliver/{id}", redeliver, methods=["POST"]),
        Route("/_control/meter_events", meter_events, methods=["GET"]),
    ]
