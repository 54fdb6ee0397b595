"""Trusted documents: the first-party client sends only the sha256 of an operation the build
wrote into the manifest (`{"<sha256 hex>": "<document>"}`, Apollo's persisted-query
extension `{"persistedQuery": {"version": 1, "sha256Hash": ...}}` without `query`).
Arbitrary documents are accepted from API keys, and in dev (the playground); elsewhere a
document not in the manifest is refused before it is parsed, so introspection and field
suggestions never reach a browser session in production."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

from strawberry.types import ExecutionContext

from graph.errors import coded
from services.platform.errors import Forbidden, LatticeError, Unauthenticated

DEFAULT_MANIFEST = Path(__file__).resolve().parent / "trusted_documents.json"


class PersistedQueryNotFound(LatticeError):
    code = "PERSISTED_QUERY_NOT_FOUND"


def load_manifest(path: Path) -> dict[str, str]:
    """The manifest, checked: every key must be the sha256 of its document."""
    if not path.is_file():
        return {}
    documents = json.loads(path.read_text())
    for digest, text in documents.items():
        if hashlib.sha256(text.encode()).hexdigest() != digest:
            raise ValueError(f"{path}: {digest} is not the sha256 of its document")
    return dict(documents)


async def supply_document(
    context: ExecutionContext, manifest: Mapping[str, str], open_to_all: bool
) -> None:
    """Before parsing: the manifest's document for a persisted-query id, or a check that the
    text sent may run. Raises the GraphQL error the client receives."""
    persisted = (context.operation_extensions or {}).get("persistedQuery")
    if not context.query and isinstance(persisted, dict):
        text = manifest.get(str(persisted.get("sha256Hash")))
        if text is None:
            raise coded(PersistedQueryNotFound("PersistedQueryNotFound"))
        context.query = text
    elif context.query and not open_to_all:
        try:
            trusted = await is_trusted(context.query, manifest, context.context)
        except Unauthenticated as exc:
            raise coded(exc) from exc
        if not trusted:
            raise coded(untrusted())


def untrusted() -> Forbidden:
    return Forbidden(
        "This API runs the Lattice client's own operations; integrators send their own"
        " documents with an API key (Authorization: Bearer lat_...)",
        reason="untrusted document",
    )


async def is_trusted(query: str, manifest: Mapping[str, str], context: object) -> bool:
    """In the manifest, or sent with an API key. A credential that does not hold (a revoked
    key, an expired token) raises Unauthenticated: the caller hears that, not a lecture
    about documents."""
    if hashlib.sha256(query.encode()).hexdigest() in manifest:
        return True
    return await _from_api_key(context)


async def _from_api_key(context: object) -> bool:
    viewer_of = getattr(context, "viewer", None)
    if viewer_of is None:
        return False
    viewer = await viewer_of()
    return viewer is not None and viewer.via_api_key
