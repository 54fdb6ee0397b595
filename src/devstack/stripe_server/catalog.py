"""Customers, products, prices, billing meters, meter events and their summaries."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from devstack.stripe_server.errors import StripeError, invalid, missing, required
from devstack.stripe_server.objects import boolean, integer, mapping, metadata, strings, text
from devstack.stripe_server.store import Obj, Store, new_id, now

DAY = 86400


@dataclass
class Catalog:
    store: Store
    accepted: int = 0
    deduplicated: int = 0

    # -- customers ------------------------------------------------------------------------
    def create_customer(self, params: Obj) -> Obj:
        return self.store.create(
            "customer",
            {
                "object": "customer",
                "address": None,
                "balance": 0,
                "created": now(),
                "currency": None,
                "default_source": None,
                "delinquent": False,
                "description": text(params, "description"),
                "discount": None,
                "email": text(params, "email"),
                "invoice_prefix": uuid.uuid4().hex[:8].upper(),
                "invoice_settings": {
                    "custom_fields": None,
                    "default_payment_method": None,
                    "footer": None,
                    "rendering_options": None,
                },
                "livemode": False,
                "metadata": metadata(params),
                "name": text(params, "name"),
                "phone": text(params, "phone"),
                "preferred_locales": [],
                "shipping": None,
                "tax_exempt": "none",
                "test_clock": None,
            },
        )

    def update_customer(self, id: str, params: Obj) -> Obj:
        customer = self.store.get("customer", id)
        for name in ("email", "name", "phone", "description"):
            if name in params:
                customer[name] = text(params, name)
        customer["metadata"] = metadata(params, customer["metadata"])
        return customer

    def customers(self, params: Obj) -> list[Obj]:
        email = text(params, "email")
        return [c for c in self.store.all("customer") if email is None or c["email"] == email]

    # -- products and prices --------------------------------------------------------------
    def create_product(self, params: Obj) -> Obj:
        created = now()
        return self.store.create(
            "product",
            {
                "object": "product",
                "active": boolean(params, "active") is not False,
                "created": created,
                "default_price": None,
                "description": text(params, "description"),
                "images": [],
                "livemode": False,
                "marketing_features": [],
                "metadata": metadata(params),
                "name": text(params, "name", needed=True),
                "package_dimensions": None,
                "shippable": None,
                "statement_descriptor": None,
                "tax_code": None,
                "type": "service",
                "unit_label": text(params, "unit_label"),
                "updated": created,
                "url": None,
            },
        )

    def create_price(self, params: Obj) -> Obj:
        currency = (text(params, "currency", needed=True) or "").lower()
        product_id = text(params, "product")
        if product_id is not None:
            self.store.get("product", product_id, "product")
        elif "product_data" in params:
            product_id = self.create_product(mapping(params, "product_data"))["id"]
        else:
            raise required("product")
        unit_amount = integer(params, "unit_amount")
        if unit_amount is None:
            raise required("unit_amount")
        if unit_amount < 0:
            raise invalid("Invalid unit_amount: must be at least 0", "unit_amount")
        recurring = self._recurring(mapping(params, "recurring")) if "recurring" in params else None
        lookup_key = text(params, "lookup_key")
        if lookup_key is not None:
            holder = self.price_by_lookup_key(lookup_key)
            if holder is not None:
                if not boolean(params, "transfer_lookup_key"):
                    raise invalid(
                        f"A price (`{holder['id']}`) already uses that lookup key.",
                        "lookup_key",
                    )
                holder["lookup_key"] = None
        price = self.store.create(
            "price",
            {
                "object": "price",
                "active": boolean(params, "active") is not False,
                "billing_scheme": "per_unit",
                "created": now(),
                "currency": currency,
                "custom_unit_amount": None,
                "livemode": False,
                "lookup_key": lookup_key,
                "metadata": metadata(params),
                "nickname": text(params, "nickname"),
                "product": product_id,
                "recurring": recurring,
                "tax_behavior": "unspecified",
                "tiers_mode": None,
                "transform_quantity": None,
                "type": "recurring" if recurring else "one_time",
                "unit_amount": unit_amount,
                "unit_amount_decimal": str(unit_amount),
            },
        )
        product = self.store.get("product", product_id)
        product["default_price"] = product["default_price"] or price["id"]
        return price

    def _recurring(self, recurring: Obj) -> Obj:
        interval = text(recurring, "interval")
        if interval not in ("day", "week", "month", "year"):
            raise invalid("Invalid recurring[interval]", "recurring[interval]")
        usage_type = text(recurring, "usage_type") or "licensed"
        if usage_type not in ("licensed", "metered"):
            raise invalid("Invalid recurring[usage_type]", "recurring[usage_type]")
        meter = text(recurring, "meter")
        if usage_type == "metered" and meter is None:
            raise invalid(
                "Metered prices must be backed by a meter: pass recurring[meter].",
                "recurring[meter]",
            )
        if meter is not None:
            self.store.get("meter", meter, "recurring[meter]")
        return {
            "interval": interval,
            "interval_count": integer(recurring, "interval_count") or 1,
            "meter": meter,
            "trial_period_days": None,
            "usage_type": usage_type,
        }

    def price_by_lookup_key(self, key: str) -> Obj | None:
        return next((p for p in self.store.all("price") if p["lookup_key"] == key), None)

    def prices(self, params: Obj) -> list[Obj]:
        keys = strings(params, "lookup_keys")
        active = boolean(params, "active")
        product = text(params, "product")
        return [
            p
            for p in self.store.all("price")
            if (not keys or p["lookup_key"] in keys)
            and (active is None or p["active"] == active)
            and (product is None or p["product"] == product)
        ]

    # -- meters ---------------------------------------------------------------------------
    def create_meter(self, params: Obj) -> Obj:
        event_name = text(params, "event_name", needed=True)
        if any(m["event_name"] == event_name for m in self.store.all("meter")):
            raise invalid(f"A meter with event_name `{event_name}` already exists.", "event_name")
        aggregation = mapping(params, "default_aggregation")
        formula = text(aggregation, "formula")
        if formula not in ("sum", "count", "last"):
            raise invalid("Invalid default_aggregation[formula]", "default_aggregation[formula]")
        mapping_ = mapping(params, "customer_mapping")
        created = now()
        return self.store.create(
            "meter",
            {
                "object": "billing.meter",
                "created": created,
                "customer_mapping": {
                    "event_payload_key": text(mapping_, "event_payload_key")
                    or "stripe_customer_id",
                    "type": text(mapping_, "type") or "by_id",
                },
                "default_aggregation": {"formula": formula},
                "display_name": text(params, "display_name", needed=True),
                "event_name": event_name,
                "event_time_window": text(params, "event_time_window"),
                "livemode": False,
                "status": "active",
                "status_transitions": {"deactivated_at": None},
                "updated": created,
                "value_settings": {
                    "event_payload_key": text(
                        mapping(params, "value_settings"), "event_payload_key"
                    )
                    or "value"
                },
            },
        )

    def meter_for(self, event_name: str) -> Obj | None:
        return next(
            (
                m
                for m in self.store.all("meter")
                if m["event_name"] == event_name and m["status"] == "active"
            ),
            None,
        )

    # -- meter events ---------------------------------------------------------------------
    def record(self, params: Obj) -> Obj:
        """Accepts one meter event, or refuses it. A repeated `identifier` is refused the way
        Stripe refuses it: 400, "An event already exists with identifier ...", with
        `Stripe-Should-Retry: false`; it is counted as deduplicated, never summed twice."""
        event_name = text(params, "event_name", needed=True) or ""
        meter = self.meter_for(event_name)
        if meter is None:
            raise invalid(
                f"No active meter was found matching event_name `{event_name}`.",
                "event_name",
            )
        payload = mapping(params, "payload")
        customer_key = meter["customer_mapping"]["event_payload_key"]
        value_key = meter["value_settings"]["event_payload_key"]
        customer = text(payload, customer_key)
        if customer is None:
            raise required(f"payload[{customer_key}]")
        if customer not in self.store.objects["customer"]:
            raise missing("customer", customer, f"payload[{customer_key}]")
        value = text(payload, value_key)
        if value is None:
            raise required(f"payload[{value_key}]")
        if not re.fullmatch(r"\d+", value):
            raise invalid(
                f"Invalid payload[{value_key}]: `{value}` is not a whole number.",
                f"payload[{value_key}]",
            )
        created = now()
        timestamp = integer(params, "timestamp")
        if timestamp is None:
            timestamp = created
        elif not created - 35 * DAY <= timestamp <= created + 300:
            raise invalid(
                "Timestamp must be within the past 35 calendar days or up to 5 minutes "
                "in the future.",
                "timestamp",
            )
        identifier = text(params, "identifier") or new_id("")
        if identifier in self.store.identifiers:
            self.deduplicated += 1
            raise StripeError(
                400,
                f"An event already exists with identifier {identifier}.",
                param="identifier",
                code="resource_already_exists",
                should_retry=False,
            )
        event = {
            "object": "billing.meter_event",
            "created": created,
            "event_name": event_name,
            "identifier": identifier,
            "livemode": False,
            "payload": {str(k): v for k, v in payload.items()},
            "timestamp": timestamp,
        }
        self.store.identifiers.add(identifier)
        self.store.meter_events.append(event)
        self.accepted += 1
        return event

    def usage(self, meter: Obj, customer: str, start: int, end: int) -> int:
        """The summed values of the meter's events for the customer in [start, end)."""
        customer_key = meter["customer_mapping"]["event_payload_key"]
        value_key = meter["value_settings"]["event_payload_key"]
        events = [
            e
            for e in self.store.meter_events
            if e["event_name"] == meter["event_name"]
            and e["payload"].get(customer_key) == customer
            and start <= e["timestamp"] < end
        ]
        values = [int(e["payload"][value_key]) for e in events]
        formula = meter["default_aggregation"]["formula"]
        if formula == "count":
            return len(values)
        if formula == "last":
            return values[-1] if values else 0
        return sum(values)

    def summaries(self, meter_id: str, params: Obj) -> list[Obj]:
        meter = self.store.get("meter", meter_id)
        customer = text(params, "customer", needed=True) or ""
        start = integer(params, "start_time", needed=True) or 0
        end = integer(params, "end_time", needed=True) or 0
        if end <= start:
            raise invalid("end_time must be after start_time.", "end_time")
        window = text(params, "value_grouping_window")
        if window not in (None, "day", "hour"):
            raise invalid("Invalid value_grouping_window", "value_grouping_window")
        step = {"day": DAY, "hour": 3600}.get(window or "", end - start)
        bounds = [(t, min(t + step, end)) for t in range(start, end, step)]
        return [
            {
                "id": new_id("mtrusg_"),
                "object": "billing.meter_event_summary",
                "aggregated_value": float(self.usage(meter, customer, s, e)),
                "end_time": e,
                "livemode": False,
                "meter": meter_id,
                "start_time": s,
            }
            for s, e in reversed(bounds)
        ]
