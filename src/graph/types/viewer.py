"""The signed-in user: profile, credits, billing, and the checkout/portal sessions they open."""

from __future__ import annotations

import strawberry

from graph.billing import Billing, billing_of
from graph.types.common import Info, Role
from services.accounts import viewer as accounts
from services.billing import credits


@strawberry.type
class CreditBalance:
    free_remaining: int
    period_usage_cents: int
    reserved_cents: int


@strawberry.type(
    description="Who may open the admin console, so the client can hide it or lead to MFA enrollment."
)
class AdminAccess:
    allowed: bool
    reason: str | None = strawberry.field(
        description='"not from an allowed network", "needs MFA", "not with an API key", or null'
    )


@strawberry.type
class Viewer:
    id: strawberry.ID
    email: str | None
    role: Role
    spending_cap_cents: int | None
    mfa_level: str = strawberry.field(description='"aal1" or "aal2", from the token.')
    suspended: bool

    @strawberry.field(description="For non-admins: allowed false, reason null.")
    async def admin_access(self, info: Info) -> AdminAccess:
        found = await info.context.admin_access()
        return AdminAccess(allowed=found.allowed, reason=found.reason)

    @strawberry.field(description="The free allowance each month, in cents.")
    async def free_allowance_cents(self, info: Info) -> int:
        return _allowance(info, info.context.signed_in)

    @strawberry.field
    async def credits(self, info: Info) -> CreditBalance:
        viewer = info.context.signed_in
        allowance = _allowance(info, viewer)
        found = await credits.balance(info.context.runtime.db, viewer, allowance)
        return CreditBalance(
            free_remaining=found.free_remaining_cents,
            period_usage_cents=found.period_usage_cents,
            reserved_cents=found.reserved_cents,
        )

    @strawberry.field(description="The plan, this month's usage and invoices.")
    async def billing(self, info: Info) -> Billing:
        return await billing_of(info, info.context.signed_in)

    @classmethod
    def of(cls, viewer: accounts.Viewer) -> Viewer:
        return cls(
            id=strawberry.ID(str(viewer.id)),
            email=viewer.email,
            # The stored role: an admin outside the admin conditions still sees ADMIN, and
            # adminAccess says why the console is closed.
            role=viewer.stored_role,
            spending_cap_cents=viewer.spending_cap_cents,
            mfa_level=viewer.mfa_level,
            suspended=viewer.suspended,
        )


def _allowance(info: Info, viewer: accounts.Viewer) -> int:
    # Guests (Supabase anonymous sign-ins) get no free credits: they sign up to run.
    return 0 if viewer.is_anonymous else info.context.runtime.settings.FREE_MONTHLY_CREDITS_CENTS


@strawberry.type
class CheckoutSession:
    url: str


@strawberry.type
class PortalSession:
    url: str
