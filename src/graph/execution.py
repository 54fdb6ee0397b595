"""Field execution with short paths for plain fields, and resolvers without wrappers.

graphql-core executes every field the same way: a path entry, a resolve info, the resolver
(Strawberry's wrapper around `getattr` for a field without a resolver), an awaitable check,
then completion through `complete_value`. For a list query that was most of the API's CPU:
a 50-asset page is some 800 fields, nearly all of them attributes of the returned objects.

Here a field with no resolver of its own (Strawberry's "basic" field: no resolver, no
permission classes, no field extensions, no arguments) whose type is a scalar or an enum
completes as graphql-core would complete it, by reading the attribute and coercing it with
the type's own `coerce_output_value`; one whose type is an object type has its selection
executed directly. Nothing changes in what is authorized: fields with resolvers,
permission classes or extensions, and lists, still run through graphql-core. Anything
unusual (a null for a non-null field, a value that fails coercion, an awaitable, a missing
attribute) falls back to graphql-core's own path, which then raises or reports exactly
what it always did (tests/test_execution.py compares the two).

`lean_resolvers` calls simple synchronous resolvers without Strawberry's per-call chain,
and `CachedNames` converts each argument name to camelCase once."""

from __future__ import annotations

import datetime
import decimal
import enum
import uuid
from collections.abc import Callable
from typing import Any

import strawberry
from graphql import (
    GRAPHQL_MAX_INT,
    GRAPHQL_MIN_INT,
    GraphQLBoolean,
    GraphQLID,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLString,
    is_leaf_type,
)
from graphql.execution.collect_fields import GroupedFieldSet
from graphql.pyutils import AwaitableOrValue, Path, Undefined, gather_with_cancel
from strawberry.schema.name_converter import NameConverter
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types import Info
from strawberry.types.field import StrawberryField

# Values that are plainly data: never awaitable, never an exception. Anything else read
# from an attribute (a coroutine, a callable, an object of another kind) takes graphql-core's
# own path.
PLAIN_VALUES: frozenset[type] = frozenset(
    {
        str,
        int,
        float,
        bool,
        dict,
        list,
        datetime.datetime,
        datetime.date,
        datetime.time,
        decimal.Decimal,
        uuid.UUID,
    }
)

MIN_INT, MAX_INT = GRAPHQL_MIN_INT, GRAPHQL_MAX_INT

_ABSENT = object()


# Built-in scalars whose `coerce_output_value` returns a value of exactly this Python type
# as it is (graphql-core's serialize_string, serialize_id, serialize_boolean, and
# serialize_int within 32 bits): such a value needs no call to coerce it.
AS_IS: dict[GraphQLScalarType, type] = {
    GraphQLString: str,
    GraphQLID: str,
    GraphQLBoolean: bool,
    GraphQLInt: int,
}

# (attribute, leaf type, non-null, the Python type taken as it is or None)
Leaf = tuple[str, GraphQLLeafType, bool, type | None]

# Per field of the selection: its response name, its details, for a plain leaf field
# its Leaf, and for a plain object field (attribute name, object
# type, the field's type); None for what graphql-core executes.
Step = tuple[
    str,
    Any,
    Leaf | None,
    tuple[str, GraphQLObjectType, Any] | None,
]


def plain_leaf(field_def: Any, field_node: Any) -> Leaf | None:
    """(attribute, leaf type, non-null, type taken as is) for a field that only reads a
    scalar or enum attribute of its parent, else None."""
    found = plain_attribute(field_def, field_node)
    if found is None or not is_leaf_type(found[1]):
        return None
    as_is = AS_IS.get(found[1]) if isinstance(found[1], GraphQLScalarType) else None
    return found[0], found[1], found[2], as_is


def plain_object(field_def: Any, field_node: Any) -> tuple[str, GraphQLObjectType, Any] | None:
    """(attribute, object type, the field's type) for a field that only reads an object
    attribute of its parent, of an object type that needs no `is_type_of` check, else None."""
    found = plain_attribute(field_def, field_node)
    if found is None or not isinstance(found[1], GraphQLObjectType) or found[1].is_type_of:
        return None
    return found[0], found[1], field_def.type


def plain_attribute(field_def: Any, field_node: Any) -> tuple[str, Any, bool] | None:
    """(attribute, named type, non-null) for a field that only reads an attribute of its
    parent and is not a list, else None."""
    if field_def is None or field_def.args or field_node.arguments:
        return None
    resolve = field_def.resolve
    # Strawberry marks the resolver it builds for a basic field (no resolver, no
    # extensions: permission classes are an extension) as default.
    if resolve is None or not getattr(resolve, "_is_default", False):
        return None
    field = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(field, StrawberryField) or not field.is_basic_field:
        return None
    if field.default_resolver is not getattr:
        return None
    return_type = field_def.type
    non_null = isinstance(return_type, GraphQLNonNull)
    named = return_type.of_type if non_null else return_type
    if isinstance(named, GraphQLList):
        return None
    return field.python_name, named, non_null


