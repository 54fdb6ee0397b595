"""API keys for integrators: `lat_<prefix>_<secret>`. The prefix identifies the key (and is
shown in lists); the secret is 256 bits from `secrets`, returned once, stored as SHA-256 (a
slow hash adds nothing for a secret this random). A key acts as its user under row-level
security, limited to its scopes; it is looked up on every request, so revoking it takes
effect at once."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from services.accounts.viewer import Viewer, viewer_from_claims
from services.platform import audit
from services.platform.database import Database
from services.platform.errors import NotFound, Unauthenticated, ValidationFailed

KEY_PREFIX = "lat_"
SCOPES = ("READ", "RUN")
MAX_KEYS_PER_USER = 50
# last_used_at is written at most this often per key: a busy key costs no write per request.
TOUCH_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True)
class ApiKeyRecord:
    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def from_row(cls, row: Any) -> ApiKeyRecord:
        return cls(
            id=row["id"],
            name=row["name"],
            prefix=row["prefix"],
            scopes=list(row["scopes"]),
            created_at=row["created_at"],
            last_used_at=row["last_used_at"],
            revoked_at=row["revoked_at"],
        )


COLUMNS = "id, name, prefix, scopes, created_at, last_used_at, revoked_at"


def is_api_key(token: str) -> bool:
    return token.startswith(KEY_PREFIX)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _split(token: str) -> tuple[str, str] | None:
    body = token[len(KEY_PREFIX) :]
    prefix, sep, _ = body.partition("_")
    if not sep or len(prefix) != 8:
        return None
    return prefix, token


async def create_key(
    db: Database, viewer: Viewer, name: str, scopes: Sequence[str], *, ip: str | None
) -> tuple[str, ApiKeyRecord]:
    name = name.strip()
    if not 1 <= len(name) <= 120:
        raise ValidationFailed.single(
            "INVALID_ARGUMENT", "A key's name must be 1-120 characters", field="name"
        )
    wanted = sorted(set(scopes))
    if not wanted or any(s not in SCOPES for s in wanted):
        raise ValidationFailed.single(
            "INVALID_ARGUMENT", "Choose at least one scope: READ or RUN", field="scopes"
        )
    prefix = secrets.token_hex(4)
    secret = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    # Keys are written by the service (users have no insert grant: the hash must be ours).
    async with db.as_service() as conn:
        count = await conn.fetchval(
            "select count(*) from public.api_keys where user_id = $1 and revoked_at is null",
            viewer.id,
        )
        if count >= MAX_KEYS_PER_USER:
            raise ValidationFailed.single(
                "TOO_MANY_KEYS",
                f"At most {MAX_KEYS_PER_USER} active keys; revoke one first",
                field="name",
            )
        row = await conn.fetchrow(
            f"""
            insert into public.api_keys (user_id, name, prefix, secret_hash, scopes)
            values ($1, $2, $3, $4, $5) returning {COLUMNS}
            """,
            viewer.id,
            name,
            prefix,
            _hash(secret),
            wanted,
        )
        await audit.record(
            conn,
            "api_key.created",
            actor_id=viewer.id,
            target=str(row["id"]),
            ip=ip,
            details={"name": name, "prefix": prefix, "scopes": wanted},
        )
    return secret, ApiKeyRecord.from_row(row)


async def list_keys(db: Database, viewer: Viewer) -> list[ApiKeyRecord]:
    async with db.as_user(viewer.claims) as conn:
        rows = await conn.fetch(
            f"select {COLUMNS} from public.api_keys order by created_at desc, id desc"
        )
    return [ApiKeyRecord.from_row(r) for r in rows]


async def revoke_key(
    db: Database, viewer: Viewer, key_id: uuid.UUID, *, ip: str | None
) -> ApiKeyRecord:
    async with db.as_user(viewer.claims) as conn:
        # Row-level security: another user's key is simply not found.
        owned = await conn.fetchval("select id from public.api_keys where id = $1", key_id)
    if owned is None:
        raise NotFound("API key", str(key_id))
    async with db.as_service() as conn:
        row = await conn.fetchrow(
            f"""
            update public.api_keys set revoked_at = coalesce(revoked_at, now())
            where id = $1 and user_id = $2 returning {COLUMNS}
            """,
            key_id,
            viewer.id,
        )
        await audit.record(
            conn,
            "api_key.revoked",
            actor_id=viewer.id,
            target=str(key_id),
            ip=ip,
            details={"prefix": row["prefix"]},
        )
    return ApiKeyRecord.from_row(row)


async def authenticate(db: Database, token: str) -> Viewer:
    """The viewer an API key acts as, with claims shaped like Supabase's so that the
    database session applies row-level security exactly as for a signed-in user."""
    parts = _split(token)
    if parts is None:
        raise Unauthenticated("The API key is invalid")
    prefix, secret = parts
    async with db.as_service() as conn:
        row = await conn.fetchrow(
            """
            with found as (
              select id, user_id, scopes from public.api_keys
              where prefix = $1 and secret_hash = $2 and revoked_at is null
            ), touched as (
              update public.api_keys set last_used_at = now()
              where id = (select id from found)
                and (last_used_at is null or last_used_at < now() - $3::interval)
              returning 1
            )
            select f.id, f.user_id, f.scopes, u.email from found f
            join auth.users u on u.id = f.user_id
            """,
            prefix,
            _hash(secret),
            TOUCH_INTERVAL,
        )
    if row is None:
        raise Unauthenticated("The API key is invalid or was revoked")
    claims = {
        "sub": str(row["user_id"]),
        "role": "authenticated",
        "aud": "authenticated",
        "aal": "aal1",
        "email": row["email"] or "",
        "is_anonymous": False,
        "api_key_id": str(row["id"]),
    }
    viewer = await viewer_from_claims(db, claims)
    return replace(viewer, key_scopes=frozenset(row["scopes"]))


async def is_active(db: Database, key_id: str) -> bool:
    async with db.as_service() as conn:
        found = await conn.fetchval(
            "select revoked_at is null from public.api_keys where id = $1::uuid", key_id
        )
    return bool(found)
