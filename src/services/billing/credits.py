"""Balances derived from the credit ledger for the current monthly period."""

from __future__ import annotations

from dataclasses import dataclass

from services.accounts.viewer import Viewer
from services.billing.ledger import period_totals
from services.platform.database import Database


@dataclass(frozen=True)
class CreditBalance:
    free_remaining_cents: int
    period_usage_cents: int
    reserved_cents: int


async def balance(db: Database, viewer: Viewer, free_allowance_cents: int) -> CreditBalance:
    async with db.as_user(viewer.claims) as conn:
        usage, reserved, granted = await period_totals(conn, viewer.id)
    free_left = max(0, free_allowance_cents + granted - usage - reserved)
    return CreditBalance(
        free_remaining_cents=free_left, period_usage_cents=usage, reserved_cents=reserved
    )
