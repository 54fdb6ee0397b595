"""One settings object, read from the environment and an optional `.env`."""

from __future__ import annotations

from functools import cached_property
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# Secrets that production refuses to start without; dev runs keyless against local stand-ins.
PRODUCTION_SECRETS = (
    "DATABASE_URL",
    "REDIS_URL",
    "SUPABASE_URL",
    "SUPABASE_SERVICE_ROLE_KEY",
    "FAL_KEY",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
)


class MissingSecretError(RuntimeError):
    pass


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=True)

    LATTICE_ENV: Literal["dev", "production"] = "dev"
    DATABASE_URL: str | None = None
    REDIS_URL: str | None = None
    SUPABASE_URL: str | None = None
    SUPABASE_ANON_KEY: str | None = None
    SUPABASE_JWT_SECRET: SecretStr | None = None
    SUPABASE_SERVICE_ROLE_KEY: SecretStr | None = None
    FAL_KEY: SecretStr | None = None
    STRIPE_SECRET_KEY: SecretStr | None = None
    STRIPE_WEBHOOK_SECRET: SecretStr | None = None
    ADMIN_ALLOWED_IPS: str = ""
    TRUSTED_PROXIES: str = ""
    PORT: int = 8000
    # Where this API is reachable; in dev the local token issuer lives here.
    PUBLIC_URL: str | None = None
    # Git-ignored folder for embedded servers, dev keys and local files.
    DATA_DIR: str = ".lattice"
    # The private Supabase Storage bucket persistent assets live in.
    STORAGE_BUCKET: str = "assets"
    FREE_MONTHLY_CREDITS_CENTS: int = Field(default=100, ge=0)
    DB_POOL_MAX: int = Field(default=10, ge=1)
    # How long fal may take for one node before it is cancelled and fails.
    NODE_DEADLINE_SECONDS: float = Field(default=900.0, gt=0)
    # fal keeps media at least 7 days by default; temporary assets expire from the gallery then.
    TEMPORARY_ASSET_DAYS: int = Field(default=7, ge=1)
    # A worker silent this long is presumed dead and its unfinished messages are redelivered;
    # maintenance (which does the redelivery) runs on this many Redis commands in a million.
    QUEUE_HEARTBEAT_TIMEOUT_MS: int = Field(default=60_000, ge=1000)
    QUEUE_MAINTENANCE_CHANCE: int = Field(default=1000, ge=0, le=1_000_000)
    # A worker executing a node renews a lease this long; a duplicate delivery of the same
    # node waits for it to lapse (the holder died) before resuming the node's fal request.
    NODE_LEASE_SECONDS: float = Field(default=30.0, gt=0)
    # Billable mutations (runs) each user may start per minute.
    RUNS_PER_MINUTE: int = Field(default=30, ge=1)

    @property
    def is_dev(self) -> bool:
        return self.LATTICE_ENV == "dev"

    @property
    def public_url(self) -> str:
        return (self.PUBLIC_URL or f"http://127.0.0.1:{self.PORT}").rstrip("/")

    @property
    def uses_dev_issuer(self) -> bool:
        """Dev without Supabase: the API signs and verifies its own tokens."""
        return self.is_dev and not self.SUPABASE_URL

    @property
    def auth_issuer(self) -> str:
        return f"{(self.SUPABASE_URL or self.public_url).rstrip('/')}/auth/v1"

    @property
    def jwks_url(self) -> str:
        return f"{self.auth_issuer}/.well-known/jwks.json"

    @cached_property
    def admin_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return _networks(self.ADMIN_ALLOWED_IPS)

    @cached_property
    def trusted_proxies(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return _networks(self.TRUSTED_PROXIES)

    def check_production_secrets(self) -> None:
        if self.is_dev:
            return
        missing = [name for name in PRODUCTION_SECRETS if not getattr(self, name)]
        if missing:
            raise MissingSecretError(
                "LATTICE_ENV=production needs these environment variables: " + ", ".join(missing)
            )


def _networks(value: str) -> tuple[IPv4Network | IPv6Network, ...]:
    return tuple(
        ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip()
    )
