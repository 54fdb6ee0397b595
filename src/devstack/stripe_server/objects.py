"""What every endpoint shares: reading typed params out of a parsed form, metadata updates,
list pages (`limit`, `starting_after`, `ending_before`) and `expand`."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from devstack.stripe_server.errors import invalid, required
from devstack.stripe_server.store import Obj


def text(params: Obj, name: str, *, needed: bool = False) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        if needed:
            raise required(name)
        return None
    if not isinstance(value, str):
        raise invalid(f"Invalid string: {name}", name)
    return value


def integer(params: Obj, name: str, *, needed: bool = False) -> int | None:
    value = text(params, name, needed=needed)
    if value is None:
        return None
    if not re.fullmatch(r"-?\d+", value):
        raise invalid(f"Invalid integer: {value}", name)
    return int(value)


def boolean(params: Obj, name: str) -> bool | None:
    value = text(params, name)
    if value is None:
        return None
    if value not in ("true", "false"):
        raise invalid(f"Invalid boolean: {value}", name)
    return value == "true"


def mapping(params: Obj, name: str) -> Obj:
    value = params.get(name, {})
    if value == "":
        return {}
    if not isinstance(value, dict):
        raise invalid(f"Invalid object: {name}", name)
    return value


def strings(params: Obj, name: str) -> list[str]:
    value = params.get(name, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid(f"Invalid array: {name}", name)
    return value


def metadata(params: Obj, current: Obj | None = None) -> Obj:
    """Stripe's metadata update: keys merge in, an empty value removes a key, and
    `metadata=` (empty) clears it all."""
    result = dict(current or {})
    if params.get("metadata") == "":
        return {}
    for key, value in mapping(params, "metadata").items():
        if not isinstance(value, str):
            raise invalid(f"Invalid metadata value for {key}", f"metadata[{key}]")
        if value == "":
            result.pop(key, None)
        else:
            result[key] = value
    return result


def page(objects: list[Obj], params: Obj, url: str) -> Obj:
    """One page of a list, newest first: `{"object": "list", "data", "has_more", "url"}`."""
    limit = integer(params, "limit") or 10
    if not 1 <= limit <= 100:
        raise invalid("Invalid limit: must be between 1 and 100", "limit")
    ids = [obj.get("id") for obj in objects]
    after, before = text(params, "starting_after"), text(params, "ending_before")
    if after is not None:
        if after not in ids:
            raise invalid(f"No such object: '{after}'", "starting_after", "resource_missing")
        objects = objects[ids.index(after) + 1 :]
    elif before is not None:
        if before not in ids:
            raise invalid(f"No such object: '{before}'", "ending_before", "resource_missing")
        objects = objects[: ids.index(before)][-limit:]
    return {
        "object": "list",
        "data": objects[:limit],
        "has_more": len(objects) > limit,
        "url": url,
    }


def expand(obj: Obj, params: Obj, find: Callable[[str], Obj | None]) -> Obj:
    """A deep copy of `obj` with the ids named by `expand[]` (`customer`, `data.product`,
    `items.data.price.product`) replaced by the objects."""
    result = copy.deepcopy(obj)
    for path in strings(params, "expand"):
        result = _expand(result, path.split("."), find)
    return result


def _expand(value: Any, parts: list[str], find: Callable[[str], Obj | None]) -> Any:
    if not parts:
        return value
    if isinstance(value, list):
        return [_expand(item, parts, find) for item in value]
    if not isinstance(value, dict) or parts[0] not in value:
        return value
    child = value[parts[0]]
    if isinstance(child, str):
        found = find(child)
        child = copy.deepcopy(found) if found is not None else child
    value[parts[0]] = _expand(child, parts[1:], find)
    return value
