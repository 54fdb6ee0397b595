"""TOTP factors for the local issuer, shaped like Supabase Auth's MFA API so the client's
flow is the same in dev: enroll (a secret and its QR code), challenge, verify (the session
steps up to aal2). An unverified factor does not count; the first valid code verifies it.
Secrets stay in `mfa_factors`, which no user role can read."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyotp
import segno

from services.platform.database import Database
from services.platform.errors import NotFound, ValidationFailed

ISSUER_NAME = "Lattice"
# Codes from the step before and after also count: phones' clocks drift.
VALID_WINDOW = 1


@dataclass(frozen=True)
class Enrollment:
    id: uuid.UUID
    secret: str
    uri: str
    qr_code: str  # an SVG data URI, as Supabase returns


@dataclass(frozen=True)
class Factor:
    id: uuid.UUID
    friendly_name: str | None
    status: str
    created_at: datetime
    updated_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "friendly_name": self.friendly_name,
            "factor_type": "totp",
            "status": self.status,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


def _qr_svg(uri: str) -> str:
    return str(segno.make(uri, error="m").svg_data_uri(scale=4))


async def enroll(
    db: Database, user_id: uuid.UUID, email: str | None, friendly_name: str | None
) -> Enrollment:
    secret = pyotp.random_base32()
    uri = pyotp.TOTP(secret).provisioning_uri(name=email or str(user_id), issuer_name=ISSUER_NAME)
    async with db.as_service() as conn:
        # Unverified leftovers of earlier attempts are dropped, as Supabase does.
        await conn.execute(
            "delete from public.mfa_factors where user_id = $1 and status = 'unverified'", user_id
        )
        factor_id = await conn.fetchval(
            "insert into public.mfa_factors (user_id, friendly_name, secret) values ($1, $2, $3)"
            " returning id",
            user_id,
            friendly_name,
            secret,
        )
    return Enrollment(factor_id, secret, uri, _qr_svg(uri))


async def list_factors(db: Database, user_id: uuid.UUID) -> list[Factor]:
    async with db.as_service() as conn:
        rows = await conn.fetch(
            "select id, friendly_name, status, created_at, updated_at from public.mfa_factors"
            " where user_id = $1 order by created_at",
            user_id,
        )
    return [Factor(**dict(r)) for r in rows]


async def challenge(
    db: Database, user_id: uuid.UUID, factor_id: uuid.UUID
) -> tuple[uuid.UUID, int]:
    async with db.as_service() as conn:
        row = await conn.fetchrow(
            """
            insert into public.mfa_challenges (factor_id)
            select id from public.mfa_factors where id = $1 and user_id = $2
            returning id, extract(epoch from expires_at)::bigint as expires_at
            """,
            factor_id,
            user_id,
        )
    if row is None:
        raise NotFound("Factor", str(factor_id))
    return row["id"], int(row["expires_at"])


async def verify(
    db: Database, user_id: uuid.UUID, factor_id: uuid.UUID, challenge_id: uuid.UUID, code: str
) -> None:
    """Accepts a current code once for an open challenge; the factor becomes verified."""
    async with db.as_service() as conn:
        row = await conn.fetchrow(
            """
            select f.secret, f.last_step from public.mfa_challenges c
            join public.mfa_factors f on f.id = c.factor_id
            where c.id = $1 and f.id = $2 and f.user_id = $3
              and c.verified_at is null and c.expires_at > now()
            for update of f, c
            """,
            challenge_id,
            factor_id,
            user_id,
        )
        if row is None:
            raise NotFound("Challenge", str(challenge_id))
        step = _matching_step(row["secret"], code.strip())
        if step is None or (row["last_step"] is not None and step <= row["last_step"]):
            raise ValidationFailed.single("INVALID_CODE", "That code is not valid", field="code")
        await conn.execute(
            "update public.mfa_challenges set verified_at = now() where id = $1", challenge_id
        )
        await conn.execute(
            "update public.mfa_factors set status = 'verified', last_step = $2, updated_at = now()"
            " where id = $1",
            factor_id,
            step,
        )


def _matching_step(secret: str, code: str) -> int | None:
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now = time.time()
    for offset in range(-VALID_WINDOW, VALID_WINDOW + 1):
        at = now + offset * totp.interval
        if totp.verify(code, for_time=at, valid_window=0):
            return int(totp.timecode(at))
    return None
