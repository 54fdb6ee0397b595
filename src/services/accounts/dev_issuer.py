"""A local stand-in for Supabase Auth in dev: signs ES256 access tokens with the same
claims Supabase issues and publishes its key as a JWKS, so tokens are verified by exactly
the code that verifies Supabase's."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from services.platform import key_files

TOKEN_TTL_SECONDS = 3600


class DevIssuer:
    def __init__(self, key_file: Path, issuer: str) -> None:
        self._key_file = key_file
        self.issuer = issuer
        self._key = self._load_or_create()

    def _load_or_create(self) -> ec.EllipticCurvePrivateKey:
        # Every API process signs with, and publishes, the same key (a token from one
        # verifies on another), however many start together on an empty data directory.
        pem = key_files.first_written(
            self._key_file, lambda: _pem(ec.generate_private_key(ec.SECP256R1()))
        )
        key = serialization.load_pem_private_key(pem, password=None)
        return key if isinstance(key, ec.EllipticCurvePrivateKey) else self.rotate()

    def rotate(self) -> ec.EllipticCurvePrivateKey:
        """Replace the signing key, as an operator rotating Supabase's keys would."""
        key = ec.generate_private_key(ec.SECP256R1())
        key_files.replace(self._key_file, _pem(key))
        self._key = key
        return key

    @property
    def kid(self) -> str:
        numbers = self._key.public_key().public_numbers()
        return f"dev-{numbers.x:x}"[:24]

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self._key.public_key()))
        return {"keys": [{**jwk, "kid": self.kid, "alg": "ES256", "use": "sig"}]}

    def sign(
        self,
        *,
        user_id: uuid.UUID,
        email: str | None,
        role: str,
        anonymous: bool = False,
        mfa: bool = False,
    ) -> str:
        """`mfa`: the session stepped up with a verified TOTP code, as Supabase's
        `mfa.verify` answers: `aal2`, and `totp` added to `amr`."""
        now = int(time.time())
        amr = [{"method": "anonymous" if anonymous else "password", "timestamp": now}]
        if mfa:
            amr.insert(0, {"method": "totp", "timestamp": now})
        claims = {
            "iss": self.issuer,
            "aud": "authenticated",
            "exp": now + TOKEN_TTL_SECONDS,
            "iat": now,
            "sub": str(user_id),
            "role": "authenticated",
            "aal": "aal2" if mfa else "aal1",
            "amr": amr,
            "session_id": str(uuid.uuid4()),
            "email": email or "",
            "phone": "",
            "is_anonymous": anonymous,
            "app_metadata": {
                "provider": "anonymous" if anonymous else "email",
                "providers": ["anonymous" if anonymous else "email"],
                "role": role,
            },
            "user_metadata": {},
        }
        return jwt.encode(claims, self._key, algorithm="ES256", headers={"kid": self.kid})


def _pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
