"""Who may resolve a field. Every root field names one of these (tests/test_authorization.py
fails for a field without one); the resolver then reads `info.context.signed_in` without
checking again.

- `Anyone`: no token needed (answers null or public data when signed out).
- `SignedIn`: a user token, or an API key of any scope (reads).
- `CanRun`: writes, spending included: a user token, or an API key with the RUN scope.
- `NotApiKey`: a user's own session only: key management, billing and account settings.
- `AdminConsole`: an ADMIN, from ADMIN_ALLOWED_IPS, with MFA (aal2), never with an API key.
  Every refusal is written to the audit log with the IP."""

from __future__ import annotations

import logging
from typing import Any

from graphql import OperationType
from strawberry.permission import BasePermission

from graph.context import Context
from services.accounts.admin_access import NEEDS_MFA
from services.accounts.viewer import Role
from services.platform import audit
from services.platform.errors import Forbidden

log = logging.getLogger(__name__)


class LatticePermission(BasePermission):
    """Raises our typed errors itself (code and message), so `on_unauthorized` never runs."""

    message = "Not allowed"
    # Mutations under this permission count against the write rate limits.
    throttled = False

    async def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        await self.check(info.context)
        if self.throttled:
            await _throttle(info)
        return True

    async def check(self, context: Context) -> None:
        raise NotImplementedError


class Anyone(LatticePermission):
    async def check(self, context: Context) -> None:
        # A bad token is still an error, never anonymous.
        await context.viewer()


class SignedIn(LatticePermission):
    async def check(self, context: Context) -> None:
        await context.require_viewer()


class CanRun(LatticePermission):
    """Writes; each counts against the user's (or the key's own) rate limit."""

    throttled = True

    async def check(self, context: Context) -> None:
        viewer = await context.require_viewer()
        if viewer.key_scopes is not None and "RUN" not in viewer.key_scopes:
            raise Forbidden("This API key may only read: create a key with the RUN scope")


class NotApiKey(LatticePermission):
    throttled = True

    async def check(self, context: Context) -> None:
        viewer = await context.require_viewer()
        if viewer.via_api_key:
            raise Forbidden("API keys cannot do this; sign in to Lattice")


# Run starts have their own limit (RUNS_PER_MINUTE, services/runs/start.py), which
# benchmarks and scale-out tests raise on their own.
OWN_LIMIT = frozenset({"runWorkflow"})


async def _throttle(info: Any) -> None:
    if info.operation.operation != OperationType.MUTATION or info.field_name in OWN_LIMIT:
        return
    context: Context = info.context
    viewer = context.signed_in
    await context.runtime.rate_limits.hit(
        user_id=str(viewer.id), key_id=viewer.claims.get("api_key_id")
    )


REFUSED_ACTION = "admin.refused"


class AdminConsole(LatticePermission):
    async def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        context: Context = info.context
        try:
            await self.check(context)
        except Forbidden as exc:
            # Signed-in callers only: anonymous requests must not be able to fill the log.
            await _record_refusal(context, info.field_name, exc.message)
            raise
        return True

    async def check(self, context: Context) -> None:
        viewer = await context.require_viewer()
        access = await context.admin_access()
        if access.allowed:
            return
        if viewer.stored_role != Role.ADMIN:
            raise Forbidden("The admin console is for admins", reason=None)
        reason = access.reason or "not allowed"
        hint = " (enroll an authenticator and verify a code)" if reason == NEEDS_MFA else ""
        raise Forbidden(f"Admin access refused: {reason}{hint}", reason=reason)


async def _record_refusal(context: Context, field: str, message: str) -> None:
    viewer = context._viewer
    try:
        async with context.runtime.db.as_service() as conn:
            await audit.record(
                conn,
                REFUSED_ACTION,
                actor_id=viewer.id if viewer else None,
                ip=context.client_ip,
                details={"field": field, "message": message},
            )
    except Exception:  # the refusal stands even if it could not be written
        log.exception("could not write an admin refusal to the audit log")
