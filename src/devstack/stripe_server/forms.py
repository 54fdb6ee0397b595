"""Stripe's form encoding: `metadata[user_id]=7`, `line_items[0][price]=p`, `expand[]=x` and
the same in query strings, parsed into nested dicts and lists."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

from devstack.stripe_server.errors import invalid


def parse(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """`[("a[b][0]", "x")]` -> `{"a": {"b": ["x"]}}`. A dict whose keys are all indices
    becomes a list; `[]` appends."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        name, _, rest = key.partition("[")
        parts = [name, *rest[:-1].split("][")] if rest.endswith("]") else [key]
        node = root
        for depth, part in enumerate(parts):
            if part == "":
                part = str(len(node))
            if depth == len(parts) - 1:
                node[part] = value
                break
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise invalid(f"Invalid parameter: {key} mixes a value and a hash", key)
            node = child
    result = _listify(root)
    assert isinstance(result, dict)
    return result


def parse_body(body: bytes) -> dict[str, Any]:
    return parse(parse_qsl(body.decode("utf-8"), keep_blank_values=True))


def parse_query(query: str) -> dict[str, Any]:
    return parse(parse_qsl(query, keep_blank_values=True))


def _listify(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    items = {key: _listify(child) for key, child in value.items()}
    if items and all(key.isdigit() for key in items):
        return [items[key] for key in sorted(items, key=int)]
    return items


def fingerprint(pairs: Iterable[tuple[str, str]]) -> str:
    """What "the same parameters" means for idempotency: the pairs, order-insensitive."""
    return "&".join(f"{key}={value}" for key, value in sorted(pairs))
