"""Persistent files behind one interface: Supabase Storage (a private bucket, through
storage3) in production; local disk served through signed, expiring URLs in dev and tests."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import shutil
import time
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

SIGNED_URL_TTL_SECONDS = 3600


class Storage(Protocol):
    async def put(self, path: str, data: bytes, content_type: str) -> None: ...
    async def put_file(self, path: str, source: Path, content_type: str) -> None:
        """Stores a file from local disk without reading it into memory (LoRAs run to
        hundreds of MB)."""
        ...

    async def signed_urls(
        self, paths: list[str], expires_in: int = SIGNED_URL_TTL_SECONDS
    ) -> dict[str, str]: ...
    async def remove(self, paths: list[str]) -> None: ...


class LocalDiskStorage:
    """Files under `root`, each reachable only through an HMAC-signed URL that expires,
    which the API's `/files/` route checks before serving."""

    def __init__(self, root: Path, public_url: str, secret: bytes) -> None:
        self.root = root
        self.public_url = public_url.rstrip("/")
        self._secret = secret

    def _file(self, path: str) -> Path:
        target = (self.root / path).resolve()
        if not target.is_relative_to(self.root.resolve()):
            raise ValueError(f"{path!r} escapes the storage root")
        return target

    async def put(self, path: str, data: bytes, content_type: str) -> None:
        target = self._file(path)

        def write() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_suffix(target.suffix + ".part")
            temporary.write_bytes(data)
            temporary.replace(target)  # readers never see half a file
            target.with_name(target.name + ".type").write_text(content_type)

        await asyncio.to_thread(write)

    async def put_file(self, path: str, source: Path, content_type: str) -> None:
        target = self._file(path)

        def copy() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_suffix(target.suffix + ".part")
            shutil.copyfile(source, temporary)
            temporary.replace(target)
            target.with_name(target.name + ".type").write_text(content_type)

        await asyncio.to_thread(copy)

    def signature(self, path: str, expires: int) -> str:
        return hmac.new(self._secret, f"{path}\n{expires}".encode(), hashlib.sha256).hexdigest()

    async def signed_urls(
        self, paths: list[str], expires_in: int = SIGNED_URL_TTL_SECONDS
    ) -> dict[str, str]:
        # Round expiry up to the minute so a page of URLs is cacheable by the browser.
        expires = (int(time.time()) + expires_in) // 60 * 60 + 60
        return {
            p: f"{self.public_url}/files/{quote(p)}?expires={expires}&signature={self.signature(p, expires)}"
            for p in paths
        }

    def open_signed(self, path: str, expires: int, signature: str) -> tuple[Path, str] | None:
        """The file and its content type when the signature is valid and unexpired."""
        if expires < time.time() or not hmac.compare_digest(
            signature, self.signature(path, expires)
        ):
            return None
        try:
            target = self._file(path)
        except ValueError:
            return None
        if not target.is_file():
            return None
        type_file = target.with_name(target.name + ".type")
        content_type = type_file.read_text() if type_file.exists() else "application/octet-stream"
        return target, content_type

    async def remove(self, paths: list[str]) -> None:
        def unlink() -> None:
            for p in paths:
                target = self._file(p)
                target.unlink(missing_ok=True)
                target.with_name(target.name + ".type").unlink(missing_ok=True)

        await asyncio.to_thread(unlink)


class SupabaseStorage:
    """A private Supabase Storage bucket through storage3, with the service role key (which
    never leaves the server). Files are reached only through signed, expiring URLs."""

    def __init__(self, supabase_url: str, service_key: str, bucket: str) -> None:
        from storage3 import AsyncStorageClient

        headers = {"apikey": service_key, "Authorization": f"Bearer {service_key}"}
        self._client = AsyncStorageClient(f"{supabase_url.rstrip('/')}/storage/v1", headers)
        self._bucket_name = bucket

    def _bucket(self) -> Any:
        return self._client.from_(self._bucket_name)

    async def ensure_bucket(self) -> None:
        existing = {b.id for b in await self._client.list_buckets()}
        # Uploaded LoRAs are application/octet-stream and can be far larger than media.
        options: Any = {
            "public": False,
            "file_size_limit": 1024 * 1024 * 1024,
            "allowed_mime_types": ["image/*", "video/*", "application/octet-stream"],
        }
        if self._bucket_name not in existing:
            await self._client.create_bucket(self._bucket_name, options=options)
        else:
            await self._client.update_bucket(self._bucket_name, options)

    async def put(self, path: str, data: bytes, content_type: str) -> None:
        # storage3 defaults to text/plain: always say what the bytes are.
        await self._bucket().upload(path, data, {"content-type": content_type, "upsert": "true"})

    async def put_file(self, path: str, source: Path, content_type: str) -> None:
        # Given a path, storage3 opens the file and httpx streams it in chunks.
        await self._bucket().upload(path, source, {"content-type": content_type, "upsert": "true"})

    async def signed_urls(
        self, paths: list[str], expires_in: int = SIGNED_URL_TTL_SECONDS
    ) -> dict[str, str]:
        if not paths:
            return {}
        signed = await self._bucket().create_signed_urls(paths, expires_in)
        return {item["path"]: item["signedURL"] for item in signed if item.get("signedURL")}

    async def remove(self, paths: list[str]) -> None:
        if paths:
            await self._bucket().remove(paths)
