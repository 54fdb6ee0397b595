"""A local Stripe: the part of Stripe's REST API that Lattice uses, hosted Checkout / billing
portal / invoice pages, and signed webhooks, so the real `stripe` library (pointed here with
`StripeClient(key, base_addresses={"api": url, ...})`) runs offline.

    python -m devstack.stripe_server --port N --webhook-secret whsec_... \\
        [--webhook-url URL] [--public-url http://127.0.0.1:N] [--state-file PATH] \\
        [--webhook-retry-seconds 60]

Modules: `forms` (bracket-encoded params), `errors` (Stripe's error body), `store` (state,
JSON persistence), `objects` (params, metadata, list pages, expand), `catalog` (customers,
products, prices, meters, meter events), `billing` (checkout, subscriptions, invoices,
portal), `webhooks` (events, signed delivery with retries), `faults` (injected errors),
`api` (/v1 routes: auth, idempotency), `pages` (HTML), `control` (/_control), `app`.

REST API: any `sk_test_`/`rk_test_` bearer key; otherwise 401. Errors are Stripe's
`{"error": {"type", "message", "param", "code"}}`; every answer has a `Request-Id`.
Successful POSTs are kept by `Idempotency-Key` (scoped to the API key) and replayed with
`Idempotent-Replayed: true`; the key with other params is a 400 `idempotency_error`.

Meter events: a repeated `identifier` is refused as Stripe refuses it (observed on the real
API): 400 `invalid_request_error`, message "An event already exists with identifier <id>.",
`param: identifier`, `code: resource_already_exists` (our choice; Stripe's code is not
documented) and `Stripe-Should-Retry: false`. It is counted as `deduplicated` and never summed
twice. A library retry of the *same request* carries the same Idempotency-Key and so gets the
original 200 replayed. Values must be whole numbers (digits); an unknown event_name or
customer is a 400. Summaries are per `[start_time, end_time)`, newest window first.

Control API (JSON, no auth):

    GET  /healthz                      -> {"ok": true}
    GET  /_control                     -> {"requests": {path: n},
                                           "meter_events": {"accepted", "deduplicated"},
                                           "faults": [...], "webhooks": {"url", "hold",
                                           "reverse", "duplicate", "retry", "held", "queued"},
                                           "deliveries": [{"event_id", "type", "attempts",
                                           "delivered", "gave_up", "outcomes"}],
                                           "customers": [...], "subscriptions": [...]}
    POST /_control  {any of, applied in this order:
        "reset": true,                      # forget all objects, counters, faults, deliveries
        "webhook_url": "http://..." | null,
        "webhook_retry": {"initial_seconds": 0.5, "total_seconds": 60},
        "fail": {"status": 429|500|402|4xx|5xx, "count": N | "seconds": S,
                 "paths": ["/v1/billing/meter_events"], "should_retry": bool}
                | [fault, ...] | null,         # replaces the faults; null clears them
        "duplicate_webhooks": bool,         # deliver every new event twice
        "hold_webhooks": bool,              # keep new events until released
        "reverse_webhooks": bool,           # release held events newest first
        "release_webhooks": true}           # send the held events (and stop holding)
                                       -> the GET body
    POST /_control/subscriptions/{id} {"status": "past_due"|"active"|"unpaid"|"canceled"|...}
         past_due: customer.subscription.updated + invoice.payment_failed (an open invoice);
         back to active: updated + invoice.paid; canceled: customer.subscription.deleted.
    POST /_control/redeliver/{event_id}    -> sends the event again
    GET  /_control/meter_events            -> [{"identifier", "event_name", "customer",
                                               "value", "timestamp"}]

Faults answer before the request runs (nothing is stored, so a retry runs for real). 500s
carry no `Stripe-Should-Retry` unless asked, so the library retries them; 429s carry none
either, so the library raises RateLimitError (Stripe only retries 429 when told to).
"""
