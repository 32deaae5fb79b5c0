"""Property-based tests: round trips over every struct, and a decoder that only ever
raises WireDecodeError."""

import base64
import json
import types as pytypes
import typing
from collections.abc import Callable
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import livesvc.wire as wire
from livesvc.wire import (
    ClientMessage,
    ServerMessage,
    WireDecodeError,
    decode_client,
    decode_server,
    encode_client,
    encode_server,
)
from livesvc.wire._base import Int64Value, WireStruct

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)
JSON_OBJECTS = st.dictionaries(st.text(max_size=6), JSON_VALUES, max_size=3)


def _public_fields(cls: type[WireStruct]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls, include_extras=True)
    return {f: hints[f] for f in cls.__struct_fields__ if not f.endswith("_")}


def _marker_name(annotation: Any) -> str | None:
    if typing.get_origin(annotation) is typing.Annotated:
        return str(annotation.__metadata__[0])
    return None


def strategy_for(annotation: Any) -> st.SearchStrategy[Any]:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    marker = _marker_name(annotation)
    if marker == "<wire base64>":
        return st.binary(max_size=24)
    if marker == "<wire int64>":
        return st.integers(min_value=-(2**63), max_value=2**63 - 1).map(Int64Value)
    if origin in (typing.Union, pytypes.UnionType):
        inner = [a for a in args if a is not type(None)]
        assert len(inner) == 1, annotation
        # Mostly unset, as in real messages; keeps examples small.
        return st.one_of(st.none(), st.none(), strategy_for(inner[0]))
    if origin is list:
        return st.lists(strategy_for(args[0]), max_size=2)
    if origin is dict:
        if args[1] is str:
            return st.dictionaries(st.text(max_size=6), st.text(max_size=6), max_size=2)
        return JSON_OBJECTS
    if annotation is Any:
        return JSON_VALUES
    if isinstance(annotation, type) and issubclass(annotation, WireStruct):
        return struct_strategy(annotation)
    simple: dict[Any, st.SearchStrategy[Any]] = {
        str: st.text(max_size=8),
        bool: st.booleans(),
        int: st.integers(min_value=-(2**31), max_value=2**31 - 1),
        float: st.floats(allow_nan=False, allow_infinity=False),
    }
    return simple[annotation]


def struct_strategy(cls: type[WireStruct]) -> st.SearchStrategy[Any]:
    return st.deferred(
        lambda: st.builds(
            cls, **{name: strategy_for(tp) for name, tp in _public_fields(cls).items()}
        )
    )


CLIENT_MESSAGES = struct_strategy(ClientMessage)
SERVER_MESSAGES = struct_strategy(ServerMessage)


def to_variant_json(value: Any, draw: Callable[[st.SearchStrategy[Any]], Any]) -> Any:
    """The same message as a peer might spell it: each key camel or snake, base64 in
    either alphabet with or without padding, int64 as string or number."""
    if isinstance(value, WireStruct):
        out = {}
        encode_names = dict(
            zip(value.__struct_fields__, value.__struct_encode_fields__, strict=True)
        )
        for name in value.__struct_fields__:
            if name.endswith("_"):
                continue
            field_value = getattr(value, name)
            if field_value is None:
                continue
            key = draw(st.sampled_from([name, encode_names[name]]))
            out[key] = to_variant_json(field_value, draw)
        return out
    if isinstance(value, list):
        return [to_variant_json(v, draw) for v in value]
    if isinstance(value, bytes):
        encoded = draw(st.sampled_from([base64.b64encode, base64.urlsafe_b64encode]))(
            value
        ).decode()
        return encoded.rstrip("=") if draw(st.booleans()) else encoded
    if isinstance(value, Int64Value):
        return draw(st.sampled_from([str(int(value)), int(value)]))
    return value  # scalars and free-form JSON stay as they are


@SETTINGS
@given(CLIENT_MESSAGES)
def test_client_round_trip(msg: ClientMessage) -> None:
    assert decode_client(encode_client(msg)) == msg


@SETTINGS
@given(SERVER_MESSAGES)
def test_server_round_trip(msg: ServerMessage) -> None:
    assert decode_server(encode_server(msg)) == msg


@SETTINGS
@given(CLIENT_MESSAGES, st.data())
def test_client_variant_spellings_decode_to_the_same_message(
    msg: ClientMessage, data: st.DataObject
) -> None:
    variant = json.dumps(to_variant_json(msg, data.draw))
    assert decode_client(variant) == msg


