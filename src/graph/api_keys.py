"""API keys: listed, created (the secret shown once) and revoked by their owner, never with
a key."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry

from graph.permissions import NotApiKey
from graph.types import Info, parse_id
from services.accounts import api_keys
from services.platform.errors import NotFound


@strawberry.enum(description="READ reads; RUN also writes and spends (runs workflows).")
class ApiKeyScope(enum.Enum):
    READ = "READ"
    RUN = "RUN"


@strawberry.type
class ApiKey:
    id: strawberry.ID
    name: str
    prefix: str
    scopes: list[ApiKeyScope]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, r: api_keys.ApiKeyRecord) -> ApiKey:
        return cls(
            id=strawberry.ID(str(r.id)),
            name=r.name,
            prefix=f"lat_{r.prefix}",
            scopes=[ApiKeyScope(s) for s in r.scopes],
            created_at=r.created_at,
            last_used_at=r.last_used_at,
            revoked_at=r.revoked_at,
        )


@strawberry.type
class CreatedApiKey:
    secret: str = strawberry.field(description="Shown once: only a hash is kept.")
    api_key: ApiKey


@strawberry.type
class ApiKeyQuery:
    @strawberry.field(
        description="The viewer's API keys, newest first.", permission_classes=[NotApiKey]
    )
    async def api_keys(self, info: Info) -> list[ApiKey]:
        found = await api_keys.list_keys(info.context.runtime.db, info.context.signed_in)
        return [ApiKey.of(r) for r in found]


@strawberry.type
class ApiKeyMutation:
    @strawberry.mutation(permission_classes=[NotApiKey])
    async def create_api_key(
        self, info: Info, name: str, scopes: list[ApiKeyScope]
    ) -> CreatedApiKey:
        secret, record = await api_keys.create_key(
            info.context.runtime.db,
            info.context.signed_in,
            name,
            [s.value for s in scopes],
            ip=info.context.client_ip,
        )
        return CreatedApiKey(secret=secret, api_key=ApiKey.of(record))

    @strawberry.mutation(permission_classes=[NotApiKey])
    async def revoke_api_key(self, info: Info, id: strawberry.ID) -> ApiKey:
        key_id = parse_id(id)
        if key_id is None:
            raise NotFound("API key", str(id))
        record = await api_keys.revoke_key(
            info.context.runtime.db, info.context.signed_in, key_id, ip=info.context.client_ip
        )
        return ApiKey.of(record)
