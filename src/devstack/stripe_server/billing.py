"""Checkout sessions and what completing one makes (a subscription, its first invoice, the
events), subscription changes and cancellation, invoices and the upcoming-invoice preview,
billing portal sessions."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime

from devstack.stripe_server.catalog import Catalog
from devstack.stripe_server.errors import invalid, required
from devstack.stripe_server.objects import boolean, integer, mapping, metadata, text
from devstack.stripe_server.store import Obj, Store, new_id, now
from devstack.stripe_server.webhooks import Webhooks

STATUSES = (
    "incomplete",
    "incomplete_expired",
    "trialing",
    "active",
    "past_due",
    "canceled",
    "unpaid",
    "paused",
)


def add_month(timestamp: int) -> int:
    moment = datetime.fromtimestamp(timestamp, UTC)
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    for day in (moment.day, 30, 29, 28):
        try:
            return int(moment.replace(year=year, month=month, day=day).timestamp())
        except ValueError:
            continue
    raise AssertionError("unreachable")


def is_metered(price: Obj) -> bool:
    return bool(price.get("recurring") and price["recurring"]["usage_type"] == "metered")


@dataclass
class Billing:
    store: Store
    catalog: Catalog
    webhooks: Webhooks
    public_url: str

    # -- checkout -------------------------------------------------------------------------
    def create_checkout(self, params: Obj) -> Obj:
        mode = text(params, "mode", needed=True)
        if mode != "subscription":
            raise invalid("This local Stripe only supports mode=subscription.", "mode")
        customer = text(params, "customer")
        if customer is not None:
            self.store.get("customer", customer, "customer")
        line_items = params.get("line_items")
        if not isinstance(line_items, list) or not line_items:
            raise required("line_items")
        items: list[Obj] = []
        for index, item in enumerate(line_items):
            if not isinstance(item, dict):
                raise invalid("Invalid line_items", f"line_items[{index}]")
            price_id = text(item, "price")
            if price_id is None:
                raise required(f"line_items[{index}][price]")
            price = self.store.get("price", price_id, f"line_items[{index}][price]")
            if price.get("recurring") is None:
                raise invalid(
                    "In subscription mode every price must be recurring.",
                    f"line_items[{index}][price]",
                )
            quantity = integer(item, "quantity")
            if is_metered(price):
                if quantity is not None:
                    raise invalid(
                        "Quantity should not be specified where usage_type is `metered`.",
                        f"line_items[{index}][quantity]",
                    )
            else:
                quantity = 1 if quantity is None else quantity
            items.append({"price": price_id, "quantity": quantity})
        currencies = {self.store.get("price", i["price"])["currency"] for i in items}
        if len(currencies) > 1:
            raise invalid("All prices must share one currency.", "line_items")
        success_url = text(params, "success_url", needed=True)
        created = now()
        amount = self._flat_amount(items)
        session = self.store.create(
            "checkout_session",
            {
                "object": "checkout.session",
                "amount_subtotal": amount,
                "amount_total": amount,
                "cancel_url": text(params, "cancel_url"),
                "client_reference_id": text(params, "client_reference_id"),
                "created": created,
                "currency": currencies.pop(),
                "customer": customer,
                "customer_email": text(params, "customer_email"),
                "expires_at": created + 86400,
                "invoice": None,
                "livemode": False,
                "metadata": metadata(params),
                "mode": mode,
                "payment_method_types": ["card"],
                "payment_status": "unpaid",
                "status": "open",
                "subscription": None,
                "success_url": success_url,
                "url": None,
            },
        )
        session["url"] = f"{self.public_url}/c/pay/{session['id']}"
        subscription_data = mapping(params, "subscription_data")
        self.store.checkouts[session["id"]] = {
            "items": items,
            "subscription_metadata": metadata(subscription_data),
        }
        return session

    def line_items(self, session_id: str) -> list[Obj]:
        result = []
        for item in self.store.checkouts.get(session_id, {}).get("items", []):
            price = self.store.get("price", item["price"])
            amount = 0 if is_metered(price) else price["unit_amount"] * item["quantity"]
            product = self.store.get("product", price["product"])
            result.append(
                {
                    "id": "li_" + item["price"][6:],
                    "object": "item",
                    "amount_subtotal": amount,
                    "amount_total": amount,
                    "currency": price["currency"],
                    "description": product["name"],
                    "price": copy.deepcopy(price),
                    "quantity": item["quantity"],
                }
            )
        return result

    def _flat_amount(self, items: list[Obj]) -> int:
        total = 0
        for item in items:
            price = self.store.get("price", item["price"])
            if not is_metered(price):
                total += price["unit_amount"] * (item["quantity"] or 1)
        return int(total)

    def complete_checkout(self, session_id: str) -> Obj:
        """Paying on the hosted page: an active subscription, its paid first invoice, and
        `customer.subscription.created`, `checkout.session.completed`, `invoice.paid`.
        Completing an already complete session changes nothing."""
        session = self.store.get("checkout_session", session_id)
        if session["status"] != "open":
            return session
        if session["customer"] is None:
            customer = self.catalog.create_customer({"email": session["customer_email"] or ""})
            session["customer"] = customer["id"]
        checkout = self.store.checkouts.get(session_id, {})
        subscription = self._subscribe(
            session["customer"],
            checkout.get("items", []),
            checkout.get("subscription_metadata", {}),
        )
        invoice = self._invoice(subscription, "subscription_create", paid=True)
        subscription["latest_invoice"] = invoice["id"]
        session.update(
            {
                "status": "complete",
                "payment_status": "paid" if session["amount_total"] else "no_payment_required",
                "subscription": subscription["id"],
                "invoice": invoice["id"],
            }
        )
        self.webhooks.emit("customer.subscription.created", subscription)
        self.webhooks.emit("checkout.session.completed", session)
        self.webhooks.emit("invoice.paid", invoice)
        return session

    # -- subscriptions --------------------------------------------------------------------
    def _subscribe(self, customer: str, items: list[Obj], meta: Obj) -> Obj:
        start = now()
        end = add_month(start)
        sub_id = new_id("sub_")
        data = []
        for item in items:
            price = copy.deepcopy(self.store.get("price", item["price"]))
            entry: Obj = {
                "id": new_id("si_"),
                "object": "subscription_item",
                "created": start,
                "current_period_end": end,
                "current_period_start": start,
                "metadata": {},
                "price": price,
                "subscription": sub_id,
            }
            if not is_metered(price):
                entry["quantity"] = item["quantity"]
            data.append(entry)
        subscription: Obj = {
            "id": sub_id,
            "object": "subscription",
            "application": None,
            "billing_cycle_anchor": start,
            "cancel_at": None,
            "cancel_at_period_end": False,
            "canceled_at": None,
            "cancellation_details": {"comment": None, "feedback": None, "reason": None},
            "collection_method": "charge_automatically",
            "created": start,
            "currency": data[0]["price"]["currency"] if data else "usd",
            "current_period_end": end,
            "current_period_start": start,
            "customer": customer,
            "default_payment_method": None,
            "description": None,
            "ended_at": None,
            "items": {
                "object": "list",
                "data": data,
                "has_more": False,
                "total_count": len(data),
                "url": f"/v1/subscription_items?subscription={sub_id}",
            },
            "latest_invoice": None,
            "livemode": False,
            "metadata": dict(meta),
            "start_date": start,
            "status": "active",
            "trial_end": None,
            "trial_start": None,
        }
        self.store.objects["subscription"][sub_id] = subscription
        return subscription

    def subscriptions(self, params: Obj) -> list[Obj]:
        customer = text(params, "customer")
        status = text(params, "status")
        price = text(params, "price")

        def wanted(s: Obj) -> bool:
            if status is None:  # Stripe's default: every status but canceled
                return bool(s["status"] != "canceled")
            return status == "all" or s["status"] == status

        return [
            s
            for s in self.store.all("subscription")
            if (customer is None or s["customer"] == customer)
            and wanted(s)
            and (price is None or any(i["price"]["id"] == price for i in s["items"]["data"]))
        ]

    def update_subscription(self, id: str, params: Obj) -> Obj:
        subscription = self.store.get("subscription", id)
        changes: Obj = {}
        if subscription["status"] == "canceled" and set(params) - {"metadata", "expand"}:
            raise invalid(
                "A canceled subscription can only update its cancellation_details and metadata."
            )
        cancel = boolean(params, "cancel_at_period_end")
        if cancel is not None:
            changes["cancel_at_period_end"] = cancel
            changes["cancel_at"] = subscription["current_period_end"] if cancel else None
            changes["canceled_at"] = now() if cancel else None
            changes["cancellation_details"] = {
                "comment": None,
                "feedback": None,
                "reason": "cancellation_requested" if cancel else None,
            }
        if "metadata" in params:
            changes["metadata"] = metadata(params, subscription["metadata"])
        self._change(subscription, changes)
        return subscription

    def cancel_subscription(self, id: str, reason: str = "cancellation_requested") -> Obj:
        subscription = self.store.get("subscription", id)
        if subscription["status"] == "canceled":
            raise invalid(f"This subscription ({id}) has already been canceled.")
        moment = now()
        subscription.update(
            {
                "status": "canceled",
                "canceled_at": moment,
                "ended_at": moment,
                "cancellation_details": {"comment": None, "feedback": None, "reason": reason},
            }
        )
        self.webhooks.emit("customer.subscription.deleted", subscription)
        return subscription

    def set_status(self, id: str, status: str) -> Obj:
        """A control action: moves a subscription as a failed or recovered payment would."""
        if status not in STATUSES:
            raise invalid(f"Invalid status: {status}", "status")
        subscription = self.store.get("subscription", id)
        if status == "canceled":
            return self.cancel_subscription(id, "payment_failed")
        before = subscription["status"]
        self._change(subscription, {"status": status})
        if status == "past_due" and before != "past_due":
            invoice = self._invoice(subscription, "subscription_cycle", paid=False)
            subscription["latest_invoice"] = invoice["id"]
            self.webhooks.emit("invoice.payment_failed", invoice)
        elif status == "active" and before in ("past_due", "unpaid", "incomplete"):
            invoice = self._open_invoice(subscription) or self._invoice(
                subscription, "subscription_cycle", paid=False
            )
            self._pay(invoice)
            subscription["latest_invoice"] = invoice["id"]
            self.webhooks.emit("invoice.paid", invoice)
        return subscription

    def _change(self, subscription: Obj, changes: Obj) -> None:
        previous = {k: subscription[k] for k, v in changes.items() if subscription[k] != v}
        if not previous:
            return
        subscription.update(changes)
        self.webhooks.emit("customer.subscription.updated", subscription, copy.deepcopy(previous))

    # -- invoices -------------------------------------------------------------------------
    def _lines(self, subscription: Obj, start: int, end: int, *, usage: bool) -> list[Obj]:
        """A line per subscription item: flat prices for the next period, metered prices for
        the usage in [start, end) when `usage`, else zero."""
        lines = []
        for item in subscription["items"]["data"]:
            price = item["price"]
            product = self.store.find(price["product"]) or {"name": price["product"]}
            if is_metered(price):
                meter = self.store.get("meter", price["recurring"]["meter"])
                quantity = (
                    self.catalog.usage(meter, subscription["customer"], start, end) if usage else 0
                )
                period = {"start": start, "end": end}
                description = f"{product['name']} (usage)"
            else:
                quantity = int(item.get("quantity") or 1)
                period = (
                    {"start": end, "end": add_month(end)}
                    if usage
                    else {
                        "start": start,
                        "end": end,
                    }
                )
                description = f"{quantity} x {product['name']}"
            amount = int(quantity * price["unit_amount"])
            lines.append(
                {
                    "id": new_id("il_"),
                    "object": "line_item",
                    "amount": amount,
                    "currency": price["currency"],
                    "description": description,
                    "livemode": False,
                    "metadata": {},
                    "period": period,
                    "price": copy.deepcopy(price),
                    "pricing": {
                        "price_details": {"price": price["id"], "product": price["product"]},
                        "type": "price_details",
                        "unit_amount_decimal": str(price["unit_amount"]),
                    },
                    "quantity": quantity,
                    "subscription": subscription["id"],
                }
            )
        return lines

    def _invoice_object(self, subscription: Obj, lines: list[Obj], reason: str) -> Obj:
        total = sum(line["amount"] for line in lines)
        created = now()
        return {
            "object": "invoice",
            "account_country": "US",
            "amount_due": total,
            "amount_paid": 0,
            "amount_remaining": total,
            "attempt_count": 0,
            "attempted": False,
            "billing_reason": reason,
            "collection_method": "charge_automatically",
            "created": created,
            "currency": subscription["currency"],
            "customer": subscription["customer"],
            "hosted_invoice_url": None,
            "invoice_pdf": None,
            "lines": {
                "object": "list",
                "data": lines,
                "has_more": False,
                "total_count": len(lines),
                "url": "/v1/invoices/upcoming/lines",
            },
            "livemode": False,
            "metadata": {},
            "number": None,
            "parent": {
                "quote_details": None,
                "subscription_details": {
                    "metadata": dict(subscription["metadata"]),
                    "subscription": subscription["id"],
                },
                "type": "subscription_details",
            },
            "period_end": subscription["current_period_end"],
            "period_start": subscription["current_period_start"],
            "status": "draft",
            "status_transitions": {
                "finalized_at": None,
                "marked_uncollectible_at": None,
                "paid_at": None,
                "voided_at": None,
            },
            "subscription": subscription["id"],
            "subtotal": total,
            "total": total,
        }

    def _invoice(self, subscription: Obj, reason: str, *, paid: bool) -> Obj:
        start, end = subscription["current_period_start"], subscription["current_period_end"]
        lines = self._lines(subscription, start, end, usage=False)
        if reason == "subscription_cycle":  # the period just billed: flat + its usage
            lines = self._lines(subscription, start, end, usage=True)
        fields = self._invoice_object(subscription, lines, reason)
        invoice = self.store.create("invoice", fields)
        count = sum(1 for i in self.store.all("invoice") if i["customer"] == invoice["customer"])
        customer = self.store.get("customer", invoice["customer"])
        invoice.update(
            {
                "number": f"{customer['invoice_prefix']}-{count:04d}",
                "status": "open",
                "attempt_count": 1,
                "attempted": True,
                "hosted_invoice_url": f"{self.public_url}/i/{invoice['id']}",
                "lines": {**invoice["lines"], "url": f"/v1/invoices/{invoice['id']}/lines"},
            }
        )
        invoice["status_transitions"]["finalized_at"] = invoice["created"]
        if paid:
            self._pay(invoice)
        return invoice

    def _pay(self, invoice: Obj) -> None:
        invoice.update(
            {"status": "paid", "amount_paid": invoice["amount_due"], "amount_remaining": 0}
        )
        invoice["status_transitions"]["paid_at"] = now()

    def _open_invoice(self, subscription: Obj) -> Obj | None:
        return next(
            (
                i
                for i in self.store.all("invoice")
                if i["subscription"] == subscription["id"] and i["status"] == "open"
            ),
            None,
        )

    def invoices(self, params: Obj) -> list[Obj]:
        customer = text(params, "customer")
        subscription = text(params, "subscription")
        status = text(params, "status")
        return [
            i
            for i in self.store.all("invoice")
            if (customer is None or i["customer"] == customer)
            and (subscription is None or i["subscription"] == subscription)
            and (status is None or i["status"] == status)
        ]

    def preview(self, params: Obj) -> Obj:
        """The upcoming invoice: flat prices for the next period plus the metered usage of
        the current one (sum of meter event values times unit_amount, in cents)."""
        customer = text(params, "customer")
        sub_id = text(params, "subscription")
        if sub_id is None:
            if customer is None:
                raise required("customer")
            self.store.get("customer", customer, "customer")
            live = [s for s in self.subscriptions({"customer": customer})]
            if not live:
                raise invalid(
                    "No upcoming invoices for customer: " + customer,
                    code="invoice_upcoming_none",
                )
            subscription = live[0]
        else:
            subscription = self.store.get("subscription", sub_id, "subscription")
            if customer is not None and subscription["customer"] != customer:
                raise invalid("The subscription does not belong to the customer.", "subscription")
        if subscription["status"] == "canceled":
            raise invalid(
                "No upcoming invoices for a canceled subscription.", code="invoice_upcoming_none"
            )
        start, end = subscription["current_period_start"], subscription["current_period_end"]
        lines = self._lines(subscription, start, end, usage=True)
        invoice = self._invoice_object(subscription, lines, "upcoming")
        invoice["id"] = "upcoming_in_" + new_id("")
        invoice["period_start"], invoice["period_end"] = start, end
        invoice["next_payment_attempt"] = end
        return invoice

    # -- billing portal -------------------------------------------------------------------
    def create_portal(self, params: Obj) -> Obj:
        customer = text(params, "customer", needed=True) or ""
        self.store.get("customer", customer, "customer")
        session = self.store.create(
            "portal_session",
            {
                "object": "billing_portal.session",
                "configuration": "bpc_local",
                "created": now(),
                "customer": customer,
                "flow": None,
                "livemode": False,
                "locale": None,
                "on_behalf_of": None,
                "return_url": text(params, "return_url"),
                "url": None,
            },
        )
        session["url"] = f"{self.public_url}/p/session/{session['id']}"
        return session
