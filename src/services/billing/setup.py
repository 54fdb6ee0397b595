"""`uv run python -m services.billing.setup`: makes (or finds) the Pro plan in Stripe.

Idempotent: the meter is found by its event name, the product by its metadata, and the
prices by lookup key, so running it again changes nothing. It prints what it found or made."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from services.billing.stripe_gateway import (
    BASE_PRICE_KEY,
    PRODUCT_KEY,
    USAGE_PRICE_KEY,
    StripeGateway,
)
from services.platform.config import Settings


async def ensure_pro_plan(settings: Settings) -> dict[str, str]:
    """The ids of the meter, product and prices of the Pro plan, creating what is missing."""
    v1 = StripeGateway(settings).client.v1
    event_name = settings.STRIPE_METER_EVENT_NAME
    meters = await v1.billing.meters.list_async({"limit": 100})
    meter = next((m for m in meters.data if m.event_name == event_name), None)
    if meter is None:
        meter = await v1.billing.meters.create_async(
            {
                "display_name": "Lattice usage (cents)",
                "event_name": event_name,
                "default_aggregation": {"formula": "sum"},
                "customer_mapping": {"type": "by_id", "event_payload_key": "stripe_customer_id"},
                "value_settings": {"event_payload_key": "value"},
            }
        )
    prices = await v1.prices.list_async(
        {"lookup_keys": [USAGE_PRICE_KEY, BASE_PRICE_KEY], "active": True}
    )
    by_key: dict[str, Any] = {str(p.lookup_key): p for p in prices.data}
    product_id = await _product(v1, by_key)
    if USAGE_PRICE_KEY not in by_key:
        by_key[USAGE_PRICE_KEY] = await v1.prices.create_async(
            {
                "product": product_id,
                "currency": "usd",
                "unit_amount": 1,  # one meter unit is one cent of usage
                "lookup_key": USAGE_PRICE_KEY,
                "recurring": {"interval": "month", "usage_type": "metered", "meter": meter.id},
                "nickname": "Pro usage",
            }
        )
    base_cents = settings.STRIPE_PRO_BASE_PRICE_CENTS
    current_base = by_key.get(BASE_PRICE_KEY)
    if base_cents and (current_base is None or current_base.unit_amount != base_cents):
        # A changed amount is a new price; the lookup key moves to it.
        by_key[BASE_PRICE_KEY] = await v1.prices.create_async(
            {
                "product": product_id,
                "currency": "usd",
                "unit_amount": base_cents,
                "lookup_key": BASE_PRICE_KEY,
                "transfer_lookup_key": True,
                "recurring": {"interval": "month"},
                "nickname": "Pro base",
            }
        )
    elif not base_cents and current_base is not None:
        await v1.prices.update_async(current_base.id, {"active": False})
        del by_key[BASE_PRICE_KEY]
    return {
        "meter": meter.id,
        "product": product_id,
        **{key: price.id for key, price in by_key.items()},
    }


async def _product(v1: Any, prices: dict[str, Any]) -> str:
    for price in prices.values():
        return str(price.product if isinstance(price.product, str) else price.product.id)
    products = await v1.products.list_async({"limit": 100, "active": True})
    for product in products.data:
        if product.to_dict().get("metadata", {}).get("lattice_plan") == PRODUCT_KEY:
            return str(product.id)
    created = await v1.products.create_async(
        {
            "name": "Lattice Pro",
            "description": "Every model, your own LoRAs and kept assets; pay for what you make.",
            "metadata": {"lattice_plan": PRODUCT_KEY},
        }
    )
    return str(created.id)


def main() -> int:
    settings = Settings()
    if not settings.billing_enabled:
        print("STRIPE_SECRET_KEY is not set; nothing to set up", file=sys.stderr)
        return 1
    for name, found in asyncio.run(ensure_pro_plan(settings)).items():
        print(f"{name:20} {found}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
