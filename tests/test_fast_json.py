"""jsonb columns and GraphQL responses go through orjson, with the standard library's
answer wherever orjson's would differ: numbers beyond 64 bits keep every digit."""

from __future__ import annotations

import json

from services.platform import fast_json
from services.platform.database import connect

AWKWARD = {
    "seed": 12345678901234567890123,
    "negative": -98765432109876543210,
    "just_fits": 2**63 - 1,
    "ratio": 0.1,
    "prompt": 'ünïcödé ✓ "quoted" \\ 1234567890123456789 digits in text',
    "nested": [{"a": None, "b": True}],
}


def test_values_orjson_cannot_hold_exactly_round_trip_through_the_standard_library() -> None:
    text = fast_json.dumps(AWKWARD)
    assert json.loads(text) == AWKWARD
    assert fast_json.loads(text) == AWKWARD
    assert fast_json.loads(text.encode()) == AWKWARD
    assert fast_json.loads('{"n": 123}') == {"n": 123}


async def test_jsonb_read_from_postgres_keeps_every_digit(database_url: str) -> None:
    db = await connect(database_url, max_size=1)
    try:
        async with db.as_service() as conn:
            assert await conn.fetchval("select $1::jsonb", AWKWARD) == AWKWARD
            stored = await conn.fetchval("select '{\"seed\": 123456789012345678901234567}'::jsonb")
            assert stored == {"seed": 123456789012345678901234567}
    finally:
        await db.close()
