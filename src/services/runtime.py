"""The long-lived resources of one process (API or worker), opened once and shared."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as aioredis

from services.accounts.dev_issuer import DevIssuer
from services.accounts.tokens import TokenVerifier
from services.assets.storage import LocalDiskStorage, Storage, SupabaseStorage
from services.billing.stripe_gateway import StripeGateway
from services.fal.gateway import FalGateway
from services.fal.webhooks import FalWebhookVerifier
from services.platform import database, key_files
from services.platform.config import Settings
from services.platform.database import Database
from services.platform.rate_limits import RateLimits
from services.runs.dispatch import Broker, make_broker
from services.runs.engine import Engine
from services.runs.events import EventHub
from services.runs.hand_off import HandOff
from services.runs.submission import Submitter


class ConfigurationError(RuntimeError):
    pass


@dataclass
class Resources:
    """What every Lattice process opens once, API or worker: the database pool, Redis, the
    run engine and the outside services' gateways."""

    settings: Settings
    db: Database
    redis: aioredis.Redis
    engine: Engine
    fal: FalGateway
    storage: Storage
    stripe: StripeGateway | None

    @property
    def submitter(self) -> Submitter:
        return Submitter(self.engine, self.fal, self.storage)

    def shared(self) -> dict[str, Any]:
        """These resources as keyword arguments, for a process's own, larger set."""
        return {f.name: getattr(self, f.name) for f in fields(Resources)}


@asynccontextmanager
async def open_resources(settings: Settings, broker: Broker) -> AsyncIterator[Resources]:
    if not settings.DATABASE_URL:
        raise ConfigurationError(
            "DATABASE_URL is not set (`make dev` starts an embedded PostgreSQL)"
        )
    if not settings.REDIS_URL:
        raise ConfigurationError("REDIS_URL is not set (`make dev` starts an embedded Redis)")
    db = await database.connect(settings.DATABASE_URL, max_size=settings.DB_POOL_MAX)
    redis = aioredis.from_url(settings.REDIS_URL)
    try:
        yield Resources(
            settings=settings,
            db=db,
            redis=redis,
            engine=Engine(settings=settings, db=db, redis=redis, broker=broker),
            fal=FalGateway(settings.fal_key),
            storage=make_storage(settings),
            stripe=StripeGateway(settings) if settings.billing_enabled else None,
        )
    finally:
        await redis.aclose()
        await db.close()


@dataclass
class Runtime(Resources):
    """An API process's resources: the shared ones, and what serving requests needs."""

    http: httpx.AsyncClient
    verifier: TokenVerifier
    dev_issuer: DevIssuer | None
    hub: EventHub
    fal_webhooks: FalWebhookVerifier
    rate_limits: RateLimits
    hand_off: HandOff


@asynccontextmanager
async def open_runtime(settings: Settings) -> AsyncIterator[Runtime]:
    settings.check_production_secrets()
    async with open_resources(settings, broker_for(settings)) as resources:
        assert settings.REDIS_URL
        http = httpx.AsyncClient(timeout=10.0)
        hub = EventHub(resources.redis, resources.db)
        hand_off = HandOff(resources.submitter)
        try:
            if isinstance(resources.storage, SupabaseStorage):
                await resources.storage.ensure_bucket()
            await hub.start()
            secret = (
                settings.SUPABASE_JWT_SECRET.get_secret_value()
                if settings.SUPABASE_JWT_SECRET
                else None
            )
            yield Runtime(
                **resources.shared(),
                http=http,
                verifier=TokenVerifier(
                    jwks_url=settings.jwks_url,
                    issuer=settings.auth_issuer,
                    http=http,
                    hs256_secret=secret,
                ),
                dev_issuer=(
                    DevIssuer(Path(settings.DATA_DIR) / "dev-issuer-key.pem", settings.auth_issuer)
                    if settings.uses_dev_issuer
                    else None
                ),
                hub=hub,
                fal_webhooks=FalWebhookVerifier(settings.FAL_JWKS_URL, http),
                rate_limits=RateLimits(
                    settings.REDIS_URL,
                    per_user=settings.WRITES_PER_MINUTE,
                    per_key=settings.API_KEY_WRITES_PER_MINUTE,
                ),
                hand_off=hand_off,
            )
        finally:
            await hand_off.close()
            await hub.stop()
            await http.aclose()


def make_storage(settings: Settings) -> Storage:
    """Supabase Storage when the project is configured; local disk otherwise."""
    if settings.SUPABASE_URL and settings.SUPABASE_SERVICE_ROLE_KEY:
        return SupabaseStorage(
            settings.SUPABASE_URL,
            settings.SUPABASE_SERVICE_ROLE_KEY.get_secret_value(),
            settings.STORAGE_BUCKET,
        )
    return local_storage(settings)


def local_storage(settings: Settings) -> Storage:
    """Local disk in dev and tests; the API and workers share the folder and its key."""
    data_dir = Path(settings.DATA_DIR)
    return LocalDiskStorage(
        data_dir / "storage", settings.public_url, _local_secret(data_dir / "files-key")
    )


def _local_secret(path: Path) -> bytes:
    """A random key kept on disk, so the API and workers sign file URLs alike."""
    return key_files.first_written(path, lambda: secrets.token_bytes(32))


def broker_for(settings: Settings) -> Broker:
    """The Dramatiq broker on the configured Redis, for an API or a worker."""
    assert settings.REDIS_URL
    return make_broker(
        settings.REDIS_URL,
        heartbeat_timeout_ms=settings.QUEUE_HEARTBEAT_TIMEOUT_MS,
        maintenance_chance=settings.QUEUE_MAINTENANCE_CHANCE,
    )
