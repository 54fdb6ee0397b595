"""Parse and validation results are cached per process, bounded, while every limit still
holds on the first request and on every repeat, with its error code."""

from __future__ import annotations

from strawberry.extensions.parser_cache import _get_parse_cache
from strawberry.extensions.validation_cache import _get_validate_cache

from graph.schema import DOCUMENT_CACHE_SIZE, MAX_TOKENS
from support import User, error_codes

DEEP = "{ workflows { edges { node { runs { edges { node { workflow { runs { edges { node { workflow { id } } } } } } } } } } } }"


def _caches() -> tuple[int, int]:
    parse = _get_parse_cache(DOCUMENT_CACHE_SIZE).cache_info()  # type: ignore[attr-defined]
    validate = _get_validate_cache(DOCUMENT_CACHE_SIZE).cache_info()  # type: ignore[attr-defined]
    return parse.hits, validate.hits


async def test_a_repeated_document_is_parsed_and_validated_once(alice: User) -> None:
    query = "query CacheMe { viewer { id email role } workflows(first: 3) { edges { cursor } } }"
    first = await alice.data(query)
    before = _caches()
    for _ in range(3):
        assert await alice.data(query) == first
    after = _caches()
    assert after[0] - before[0] >= 3 and after[1] - before[1] >= 3, (before, after)
    assert _get_parse_cache(DOCUMENT_CACHE_SIZE).cache_info().maxsize == DOCUMENT_CACHE_SIZE  # type: ignore[attr-defined]
    assert _get_validate_cache(DOCUMENT_CACHE_SIZE).cache_info().maxsize == DOCUMENT_CACHE_SIZE  # type: ignore[attr-defined]


async def test_depth_and_alias_limits_hold_on_every_repeat(alice: User) -> None:
    many = "{ " + " ".join(f"a{i}: viewer {{ id }}" for i in range(30)) + " }"
    for _ in range(3):
        deep = await alice.gql(DEEP)
        assert "exceeds maximum operation depth" in deep["errors"][0]["message"]
        assert error_codes(deep) == ["GRAPHQL_VALIDATION_FAILED"]
        aliased = await alice.gql(many)
        assert "aliases" in aliased["errors"][0]["message"]
        assert error_codes(aliased) == ["GRAPHQL_VALIDATION_FAILED"]
        assert "data" not in aliased or aliased["data"] is None


async def test_the_token_limit_holds_and_says_so(alice: User) -> None:
    fields = " ".join("__typename" for _ in range(MAX_TOKENS))
    for _ in range(2):
        result = await alice.gql(f"{{ {fields} }}")
        assert error_codes(result) == ["GRAPHQL_VALIDATION_FAILED"], result
        assert "token" in result["errors"][0]["message"].lower()


async def test_syntax_and_unknown_field_errors_carry_their_code(alice: User) -> None:
    for _ in range(2):
        assert error_codes(await alice.gql("{ viewer { id ")) == ["GRAPHQL_VALIDATION_FAILED"]
        unknown = await alice.gql("{ viewer { nope } }")
        assert error_codes(unknown) == ["GRAPHQL_VALIDATION_FAILED"]
        assert unknown["errors"][0]["locations"] == [{"line": 1, "column": 12}]
