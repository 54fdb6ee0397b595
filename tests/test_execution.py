"""graph/execution.py: plain leaf fields completed inline, simple resolvers called directly
and names converted once answer exactly what Strawberry and graphql-core answer without
them, errors (their messages, paths and null propagation) included."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import strawberry
from strawberry.scalars import JSON
from strawberry.schema.config import StrawberryConfig

from graph.execution import CachedNames, PlainFieldExecution, lean_resolvers
from graph.schema import build_schema


@strawberry.enum
class Shade(enum.Enum):
    LIGHT = "LIGHT"
    DARK = "DARK"


@strawberry.type
class Inner:
    value: int

    @strawberry.field
    async def later(self) -> int:
        await asyncio.sleep(0)
        return self.value * 10

    @strawberry.field
    def broken(self) -> int:
        raise ValueError("inner field fails")


@strawberry.type
class Item:
    inner: Inner
    maybe_inner: Inner | None
    name: str
    count: int
    maybe: int | None
    shade: Shade
    made_at: datetime
    data: JSON

    @strawberry.field
    def label(self, info: strawberry.Info) -> str:
        return f"{self.name}/{info.field_name}/{info.context['who']}"

    @strawberry.field
    def broken(self) -> str:
        raise ValueError("this field always fails")

    @strawberry.field
    def optional_broken(self) -> str | None:
        raise ValueError("this one too")

    @strawberry.field
    async def later(self) -> int:
        return self.count + 1


def item(**overrides: Any) -> Item:
    values: dict[str, Any] = {
        "name": "a",
        "count": 1,
        "maybe": None,
        "shade": Shade.DARK,
        "made_at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "data": {"k": [1, 2]},
        "inner": Inner(value=3),
        "maybe_inner": None,
    }
    values.update(overrides)
    return Item(**values)


# Made per query: the awaitable one holds a coroutine, which can be awaited once.
ROWS: dict[str, Callable[[], list[Item]]] = {
    "good": lambda: [item(), item(name="b", maybe=7, shade=Shade.LIGHT)],
    # A null for a non-null field: the error, and the null propagated to the nearest
    # nullable parent.
    "null_name": lambda: [item(), item(name=None)],
    "bad_int": lambda: [item(count="three")],
    "too_big": lambda: [item(count=2**40)],
    "bad_enum": lambda: [item(shade="PURPLE")],
    "awaitable": lambda: [item(maybe=asyncio.sleep(0, result=5))],
    "inner": lambda: [item(maybe_inner=Inner(value=4)), item(inner=Inner(value=None))],
    "null_inner": lambda: [item(inner=None, maybe_inner=Inner(value=5))],
    "not_an_object": lambda: [item(inner="text", maybe_inner=7)],
    "awaitable_inner": lambda: [item(maybe_inner=asyncio.sleep(0, result=Inner(value=6)))],
}


@strawberry.type
class Query:
    @strawberry.field
    def items(self, which: str) -> list[Item]:
        return ROWS[which]()

    @strawberry.field
    def loose(self, which: str) -> list[Item | None]:
        return list(ROWS[which]())


def schemas() -> tuple[strawberry.Schema, strawberry.Schema]:
    plain = strawberry.Schema(query=Query)
    fast = strawberry.Schema(
        query=Query,
        execution_context_class=PlainFieldExecution,
        config=StrawberryConfig(name_converter=CachedNames()),
    )
    assert lean_resolvers(fast) == 4  # label, broken, optionalBroken, Inner.broken
    return plain, fast


FIELDS = "name count maybe shade madeAt data label optionalBroken later"
INNER = "inner { value later } maybeInner { value later }"
BROKEN_INNER = "maybeInner { value broken }"


async def run(schema: strawberry.Schema, query: str) -> dict[str, Any]:
    result = await schema.execute(query, context_value={"who": "me"})
    errors = [
        {"message": e.message, "path": e.path, "locations": e.locations}
        for e in result.errors or []
    ]
    return {"data": result.data, "errors": sorted(errors, key=repr)}


# Rows are made per query, awaitables included, also for queries that do not select them.
@pytest.mark.filterwarnings("ignore:coroutine 'sleep' was never awaited")
async def test_answers_and_errors_are_graphql_cores_own() -> None:
    plain, fast = schemas()
    for which in ROWS:
        for root in ("items", "loose"):
            for fields in (
                FIELDS,
                f"{FIELDS} broken",
                "count maybe",
                INNER,
                f"{FIELDS} {INNER} {BROKEN_INNER}",
                "inner { broken }",
                "inner { ...on Inner { value } } inner { later }",
            ):
                query = f'{{ {root}(which: "{which}") {{ {fields} }} }}'
                expected = await run(plain, query)
                assert await run(fast, query) == expected, (which, root, fields)


async def test_the_good_rows_complete_as_expected() -> None:
    _, fast = schemas()
    query = '{ items(which: "good") { name maybe shade madeAt data label later } }'
    assert (await run(fast, query))["data"] == {
        "items": [
            {
                "name": "a",
                "maybe": None,
                "shade": "DARK",
                "madeAt": "2026-01-02T03:04:05+00:00",
                "data": {"k": [1, 2]},
                "label": "a/label/me",
                "later": 2,
            },
            {
                "name": "b",
                "maybe": 7,
                "shade": "LIGHT",
                "madeAt": "2026-01-02T03:04:05+00:00",
                "data": {"k": [1, 2]},
                "label": "b/label/me",
                "later": 2,
            },
        ]
    }


def test_the_api_schema_keeps_its_names_and_authorization() -> None:
    """The cached name converter names everything as Strawberry's own does, and no field
    with permission classes lost Strawberry's resolver (root fields all have them)."""
    schema = build_schema()
    default = strawberry.Schema(
        query=schema.query, mutation=schema.mutation, subscription=schema.subscription
    )
    assert schema.as_str() == default.as_str()
    for root in (schema._schema.query_type, schema._schema.mutation_type):
        assert root is not None
        for name, field in root.fields.items():
            assert field.resolve is not None
            assert field.resolve.__qualname__.startswith("GraphQLCoreConverter."), name
