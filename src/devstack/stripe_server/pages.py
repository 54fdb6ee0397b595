"""The pages a browser sees instead of Stripe's hosted ones: Checkout (`/c/pay/{id}`, "Pay"
completes the session and redirects to success_url), the billing portal (`/p/session/{id}`,
"Cancel plan" cancels at once) and hosted invoices (`/i/{id}`). Plain HTML forms, no JS."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from devstack.stripe_server.billing import is_metered
from devstack.stripe_server.errors import StripeError
from devstack.stripe_server.server import StripeServer
from devstack.stripe_server.store import Obj

STYLE = """
body{font-family:-apple-system,system-ui,Segoe UI,Roboto,sans-serif;background:#f6f9fc;
color:#1a1f36;margin:0;display:flex;justify-content:center;padding:48px 16px}
main{background:#fff;border-radius:12px;box-shadow:0 2px 12px rgba(50,50,93,.12);
padding:32px;width:100%;max-width:480px}
h1{font-size:20px;margin:0 0 4px}.muted{color:#697386;font-size:14px}
.line{display:flex;justify-content:space-between;padding:12px 0;border-bottom:1px solid #e3e8ee}
.price{font-weight:600}.tag{font-size:12px;border-radius:4px;padding:2px 6px;background:#e3e8ee}
.active{background:#d7f7c2;color:#05690d}.canceled{background:#ebeef1;color:#545969}
.past_due,.unpaid{background:#ffe7f2;color:#b3093c}
button{background:#635bff;color:#fff;border:0;border-radius:6px;padding:12px 16px;
font-size:16px;width:100%;margin-top:24px;cursor:pointer}
button.danger{background:#fff;color:#df1b41;border:1px solid #df1b41;width:auto;
padding:6px 10px;font-size:14px;margin:8px 0 0}
a{color:#635bff;text-decoration:none}.back{display:inline-block;margin-top:16px}
.badge{font-size:12px;color:#a3acb9;text-transform:uppercase;letter-spacing:.05em}
"""


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<style>{STYLE}</style></head><body><main>"
        f"<div class='badge'>Local Stripe · test mode</div>{body}</main></body></html>",
        status,
    )


def money(cents: int, currency: str) -> str:
    symbol = {"usd": "$", "eur": "€", "gbp": "£"}.get(currency.lower())
    amount = f"{cents / 100:,.2f}"
    return f"{symbol}{amount}" if symbol else f"{amount} {currency.upper()}"


def describe_price(price: Obj) -> str:
    interval = (price.get("recurring") or {}).get("interval", "")
    if is_metered(price):
        unit = price["unit_amount"]
        per = "per cent of usage" if unit == 1 else f"{money(unit, price['currency'])} per unit"
        return f"{per}, billed {interval}ly"
    suffix = f" / {interval}" if interval else ""
    return money(price["unit_amount"], price["currency"]) + suffix


def _date(timestamp: int | None) -> str:
    if not timestamp:
        return "—"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%b %d, %Y")


def routes(server: StripeServer) -> list[Route]:
    store, billing = server.store, server.billing

    def found(kind: str, request: Request) -> Obj | None:
        return store.objects[kind].get(str(request.path_params["id"]))

    def not_found() -> HTMLResponse:
        return _page("Not found", "<h1>This page does not exist</h1>", 404)

    def product_name(price: Obj) -> str:
        product = store.find(price["product"])
        return str(product["name"]) if product else str(price["product"])

    async def checkout(request: Request) -> Response:
        session = found("checkout_session", request)
        if session is None:
            return not_found()
        lines = "".join(
            f"<div class='line'><span>{escape(product_name(item['price']))}</span>"
            f"<span class='price'>{escape(describe_price(item['price']))}</span></div>"
            for item in billing.line_items(session["id"])
        )
        due = money(session["amount_total"] or 0, session["currency"] or "usd")
        if session["status"] == "complete":
            action = "<p>This checkout is complete.</p>"
        else:
            action = (
                f"<form method='post' action='/c/pay/{escape(session['id'])}/complete'>"
                f"<button type='submit'>Pay</button></form>"
            )
        back = (
            f"<a class='back' href='{escape(session['cancel_url'])}'>← Back</a>"
            if session["cancel_url"]
            else ""
        )
        body = f"<h1>Subscribe</h1><p class='muted'>Due today: {due}</p>{lines}{action}{back}"
        return _page("Checkout", body)

    async def complete(request: Request) -> Response:
        session = found("checkout_session", request)
        if session is None:
            return not_found()
        try:
            session = billing.complete_checkout(session["id"])
        except StripeError as error:
            return _page("Checkout failed", f"<h1>{escape(error.message)}</h1>", error.status)
        store.save()
        target = str(session["success_url"]).replace("{CHECKOUT_SESSION_ID}", session["id"])
        return RedirectResponse(target, 303)

    async def portal(request: Request) -> Response:
        session = found("portal_session", request)
        if session is None:
            return not_found()
        customer = store.get("customer", session["customer"])
        subscriptions = billing.subscriptions({"customer": customer["id"], "status": "all"})
        subscriptions.sort(key=lambda s: s["status"] == "canceled")
        plans = []
        for sub in subscriptions:
            names = ", ".join(
                f"{escape(product_name(i['price']))} ({escape(describe_price(i['price']))})"
                for i in sub["items"]["data"]
            )
            status = escape(sub["status"])
            renews = (
                f"Cancels {_date(sub['current_period_end'])}"
                if sub["cancel_at_period_end"]
                else f"Renews {_date(sub['current_period_end'])}"
            )
            if sub["status"] == "canceled":
                renews = f"Canceled {_date(sub['canceled_at'])}"
            cancel = (
                ""
                if sub["status"] == "canceled"
                else f"<form method='post' action='/p/session/{escape(session['id'])}/cancel'>"
                f"<input type='hidden' name='subscription' value='{escape(sub['id'])}'>"
                "<button class='danger' type='submit'>Cancel plan</button></form>"
            )
            plans.append(
                f"<div class='line'><div><div>{names}</div>"
                f"<div class='muted'>{renews}</div>{cancel}</div>"
                f"<div><span class='tag {status}'>{status}</span></div></div>"
            )
        invoices = "".join(
            f"<div class='line'><a href='{escape(i['hosted_invoice_url'])}'>"
            f"{escape(i['number'] or i['id'])}</a><span>{_date(i['created'])}</span>"
            f"<span>{money(i['total'], i['currency'])}</span>"
            f"<span class='tag {escape(i['status'])}'>{escape(i['status'])}</span></div>"
            for i in billing.invoices({"customer": customer["id"]})
        )
        back = (
            f"<a class='back' href='{escape(session['return_url'])}'>← Return to Lattice</a>"
            if session["return_url"]
            else ""
        )
        body = (
            f"<h1>Billing</h1><p class='muted'>{escape(customer['email'] or customer['id'])}</p>"
            f"<h2>Plans</h2>{''.join(plans) or '<p class=muted>No plans.</p>'}"
            f"<h2>Invoices</h2>{invoices or '<p class=muted>No invoices.</p>'}{back}"
        )
        return _page("Billing", body)

    async def portal_cancel(request: Request) -> Response:
        session = found("portal_session", request)
        if session is None:
            return not_found()
        form = dict(parse_qsl((await request.body()).decode("utf-8")))
        sub = store.objects["subscription"].get(form.get("subscription", ""))
        if sub is None or sub["customer"] != session["customer"]:
            return _page("Not found", "<h1>No such plan</h1>", 404)
        if sub["status"] != "canceled":
            billing.cancel_subscription(sub["id"])
            store.save()
        return RedirectResponse(f"/p/session/{session['id']}", 303)

    async def invoice(request: Request) -> Response:
        found_invoice = found("invoice", request)
        if found_invoice is None:
            return not_found()
        inv = found_invoice
        lines = "".join(
            f"<div class='line'><span>{escape(line['description'])}</span>"
            f"<span>{money(line['amount'], line['currency'])}</span></div>"
            for line in inv["lines"]["data"]
        )
        status = escape(inv["status"])
        body = (
            f"<h1>Invoice {escape(inv['number'] or inv['id'])}</h1>"
            f"<p class='muted'>{_date(inv['period_start'])} to {_date(inv['period_end'])} · "
            f"<span class='tag {status}'>{status}</span></p>{lines}"
            f"<div class='line'><strong>Total</strong>"
            f"<strong>{money(inv['total'], inv['currency'])}</strong></div>"
        )
        return _page("Invoice", body)

    return [
        Route("/c/pay/{id}", checkout, methods=["GET"]),
        Route("/c/pay/{id}/complete", complete, methods=["POST"]),
        Route("/p/session/{id}", portal, methods=["GET"]),
        Route("/p/session/{id}/cancel", portal_cancel, methods=["POST"]),
        Route("/i/{id}", invoice, methods=["GET"]),
    ]
