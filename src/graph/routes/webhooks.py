"""Webhooks from outside services. Each verifies its sender's signature on the raw body
before anything else is read."""

from __future__ import annotations

import logging
import uuid

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from services.billing import webhooks
from services.billing.stripe_gateway import InvalidWebhook, StripeUnavailable, verify_webhook
from services.fal.webhooks import InvalidFalWebhook
from services.runs import completions
from services.runtime import Runtime

log = logging.getLogger(__name__)
MAX_WEBHOOK_BYTES = 1_000_000


async def stripe_webhook(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    secret = runtime.settings.STRIPE_WEBHOOK_SECRET
    if runtime.stripe is None or secret is None:
        return JSONResponse({"error": "billing is not configured"}, status_code=404)
    body = await _read_capped(request)
    if body is None:
        return JSONResponse({"error": "payload too large"}, status_code=413)
    try:
        event = verify_webhook(
            body, request.headers.get("stripe-signature"), secret.get_secret_value()
        )
    except InvalidWebhook:
        # Which check failed is for our logs, not for whoever sent it.
        log.warning("refused a Stripe webhook with a bad or stale signature")
        return JSONResponse({"error": "invalid signature"}, status_code=400)
    try:
        await webhooks.handle_event(runtime.db, runtime.stripe, runtime.settings, event)
    except StripeUnavailable:
        # Stripe delivers it again; nothing was recorded.
        return JSONResponse({"error": "try again"}, status_code=503)
    return JSONResponse({"received": True})


async def fal_webhook(request: Request) -> JSONResponse:
    """fal says a request finished: an image result the signed body carries is recorded
    here; anything else goes to a worker. Once per request, however often fal repeats it."""
    runtime: Runtime = request.app.state.runtime
    body = await _read_capped(request)
    if body is None:
        return JSONResponse({"error": "payload too large"}, status_code=413)
    try:
        payload = await runtime.fal_webhooks.verify(request.headers, body)
    except InvalidFalWebhook:
        log.warning("refused a fal webhook with a bad or stale signature")
        return JSONResponse({"error": "invalid signature"}, status_code=400)
    await completions.request_finished(
        runtime.engine, str(payload["request_id"]), payload, _node_of(request)
    )
    return JSONResponse({"received": True})


def _node_of(request: Request) -> uuid.UUID | None:
    """The node our submit named in the webhook URL (absent from older submits)."""
    try:
        return uuid.UUID(request.query_params["node"])
    except (KeyError, ValueError):
        return None


async def _read_capped(request: Request) -> bytes | None:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_WEBHOOK_BYTES:
            return None
    return body


routes = [
    Route("/webhooks/stripe", stripe_webhook, methods=["POST"]),
    Route("/webhooks/fal", fal_webhook, methods=["POST"]),
]
