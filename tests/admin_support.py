"""Signing in as an admin the whole way: dev sign-in, TOTP enrollment and a verified code
(the local issuer's MFA routes, shaped like Supabase's), giving an aal2 token."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pyotp

from support import User, sign_in


@dataclass
class Authenticator:
    factor_id: str
    secret: str

    def code(self, *, offset_steps: int = 0) -> str:
        totp = pyotp.TOTP(self.secret)
        import time

        return totp.at(time.time() + offset_steps * totp.interval)


async def enroll(client: httpx.AsyncClient, token: str) -> Authenticator:
    response = await client.post(
        "/auth/v1/factors",
        json={"factor_type": "totp", "friendly_name": "phone"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["totp"]["qr_code"].startswith("data:image/svg+xml")
    return Authenticator(body["id"], body["totp"]["secret"])


async def step_up(
    client: httpx.AsyncClient, token: str, factor: Authenticator, code: str | None = None
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    challenge = await client.post(f"/auth/v1/factors/{factor.factor_id}/challenge", headers=headers)
    assert challenge.status_code == 200, challenge.text
    return await client.post(
        f"/auth/v1/factors/{factor.factor_id}/verify",
        json={"challenge_id": challenge.json()["id"], "code": code or factor.code()},
        headers=headers,
    )


async def sign_in_admin(client: httpx.AsyncClient) -> tuple[User, User]:
    """(the admin with aal1, the same admin stepped up to aal2)."""
    admin = await sign_in(client, role="ADMIN")
    factor = await enroll(client, admin.token)
    verified = await step_up(client, admin.token, factor)
    assert verified.status_code == 200, verified.text
    token = verified.json()["access_token"]
    return admin, User(client=client, token=token, email=admin.email, id=admin.id)
