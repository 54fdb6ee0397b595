"""One settings object, read from the environment and an optional `.env`."""

from __future__ import annotations

import os
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


class InsecureSettingError(RuntimeError):
    pass


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=True)

    # Production unless dev is asked for: a forgotten variable must not turn on dev sign-in,
    # GraphiQL and unmasked errors (`make dev`, the tests and the benches set dev).
    LATTICE_ENV: Literal["dev", "production"] = "production"
    DATABASE_URL: str | None = None
    REDIS_URL: str | None = None
    SUPABASE_URL: str | None = None
    SUPABASE_ANON_KEY: str | None = None
    SUPABASE_JWT_SECRET: SecretStr | None = None
    SUPABASE_SERVICE_ROLE_KEY: SecretStr | None = None
    FAL_KEY: SecretStr | None = None
    STRIPE_SECRET_KEY: SecretStr | None = None
    STRIPE_WEBHOOK_SECRET: SecretStr | None = None
    # Networks admins may use their powers from (comma-separated CIDRs); empty means loopback
    # in dev and nowhere in production. X-Forwarded-For counts only from TRUSTED_PROXIES.
    ADMIN_ALLOWED_IPS: str = ""
    TRUSTED_PROXIES: str = ""
    # The first-party client's trusted documents ({sha256: document}, written by its build);
    # default: src/graph/trusted_documents.json.
    TRUSTED_DOCUMENTS_PATH: str | None = None
    # Whether any caller may send its own GraphQL documents; default: only in dev (API keys
    # always may).
    GRAPHQL_OPEN_DOCUMENTS: bool | None = None
    PORT: int = 8000
    # Origins (host:port) of local stand-ins the API may fetch media from although they are
    # on loopback: the local fal server's CDN under `make dev` and the tests. Refused in
    # production, where fetched media must resolve to public addresses.
    LOCAL_MEDIA_ORIGINS: str = ""
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
    # The largest LoRA a Pro user may upload as a file (FLUX LoRAs are tens to a few
    # hundred MB); the upload is cut off with 413 as soon as it streams past this.
    LORA_UPLOAD_MAX_BYTES: int = Field(default=512 * 1024 * 1024, ge=1024)
    # A worker silent this long is presumed dead and its unfinished messages are redelivered;
    # maintenance (which does the redelivery) runs on this many Redis commands in a million.
    QUEUE_HEARTBEAT_TIMEOUT_MS: int = Field(default=60_000, ge=1000)
    QUEUE_MAINTENANCE_CHANCE: int = Field(default=1000, ge=0, le=1_000_000)
    # A worker executing a node renews a lease this long; a duplicate delivery of the same
    # node waits for it to lapse (the holder died) before resuming the node's fal request.
    NODE_LEASE_SECONDS: float = Field(default=30.0, gt=0)
    # How long one delivery of a node may take to submit it to fal before another delivery
    # may try (the first is presumed dead). Longer than fal ever takes to accept a request:
    # a second submit while the first is still waiting for fal's answer would run twice.
    NODE_SUBMIT_LEASE_SECONDS: float = Field(default=60.0, gt=0)
    # Where fal sends its signed webhooks (`<base>/webhooks/fal`); default PUBLIC_URL. fal's
    # public keys (ED25519) are fetched from FAL_JWKS_URL.
    FAL_WEBHOOK_BASE_URL: str | None = None
    FAL_JWKS_URL: str = "https://rest.alpha.fal.ai/.well-known/jwks.json"
    # Each worker process follows every fal request it has in flight on one event loop:
    # this often, this many calls to fal at once, at most this many requests.
    FOLLOWER_POLL_SECONDS: float = Field(default=0.5, gt=0)
    FOLLOWER_CONCURRENCY: int = Field(default=64, ge=1)
    # The polling budget of one worker process: with many requests in flight each is polled
    # less often (completions still arrive at once by webhook).
    FOLLOWER_POLLS_PER_SECOND: float = Field(default=100.0, gt=0)
    FOLLOWER_MAX_TRACKED: int = Field(default=5_000, ge=1)
    # A node queued this long without reaching fal lost its message: it is sent again.
    NODE_STALL_SECONDS: float = Field(default=120.0, gt=0)
    # Billable mutations (runs) each user may start per minute.
    RUNS_PER_MINUTE: int = Field(default=30, ge=1)
    # Live WebSocket connections one user may hold to one API process (tabs, devices,
    # integrations); a bound on what one account can make a process hold.
    WS_CONNECTIONS_PER_USER: int = Field(default=20, ge=1)
    # API processes `python -m graph.app` runs on this machine (default: one per core in
    # production, one in dev). They share nothing but PostgreSQL and Redis.
    API_PROCESSES: int | None = Field(default=None, ge=1)
    # Writes (mutations that create, change, spend) per minute: each user's own sessions
    # together, and each API key on its own.
    WRITES_PER_MINUTE: int = Field(default=120, ge=1)
    API_KEY_WRITES_PER_MINUTE: int = Field(default=60, ge=1)
    # Stripe's API; set to a local server's address in dev and tests (`make dev` runs one).
    STRIPE_API_BASE: str | None = None
    # The Billing Meter every Pro charge is reported to, one unit per cent.
    STRIPE_METER_EVENT_NAME: str = "lattice_usage_cents"
    # An optional flat monthly price on top of usage, in cents (0: usage only).
    STRIPE_PRO_BASE_PRICE_CENTS: int = Field(default=0, ge=0)
    # Pro users start with this monthly spending cap and may raise it up to the maximum;
    # only an admin can lift a user above that.
    PRO_DEFAULT_SPENDING_CAP_CENTS: int = Field(default=5_000, ge=0)
    PRO_MAX_SPENDING_CAP_CENTS: int = Field(default=100_000, ge=0)
    # How long a past_due subscription keeps Pro before the user returns to Free.
    PAST_DUE_GRACE_SECONDS: float = Field(default=7 * 86_400, ge=0)
    # What the platform may spend on fal per UTC day, all users together; past it new runs
    # are refused (UNAVAILABLE) until the next day.
    PLATFORM_DAILY_SPEND_LIMIT_CENTS: int = Field(default=1_000_000, ge=0)
    # Charges not reported to Stripe this long after they were made are sent again by the
    # billing sweep, which runs this often.
    USAGE_REPORT_RETRY_AFTER_SECONDS: float = Field(default=180.0, ge=0)
    BILLING_SWEEP_INTERVAL_SECONDS: float = Field(default=60.0, gt=0)

    @property
    def is_dev(self) -> bool:
        return self.LATTICE_ENV == "dev"

    @property
    def graphql_open_documents(self) -> bool:
        return self.is_dev if self.GRAPHQL_OPEN_DOCUMENTS is None else self.GRAPHQL_OPEN_DOCUMENTS

    @property
    def local_media_origins(self) -> tuple[str, ...]:
        return tuple(o.strip() for o in self.LOCAL_MEDIA_ORIGINS.split(",") if o.strip())

    @property
    def public_url(self) -> str:
        return (self.PUBLIC_URL or f"http://127.0.0.1:{self.PORT}").rstrip("/")

    @property
    def fal_key(self) -> str:
        """Empty when unset; production refuses to start without one."""
        return self.FAL_KEY.get_secret_value() if self.FAL_KEY else ""

    @property
    def fal_webhook_url(self) -> str:
        return f"{(self.FAL_WEBHOOK_BASE_URL or self.public_url).rstrip('/')}/webhooks/fal"

    @property
    def api_processes(self) -> int:
        if self.API_PROCESSES is not None:
            return self.API_PROCESSES
        return 1 if self.is_dev else os.cpu_count() or 1

    @property
    def billing_enabled(self) -> bool:
        return self.STRIPE_SECRET_KEY is not None

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
        # Tokens and the service-role key travel to Supabase: never in the clear.
        if not str(self.SUPABASE_URL).startswith("https://"):
            raise InsecureSettingError("LATTICE_ENV=production needs an https:// SUPABASE_URL")
        if self.local_media_origins:
            raise InsecureSettingError("LOCAL_MEDIA_ORIGINS is for dev and tests only")


def _networks(value: str) -> tuple[IPv4Network | IPv6Network, ...]:
    return tuple(
        ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip()
    )
