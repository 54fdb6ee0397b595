"""The long-lived resources of one process (API or worker), opened once and shared."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

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
class Runtime:
    settings: Settings
    db: Database
    http: httpx.AsyncClient
    verifier: TokenVerifier
    dev_issuer: DevIssuer | None
    storage: Storage
    engine: Engine
    hub: EventHub
    stripe: StripeGateway | None
    fal_webhooks: FalWebhookVerifier
    rate_limits: RateLimits
    hand_off: HandOff


@asynccontextmanager
async def open_runtime(settings: Settings) -> AsyncIterator[Runtime]:
    settings.check_production_secrets()
    if not settings.DATABASE_URL:
        raise ConfigurationError(
            "DATABASE_URL is not set (`make dev` starts an embedded PostgreSQL)"
        )
    if not settings.REDIS_URL:
        raise ConfigurationError("REDIS_URL is not set (`make dev` starts an embedded Redis)")
    data_dir = Path(settings.DATA_DIR)
    db = await database.connect(settings.DATABASE_URL, max_size=settings.DB_POOL_MAX)
    http = httpx.AsyncClient(timeout=10.0)
    redis = aioredis.from_url(settings.REDIS_URL)
    hub = EventHub(redis, db)
    storage = make_storage(settings)
    engine = Engine(settings=settings, db=db, redis=redis, broker=_broker(settings))
    hand_off = HandOff(Submitter(engine, FalGateway(settings.fal_key), storage))
    try:
        if isinstance(storage, SupabaseStorage):
            await storage.ensure_bucket()
        await hub.start()
        dev_issuer = (
            DevIssuer(data_dir / "dev-issuer-key.pem", settings.auth_issuer)
            if settings.uses_dev_issuer
            else None
        )
        secret = (
            settings.SUPABASE_JWT_SECRET.get_secret_value()
            if settings.SUPABASE_JWT_SECRET
            else None
        )
        verifier = TokenVerifier(
            jwks_url=settings.jwks_url, issuer=settings.auth_issuer, http=http, hs256_secret=secret
        )
        yield Runtime(
            settings=settings,
            db=db,
            http=http,
            verifier=verifier,
            dev_issuer=dev_issuer,
            storage=storage,
            engine=engine,
            hub=hub,
            stripe=StripeGateway(settings) if settings.billing_enabled else None,
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
        await redis.aclose()
        await http.aclose()
        await db.close()


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


def _broker(settings: Settings) -> Broker:
    assert settings.REDIS_URL
    return make_broker(
        settings.REDIS_URL,
        heartbeat_timeout_ms=settings.QUEUE_HEARTBEAT_TIMEOUT_MS,
        maintenance_chance=settings.QUEUE_MAINTENANCE_CHANCE,
    )
