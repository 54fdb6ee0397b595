"""What every resolver receives: the process's resources and who is asking."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from graph.loaders import Loaders
from services.accounts import admin_access, api_keys
from services.accounts.admin_access import AdminAccess
from services.accounts.tokens import bearer_token
from services.accounts.viewer import Viewer, viewer_from_claims
from services.platform.errors import Unauthenticated
from services.runtime import Runtime


@dataclass
class Context:
    runtime: Runtime
    request: Request | WebSocket
    response: Response | WebSocket | None = None
    # Set by the WebSocket handler from the `connection_init` payload.
    connection_params: dict[str, Any] | None = None
    _viewer: Viewer | None = field(default=None, init=False)
    _checked: bool = field(default=False, init=False)
    _loaders: Loaders | None = field(default=None, init=False)

    def _authorization(self) -> str | None:
        if self.connection_params is not None:
            value = self.connection_params.get("Authorization") or self.connection_params.get(
                "authorization"
            )
            return str(value) if value else None
        return self.request.headers.get("authorization")

    @property
    def client_ip(self) -> str | None:
        """The socket peer, or what a trusted proxy said it is: uvicorn's ProxyHeadersMiddleware
        rewrites the peer only for connections from TRUSTED_PROXIES."""
        client = self.request.client
        return client.host if client else None

    @property
    def admin_networks(self) -> admin_access.Networks:
        settings = self.runtime.settings
        return admin_access.allowed_networks(settings.admin_networks, is_dev=settings.is_dev)

    async def viewer(self) -> Viewer | None:
        """The signed-in user (or API key's owner), as this request may act: an admin
        outside the admin conditions is an ordinary user. None without a token; a bad
        token is an error, never anonymous."""
        if not self._checked:
            token = bearer_token(self._authorization())
            if token is not None:
                viewer = await self._authenticate(token)
                self._viewer = admin_access.for_request(viewer, self.client_ip, self.admin_networks)
            self._checked = True
        return self._viewer

    async def _authenticate(self, token: str) -> Viewer:
        if api_keys.is_api_key(token):
            return await api_keys.authenticate(self.runtime.db, token)
        claims = await self.runtime.verifier.verify_cached(token)
        return await viewer_from_claims(self.runtime.db, claims)

    async def admin_access(self) -> AdminAccess:
        viewer = await self.viewer()
        if viewer is None:
            return AdminAccess(False, None)
        return admin_access.access_of(viewer, self.client_ip, self.admin_networks)

    async def require_viewer(self) -> Viewer:
        viewer = await self.viewer()
        if viewer is None:
            raise Unauthenticated("Sign in to use Lattice")
        return viewer

    @property
    def signed_in(self) -> Viewer:
        """The viewer a permission class established before the resolver ran."""
        if self._viewer is None:
            raise Unauthenticated("Sign in to use Lattice")
        return self._viewer

    def reset_loaders(self) -> None:
        """A subscription lives long: each event reads fresh state, not a cached batch."""
        self._loaders = None

    async def loaders(self) -> Loaders:
        if self._loaders is None:
            viewer = await self.require_viewer()
            self._loaders = Loaders(self.runtime.db, viewer, self.runtime.storage)
        return self._loaders
