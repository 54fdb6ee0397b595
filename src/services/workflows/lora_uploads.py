"""A Pro user's LoRA uploaded as a `.safetensors` file: received to a temporary file under a
hard cap (never whole in memory), checked to really be safetensors, kept in persistent
storage under the owner's folder, and listed beside the linked LoRAs."""

from __future__ import annotations

import contextlib
import json
import os
import struct
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import anyio

from services.accounts.viewer import Viewer
from services.assets.storage import Storage
from services.platform.database import Database
from services.platform.errors import LatticeError, Suspended, ValidationFailed
from services.workflows.loras import COLUMNS, LoraRecord, check_new_lora, with_download_urls

EXTENSION = ".safetensors"
# The safetensors format caps its JSON header at 100 MB; real LoRA headers are kilobytes.
MAX_HEADER_BYTES = 100 * 1024 * 1024
CONTENT_TYPE = "application/octet-stream"


class TooLarge(LatticeError):
    code = "PAYLOAD_TOO_LARGE"


def _not_safetensors(why: str) -> ValidationFailed:
    return ValidationFailed.single(
        "NOT_SAFETENSORS", f"That file is not a .safetensors LoRA: {why}", field="file"
    )


def check_upload(viewer: Viewer, name: str, base_model: str, filename: str) -> str:
    """Everything decidable before a byte of the body is read, so a refused upload never
    streams hundreds of MB first. Returns the clean name."""
    if viewer.suspended:
        raise Suspended()
    name = check_new_lora(viewer, name, base_model)
    if not filename.lower().endswith(EXTENSION):
        raise ValidationFailed.single(
            "NOT_SAFETENSORS", "Only .safetensors files can be uploaded as LoRAs", field="file"
        )
    return name


def _header_length(prefix: bytes, size_after_prefix: int | None) -> int:
    length: int = struct.unpack("<Q", prefix)[0]
    if length < 2 or length > MAX_HEADER_BYTES:
        raise _not_safetensors("its header length is impossible")
    if size_after_prefix is not None and length > size_after_prefix:
        raise _not_safetensors("its header is longer than the file")
    return length


def check_safetensors(path: Path) -> None:
    """The layout safetensors itself enforces: an 8-byte little-endian header length N, N
    bytes of a JSON object naming each tensor's dtype, shape and byte range, then exactly
    the bytes those ranges cover."""
    size = path.stat().st_size
    if size < 8:
        raise _not_safetensors("it is too short")
    with path.open("rb") as file:
        length = _header_length(file.read(8), size - 8)
        raw = file.read(length)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _not_safetensors("its header is not JSON") from exc
    if not isinstance(header, dict):
        raise _not_safetensors("its header is not a JSON object")
    data_bytes = size - 8 - length
    end = 0
    for key, tensor in header.items():
        if key == "__metadata__":
            if not isinstance(tensor, dict):
                raise _not_safetensors("its metadata is not an object")
            continue
        offsets = tensor.get("data_offsets") if isinstance(tensor, dict) else None
        if (
            not isinstance(tensor, dict)
            or not isinstance(tensor.get("dtype"), str)
            or not isinstance(tensor.get("shape"), list)
            or not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
            or not 0 <= offsets[0] <= offsets[1] <= data_bytes
        ):
            raise _not_safetensors(f"tensor {str(key)[:60]!r} is malformed")
        end = max(end, offsets[1])
    if end != data_bytes:
        raise _not_safetensors("its tensors do not cover the data that follows the header")


@contextlib.asynccontextmanager
async def received(
    chunks: AsyncIterator[bytes], declared: int | None, cap: int
) -> AsyncIterator[Path]:
    """The body written to a temporary file, refused with 413 the moment it passes `cap`
    (or at once when Content-Length says it will), and refused early when its first 8 bytes
    cannot start a safetensors file. The file is deleted afterwards."""
    too_large = TooLarge(f"LoRA files can be at most {cap / (1024 * 1024):g} MB", limit=cap)
    if declared is not None and declared > cap:
        raise too_large
    handle, name = tempfile.mkstemp(prefix="lora-", suffix=EXTENSION)
    path = Path(name)
    try:
        async with anyio.wrap_file(os.fdopen(handle, "wb")) as out:
            total = 0
            prefix = b""
            async for chunk in chunks:
                total += len(chunk)
                if total > cap:
                    raise too_large
                if len(prefix) < 8:
                    prefix += chunk[: 8 - len(prefix)]
                    if len(prefix) == 8:
                        _header_length(prefix, None)
                await out.write(chunk)
        yield path
    finally:
        await anyio.Path(path).unlink(missing_ok=True)


async def store_lora(
    db: Database, storage: Storage, viewer: Viewer, name: str, base_model: str, file: Path
) -> LoraRecord:
    await anyio.to_thread.run_sync(check_safetensors, file)
    lora_id = uuid.uuid4()
    path = f"{viewer.id}/loras/{lora_id}{EXTENSION}"
    await storage.put_file(path, file, CONTENT_TYPE)
    try:
        async with db.as_user(viewer.claims) as conn:
            row = await conn.fetchrow(
                f"""insert into public.loras (id, user_id, name, storage_path, base_model)
                values ($1, $2, $3, $4, $5) returning {COLUMNS}""",
                lora_id,
                viewer.id,
                name,
                path,
                base_model,
            )
    except BaseException:
        await storage.remove([path])  # no row names it: it would never be cleaned up
        raise
    return (await with_download_urls(storage, [LoraRecord.from_row(row)]))[0]
