"""`python -m devstack.stripe_server --port N --webhook-url URL --webhook-secret whsec_...
[--public-url http://127.0.0.1:N] [--state-file PATH]`"""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn

from devstack.stripe_server.app import create_app
from devstack.stripe_server.server import StripeServer


def main() -> None:
    parser = argparse.ArgumentParser(
        description="A local server speaking the part of Stripe's API that Lattice uses."
    )
    parser.add_argument("--port", type=int, required=True, help="plain-HTTP port on 127.0.0.1")
    parser.add_argument(
        "--webhook-url", help="where events are POSTed (settable later over /_control)"
    )
    parser.add_argument(
        "--webhook-secret", required=True, help="whsec_... signing secret for Stripe-Signature"
    )
    parser.add_argument(
        "--public-url", help="base of Checkout/portal/invoice page URLs (default: the local URL)"
    )
    parser.add_argument(
        "--state-file", type=Path, help="JSON file keeping customers, subscriptions… across runs"
    )
    parser.add_argument(
        "--webhook-retry-seconds",
        type=float,
        default=60.0,
        help="how long failed deliveries are retried (delays 0.5 s, 1 s, 2 s, …)",
    )
    args = parser.parse_args()
    server = StripeServer.create(
        args.public_url or f"http://127.0.0.1:{args.port}",
        args.webhook_url,
        args.webhook_secret,
        args.state_file,
    )
    server.webhooks.retry_total = args.webhook_retry_seconds
    uvicorn.run(create_app(server), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
