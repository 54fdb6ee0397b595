"""A local stand-in for Supabase Auth in dev: signs ES256 access tokens with the same
claims Supabase issues and publishes its key as a JWKS, so tokens are verified by exactly
the code that verifies Supabase's."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

TOKEN_TTL_SECONDS = 3600


class DevIssuer:
    def __init__(self, key_file: Path, issuer: str) -> None:
        self._key_file = key_file
        self.issuer = issuer
        self._key = self._load_or_create()

    def _load_or_create(self) -> ec.EllipticCurvePrivateKey:
        key = self._load()
        if key is not None:
            return key
        # Several API processes may start on an empty data directory at once. The first
        # key to be linked into place wins and the others load it, so every process signs
        # with, and publishes, the same key (a token from one verifies on another).
        key = ec.generate_private_key(ec.SECP256R1())
        draft = self._write_draft(key)
        try:
            os.link(draft, self._key_file)
        except FileExistsError:
            return self._load() or self.rotate()
        finally:
            draft.unlink()
        return key

    def rotate(self) -> ec.EllipticCurvePrivateKey:
        """Replace the signing key, as an operator rotating Supabase's keys would."""
        key = ec.generate_private_key(ec.SECP256R1())
        os.replace(self._write_draft(key), self._key_file)
        self._key = key
        return key

    def _load(self) -> ec.EllipticCurvePrivateKey | None:
        try:
            key = serialization.load_pem_private_key(self._key_file.read_bytes(), password=None)
        except FileNotFoundError:
            return None
        return key if isinstance(key, ec.EllipticCurvePrivateKey) else None

    def _write_draft(self, key: ec.EllipticCurvePrivateKey) -> Path:
        """The key in a file of its own beside the real one, readable only by us from the
        start (never briefly world-readable under a loose umask)."""
        self._key_file.parent.mkdir(parents=True, exist_ok=True)
        draft = self._key_file.with_name(f".{self._key_file.name}.{uuid.uuid4().hex}")
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(pem)
        return draft

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