class PlainFieldExecution(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, with plain leaf fields completed inline."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Per selection executed in this operation (graphql-core memoizes a selection's
        # grouped field set per parent field, so a list's items share one): its steps. The
        # field set is kept with them, so its id is not reused while this operation runs.
        self._steps: dict[int, tuple[GroupedFieldSet, GraphQLObjectType, list[Step]]] = {}

    def _plan(self, parent_type: GraphQLObjectType, fields: GroupedFieldSet) -> list[Step]:
        found = self._steps.get(id(fields))
        if found is not None and found[1] is parent_type:
            return found[2]
        steps: list[Step] = []
        for response_name, details in fields.items():
            node = details[0].node
            field_def = self.schema.get_field(parent_type, node.name.value)
            steps.append(
                (
                    response_name,
                    details,
                    plain_leaf(field_def, node),
                    plain_object(field_def, node),
                )
            )
        self._steps[id(fields)] = (fields, parent_type, steps)
        return steps

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        # A field middleware (a schema extension with a `resolve` hook) sees every field,
        # and a deferred selection has its own bookkeeping: graphql-core does all of it.
        middleware = self.middleware_manager
        if (middleware is not None and middleware.middlewares) or position_context is not None:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        steps = self._plan(parent_type, grouped_field_set)
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for response_name, details, leaf, obj in steps:
                if obj is not None:
                    result = self._plain_object(
                        obj, parent_type, source_value, path, response_name, details
                    )
                    if result is not _ABSENT:
                        results[response_name] = result
                        if is_awaitable(result):
                            awaitable_fields.append(response_name)
                        continue
                elif leaf is not None:
                    name, leaf_type, non_null, as_is = leaf
                    value: Any = getattr(source_value, name, _ABSENT)
                    if value is None and not non_null:
                        results[response_name] = None
                        continue
                    kind = type(value)
                    if kind is as_is and (kind is not int or MIN_INT <= value <= MAX_INT):
                        results[response_name] = value
                        continue
                    if kind in PLAIN_VALUES or isinstance(value, enum.Enum):
                        try:
                            coerced = leaf_type.coerce_output_value(value)
                        except Exception:  # graphql-core's path reports it
                            coerced = None
                        if coerced is not None and coerced is not Undefined:
                            results[response_name] = coerced
                            continue
                result = self.execute_field(
                    parent_type,
                    source_value,
                    details,
                    Path(path, response_name, parent_type.name),
                    position_context,
                )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise
        if not awaitable_fields:
            return results

        # As graphql-core awaits them.
        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                field = awaitable_fields[0]
                results[field] = await results[field]
            else:
                awaited = await gather_with_cancel(*(results[f] for f in awaitable_fields))
                results.update(zip(awaitable_fields, awaited, strict=True))
            return results

        return get_results()

    def _plain_object(
        self,
        plan: tuple[str, GraphQLObjectType, Any],
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        response_name: str,
        details: Any,
    ) -> Any:
        """A plain object field completed as graphql-core's `complete_object_value` would
        (its sub-selection executed, errors located at its path and propagated as for its
        type), or _ABSENT when the value read is not plainly an object: graphql-core's own
        path then executes the field."""
        name, object_type, return_type = plan
        value = getattr(source_value, name, _ABSENT)
        if (
            value is None
            or value is _ABSENT
            or type(value) in PLAIN_VALUES
            or isinstance(value, Exception)
            or self.is_awaitable(value)
        ):
            return _ABSENT
        field_path = Path(path, response_name, parent_type.name)
        try:
            completed = self.collect_and_execute_subfields(
                object_type, details, field_path, value, None
            )
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, details, field_path)
            return None
        if not self.is_awaitable(completed):
            return completed

        async def await_completed() -> Any:
            try:
                return await completed
            except Exception as raw_error:
                self.handle_field_error(raw_error, return_type, details, field_path)
                return None

        return await_completed()


def lean_resolvers(schema: strawberry.Schema) -> int:
    """Replaces Strawberry's wrapper around each simple synchronous resolver with a direct
    call; returns how many.

    For every resolver Strawberry builds a chain (an Info, argument conversion, the field
    extensions folded around the call, exception handlers) that costs several times the
    resolver itself; for `Asset.url` on a 50-asset page that is 50 times per request. A
    resolver with nothing for that chain to do — synchronous, no arguments, no permission
    classes or other field extensions, no exception handlers in the schema, taking only
    `self` and optionally `info` — is called the way the chain would call it: with its
    object as `self` and Strawberry's Info. Everything else keeps Strawberry's resolver."""
    if schema.exception_handlers:
        return 0
    info_class = schema.config.info_class
    replaced = 0
    for graphql_type in schema._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType) or graphql_type.name.startswith("__"):
            continue
        if graphql_type is schema._schema.subscription_type:
            continue
        for field_def in graphql_type.fields.values():
            lean = _lean(field_def, info_class)
            if lean is not None:
                field_def.resolve = lean
                replaced += 1
    return replaced


def _lean(field_def: Any, info_class: type[Info]) -> Callable[..., Any] | None:
    field = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if type(field) is not StrawberryField or field_def.args:
        return None
    resolver = field.base_resolver
    if resolver is None or field.is_async or field.extensions or field.arguments:
        return None
    if (
        resolver.self_parameter is None
        or resolver.root_parameter is not None
        or resolver.parent_parameter is not None
    ):
        return None
    function = resolver.wrapped_func
    if not callable(function):
        return None
    info_parameter = resolver.info_parameter
    if info_parameter is None:

        def call(source: Any, info: GraphQLResolveInfo[Any]) -> Any:
            return function(source)

        return call
    name = info_parameter.name

    def call_with_info(source: Any, info: GraphQLResolveInfo[Any]) -> Any:
        return function(source, **{name: info_class(_raw_info=info, _field=field)})

    return call_with_info


class CachedNames(NameConverter):
    """Strawberry's names, each converted once: it converts every argument's Python name to
    camelCase on every call of a resolver with arguments (`assets` has seven), which under
    load was several per cent of a gallery request's CPU. Python names are the schema's own,
    so the cache is as bounded as the schema."""

    def __init__(self) -> None:
        super().__init__(auto_camel_case=True)
        self._names: dict[str, str] = {}

    def apply_naming_config(self, name: str) -> str:
        found = self._names.get(name)
        if found is None:
            found = self._names[name] = super().apply_naming_config(name)
        return found
