"""When an ADMIN's powers apply: from an allowed network, with a second factor (aal2), never
through an API key. Anywhere else the admin is an ordinary user on that request."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_address

from services.accounts.viewer import Role, Viewer

NOT_FROM_ALLOWED_NETWORK = "not from an allowed network"
NEEDS_MFA = "needs MFA"
NOT_WITH_API_KEY = "not with an API key"

Networks = tuple[IPv4Network | IPv6Network, ...]


@dataclass(frozen=True)
class AdminAccess:
    allowed: bool
    reason: str | None


def ip_allowed(ip: str | None, networks: Networks) -> bool:
    if ip is None:
        return False
    try:
        address = ip_address(ip)
    except ValueError:
        return False
    return any(address in network for network in networks)


def access_of(viewer: Viewer, ip: str | None, networks: Networks) -> AdminAccess:
    """For non-admins: not allowed, and no reason (there is nothing they could do about it)."""
    if viewer.stored_role != Role.ADMIN:
        return AdminAccess(False, None)
    if viewer.via_api_key:
        return AdminAccess(False, NOT_WITH_API_KEY)
    if not ip_allowed(ip, networks):
        return AdminAccess(False, NOT_FROM_ALLOWED_NETWORK)
    if not viewer.mfa_verified:
        return AdminAccess(False, NEEDS_MFA)
    return AdminAccess(True, None)


def for_request(viewer: Viewer, ip: str | None, networks: Networks) -> Viewer:
    """The viewer as this request may act: an admin without access loses the role."""
    access = access_of(viewer, ip, networks)
    if viewer.role == Role.ADMIN and not access.allowed:
        return viewer.without_admin_powers(access.reason or NOT_FROM_ALLOWED_NETWORK)
    return viewer


LOOPBACK: Networks = (IPv4Network("127.0.0.0/8"), IPv6Network("::1/128"))


def allowed_networks(configured: Networks, *, is_dev: bool) -> Networks:
    """ADMIN_ALLOWED_IPS; when empty, loopback in dev and nothing at all in production."""
    if configured:
        return configured
    return LOOPBACK if is_dev else ()
