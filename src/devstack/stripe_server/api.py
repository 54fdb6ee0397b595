"""The REST API under /v1, as the stripe library calls it: bearer auth with a test key,
form-encoded params, `Idempotency-Key` replay, `expand[]`, Stripe's error bodies and a
`Request-Id` on every answer. Injected faults (see `faults.py`) answer before anything runs.

Idempotency follows Stripe: the key is scoped to the API key; a successful response is kept
and replayed (with `Idempotent-Replayed: true`) for the same method, path and params; the
same key with anything different is a 400 `idempotency_error`. Errors are not kept (Stripe
saves nothing when validation fails), so a retry after an injected fault runs for real."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from devstack.stripe_server.errors import StripeError, invalid
from devstack.stripe_server.faults import take_fault
from devstack.stripe_server.forms import fingerprint, parse
from devstack.stripe_server.objects import expand, page, text
from devstack.stripe_server.server import StripeServer
from devstack.stripe_server.store import Obj, new_id
from devstack.stripe_server.webhooks import API_VERSION

log = logging.getLogger(__name__)

Handler = Callable[[Request, Obj], Obj]


def _api_key(request: Request) -> str:
    authorization = request.headers.get("authorization")
    if not authorization:
        raise StripeError(
            401,
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
        )
    scheme, _, key = authorization.partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key.startswith(("sk_test_", "rk_test_")):
        shown = key[:8] + "*" * max(0, len(key) - 12) + key[-4:] if key else ""
        raise StripeError(401, f"Invalid API Key provided: {shown}")
    return key


def endpoint(server: StripeServer, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        request_id = new_id("req_")
        headers = {"Request-Id": request_id, "Stripe-Version": API_VERSION}
        server.requests[request.url.path] += 1
        try:
            api_key = _api_key(request)
            fault = take_fault(server.faults, request.url.path)
            if fault is not None:
                raise fault
            pairs = parse_qsl(request.url.query, keep_blank_values=True)
            if request.method == "POST":
                body = (await request.body()).decode("utf-8")
                pairs += parse_qsl(body, keep_blank_values=True)
            params = parse(pairs)
            key = request.headers.get("idempotency-key") if request.method == "POST" else None
            signature = f"{request.method} {request.url.path} {fingerprint(pairs)}"
            if key:
                headers["Idempotency-Key"] = key
                stored = server.store.idempotent.get(f"{api_key}:{key}")
                if stored is not None:
                    if stored[0] != signature:
                        raise StripeError(
                            400,
                            "Keys for idempotent requests can only be used with the same "
                            "parameters they were first used with. Try using a key other "
                            f"than '{key}' if you meant to execute a different request.",
                            type="idempotency_error",
                        )
                    return Response(
                        stored[2],
                        stored[1],
                        media_type="application/json",
                        headers={**headers, "Idempotent-Replayed": "true"},
                    )
            server.webhooks.request = {"id": request_id, "idempotency_key": key}
            try:
                result = expand(handler(request, params), params, server.store.find)
            finally:
                server.webhooks.request = None
            content = json.dumps(result).encode()
            if key:
                server.store.idempotent[f"{api_key}:{key}"] = (signature, 200, content)
            if request.method != "GET":
                server.store.save()
            return Response(content, 200, media_type="application/json", headers=headers)
        except StripeError as error:
            return JSONResponse(
                error.body(request_id), error.status, headers={**headers, **error.headers()}
            )
        except Exception:
            log.exception("local Stripe server failed on %s %s", request.method, request.url)
            crash = StripeError(500, "An unknown error occurred", type="api_error")
            return JSONResponse(crash.body(request_id), 500, headers=headers)

    return run


def routes(server: StripeServer) -> list[Route]:
    store, catalog, billing = server.store, server.catalog, server.billing

    def path_id(request: Request) -> str:
        return str(request.path_params["id"])

    def getter(kind: str) -> Handler:
        return lambda request, params: store.get(kind, path_id(request))

    def lister(url: str, select: Callable[[Obj], list[Obj]]) -> Handler:
        return lambda request, params: page(select(params), params, url)

    def checkout_session(request: Request, params: Obj) -> Obj:
        session = copy.deepcopy(store.get("checkout_session", path_id(request)))
        if "line_items" in params.get("expand", []):
            session["line_items"] = page(
                billing.line_items(session["id"]),
                {"limit": "100"},
                f"/v1/checkout/sessions/{session['id']}/line_items",
            )
        return session

    def checkout_sessions(params: Obj) -> list[Obj]:
        customer = text(params, "customer")
        subscription = text(params, "subscription")
        return [
            s
            for s in store.all("checkout_session")
            if (customer is None or s["customer"] == customer)
            and (subscription is None or s["subscription"] == subscription)
        ]

    def events(params: Obj) -> list[Obj]:
        kind = text(params, "type")
        return [
            e
            for e in store.all("event")
            if kind is None
            or e["type"] == kind
            or (kind.endswith("*") and e["type"].startswith(kind[:-1]))
        ]

    def unknown(request: Request, params: Obj) -> Obj:
        raise StripeError(
            404,
            f"Unrecognized request URL ({request.method}: {request.url.path}). Please see "
            "https://stripe.com/docs or we can help at https://support.stripe.com/.",
        )

    def meter_summaries(request: Request, params: Obj) -> Obj:
        meter = path_id(request)
        return page(
            catalog.summaries(meter, params), params, f"/v1/billing/meters/{meter}/event_summaries"
        )

    def create_meter_event(request: Request, params: Obj) -> Obj:
        return catalog.record(params)

    def update_subscription(request: Request, params: Obj) -> Obj:
        return billing.update_subscription(path_id(request), params)

    def cancel_subscription(request: Request, params: Obj) -> Obj:
        if "invoice_now" in params or "prorate" in params:
            raise invalid("invoice_now and prorate are not supported by the local Stripe.")
        return billing.cancel_subscription(path_id(request))

    table: list[tuple[str, str, Handler]] = [
        ("POST", "/v1/customers", lambda r, p: catalog.create_customer(p)),
        ("GET", "/v1/customers", lister("/v1/customers", catalog.customers)),
        ("GET", "/v1/customers/{id}", getter("customer")),
        ("POST", "/v1/customers/{id}", lambda r, p: catalog.update_customer(path_id(r), p)),
        ("POST", "/v1/products", lambda r, p: catalog.create_product(p)),
        ("GET", "/v1/products", lister("/v1/products", lambda p: store.all("product"))),
        ("GET", "/v1/products/{id}", getter("product")),
        ("POST", "/v1/prices", lambda r, p: catalog.create_price(p)),
        ("GET", "/v1/prices", lister("/v1/prices", catalog.prices)),
        ("GET", "/v1/prices/{id}", getter("price")),
        ("POST", "/v1/billing/meters", lambda r, p: catalog.create_meter(p)),
        ("GET", "/v1/billing/meters", lister("/v1/billing/meters", lambda p: store.all("meter"))),
        ("GET", "/v1/billing/meters/{id}", getter("meter")),
        ("GET", "/v1/billing/meters/{id}/event_summaries", meter_summaries),
        ("POST", "/v1/billing/meter_events", create_meter_event),
        ("POST", "/v1/checkout/sessions", lambda r, p: billing.create_checkout(p)),
        ("GET", "/v1/checkout/sessions", lister("/v1/checkout/sessions", checkout_sessions)),
        ("GET", "/v1/checkout/sessions/{id}", checkout_session),
        (
            "GET",
            "/v1/checkout/sessions/{id}/line_items",
            lambda r, p: page(
                billing.line_items(store.get("checkout_session", path_id(r))["id"]),
                p,
                f"/v1/checkout/sessions/{path_id(r)}/line_items",
            ),
        ),
        ("GET", "/v1/subscriptions", lister("/v1/subscriptions", billing.subscriptions)),
        ("GET", "/v1/subscriptions/{id}", getter("subscription")),
        ("POST", "/v1/subscriptions/{id}", update_subscription),
        ("DELETE", "/v1/subscriptions/{id}", cancel_subscription),
        ("POST", "/v1/billing_portal/sessions", lambda r, p: billing.create_portal(p)),
        ("POST", "/v1/invoices/create_preview", lambda r, p: billing.preview(p)),
        ("GET", "/v1/invoices", lister("/v1/invoices", billing.invoices)),
        ("GET", "/v1/invoices/{id}", getter("invoice")),
        ("GET", "/v1/events", lister("/v1/events", events)),
        ("GET", "/v1/events/{id}", getter("event")),
    ]
    result = [Route(path, endpoint(server, handler), methods=[m]) for m, path, handler in table]
    result.append(
        Route(
            "/v1/{rest:path}",
            endpoint(server, unknown),
            methods=["GET", "POST", "DELETE"],
        )
    )
    return result