@SETTINGS
@given(SERVER_MESSAGES, st.data())
def test_server_variant_spellings_decode_to_the_same_message(
    msg: ServerMessage, data: st.DataObject
) -> None:
    variant = json.dumps(to_variant_json(msg, data.draw))
    assert decode_server(variant) == msg


def _decodes_or_raises_wire_error(frame: bytes | str) -> None:
    for decode in (decode_client, decode_server):
        try:
            decode(frame)
        except WireDecodeError as exc:
            error: WireDecodeError | None = exc
        else:
            error = None
        if error is not None:
            assert error.path.startswith("$")
            assert f"`{error.path}`" in str(error)


@SETTINGS
@given(st.binary(max_size=64) | st.text(max_size=64))
def test_arbitrary_bytes_never_raise_anything_else(frame: bytes | str) -> None:
    _decodes_or_raises_wire_error(frame)


# Keys the decoders know, so arbitrary JSON reaches deep into the structs with wrong types.
_WIRE_KEYS = sorted(
    {
        key
        for name in wire.__all__
        if isinstance(cls := getattr(wire, name), type) and issubclass(cls, WireStruct)
        for key in cls.__struct_encode_fields__
    }
)
_KNOWN_KEY_JSON = st.recursive(
    JSON_SCALARS | st.text(alphabet="AaBb+/-_=!", max_size=8),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(_WIRE_KEYS) | st.text(max_size=4), children, max_size=4)
    ),
    max_leaves=20,
)


@SETTINGS
@given(_KNOWN_KEY_JSON)
def test_arbitrary_json_never_raises_anything_else(value: Any) -> None:
    _decodes_or_raises_wire_error(json.dumps(value))


def typed_scalar_paths(
    value: Any, path: str = "$", trail: tuple[Any, ...] = ()
) -> list[tuple[str, tuple[Any, ...]]]:
    """JSON paths (and key trails) of every typed scalar in an encoded message;
    free-form JSON is skipped, as any value is valid there."""
    if isinstance(value, WireStruct):
        found = []
        for info in msgspec.structs.fields(value):
            name, wire_key = info.name, info.encode_name
            field_value = getattr(value, name)
            # Free-form JSON (declared Any or a dict) accepts any value, scalars included.
            free_form = info.type is Any or isinstance(field_value, dict)
            if name.endswith("_") or field_value is None or free_form:
                continue
            found += typed_scalar_paths(field_value, f"{path}.{wire_key}", (*trail, wire_key))
        return found
    if isinstance(value, list):
        return [
            hit
            for i, item in enumerate(value)
            if isinstance(item, WireStruct | str | bool | int | float | bytes)
            for hit in typed_scalar_paths(item, f"{path}[{i}]", (*trail, i))
        ]
    if isinstance(value, str | bool | int | float | bytes):
        return [(path, trail)]
    return []


@SETTINGS
@given(CLIENT_MESSAGES | SERVER_MESSAGES, st.data())
def test_one_corrupted_value_names_its_path(
    msg: ClientMessage | ServerMessage, data: st.DataObject
) -> None:
    """Replacing one typed value of a valid frame with a list fails at exactly that path."""
    paths = typed_scalar_paths(msg)
    if not paths:
        return
    path, trail = data.draw(st.sampled_from(paths))
    client = isinstance(msg, ClientMessage)
    tree = json.loads(encode_client(msg) if isinstance(msg, ClientMessage) else encode_server(msg))
    node = tree
    for key in trail[:-1]:
        node = node[key]
    node[trail[-1]] = [1, 2]  # wrong for every scalar field
    with pytest.raises(WireDecodeError) as info:
        (decode_client if client else decode_server)(json.dumps(tree))
    assert info.value.path == path


def test_struct_strategies_cover_every_public_struct() -> None:
    """Every wire struct is reachable from the two envelopes (so the round trips cover it)."""
    reachable: set[type] = set()

    def visit(cls: type[WireStruct]) -> None:
        if cls in reachable:
            return
        reachable.add(cls)
        for tp in _public_fields(cls).values():
            for inner in _flatten(tp):
                if isinstance(inner, type) and issubclass(inner, WireStruct):
                    visit(inner)

    visit(ClientMessage)
    visit(ServerMessage)
    structs = {
        cls
        for name in wire.__all__
        if isinstance(cls := getattr(wire, name), type) and issubclass(cls, msgspec.Struct)
    }
    assert structs - reachable == set()


def _flatten(tp: Any) -> list[Any]:
    args = typing.get_args(tp)
    return [tp] if not args else [x for a in args for x in _flatten(a)]
