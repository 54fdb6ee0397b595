"""schema.graphql is the exported schema, and it keeps every name of the public contract."""

from __future__ import annotations

from pathlib import Path

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    build_schema,
)

from graph.export_schema import SCHEMA_FILE
from graph.schema import export_sdl

# The public contract integrators rely on: a copy kept in the repository, synced by hand from
# the team's shared api-contract.graphql (names are only ever added, never renamed or dropped).
CONTRACT = Path(__file__).resolve().parent / "api-contract.graphql"


def test_schema_graphql_is_up_to_date() -> None:
    assert SCHEMA_FILE.read_text() == export_sdl(), "schema.graphql is stale: run `make schema`"


def _names(sdl: str) -> set[str]:
    schema = build_schema(sdl)
    names: set[str] = set()
    for type_name, graphql_type in schema.type_map.items():
        if type_name.startswith("__"):
            continue
        names.add(type_name)
        if isinstance(graphql_type, (GraphQLObjectType, GraphQLInterfaceType)):
            for field_name, field in graphql_type.fields.items():
                names.add(f"{type_name}.{field_name}: {field.type}")
                names.update(
                    f"{type_name}.{field_name}({arg}: {a.type})" for arg, a in field.args.items()
                )
        elif isinstance(graphql_type, GraphQLInputObjectType):
            names.update(f"{type_name}.{f}: {x.type}" for f, x in graphql_type.fields.items())
        elif isinstance(graphql_type, GraphQLEnumType):
            names.update(f"{type_name}.{value}" for value in graphql_type.values)
    return names


def test_every_contract_name_exists_with_its_type() -> None:
    missing = _names(CONTRACT.read_text()) - _names(SCHEMA_FILE.read_text())
    assert not missing, f"schema.graphql lost contract names: {sorted(missing)}"
