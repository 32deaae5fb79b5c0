"""Casing, base64 and int64 machinery shared by every wire struct.

The Live API speaks proto3 JSON, and its peers are loose about it: the official
SDK sends camelCase and snake_case keys in the same frame (sometimes both spellings
of one field at different levels), URL-safe base64 where proto3 JSON uses the
standard alphabet, and int64 values as JSON strings. This module makes one
msgspec decode pass accept all of that, with no dict round trip:

* **Casing.** Every struct encodes and decodes its fields under the lowerCamel
  name (``rename="camel"``). For each field whose snake name differs, the
  metaclass adds a hidden *alias* field named ``<field>_`` whose wire name is the
  snake spelling, default ``None``. After decoding, the generated
  ``__post_init__`` folds the alias into the public field (camelCase wins when a
  frame carries both) and resets the alias to ``None``, so it is never encoded
  (``omit_defaults``), never shown (``repr_omit_defaults``), and never makes two
  equal messages compare unequal.
* **Base64.** Fields annotated :data:`Base64Bytes` are ``bytes`` to type checkers
  and user code, but decode as ``str``; ``__post_init__`` turns the text into bytes,
  accepting the standard and the URL-safe alphabet, with or without padding.
  Encoding uses msgspec's native ``bytes`` support (standard alphabet, padded).
* **int64.** Fields annotated :data:`Int64` are ``int``; the decoders run with
  ``strict=False`` so ``"123"`` and ``123`` both decode, and ``__post_init__`` wraps
  the value in :class:`Int64Value`, which :func:`enc_hook` emits as a JSON string.

Unknown fields are ignored (forward compatibility), and enum-valued fields are
plain ``str`` so unknown values pass through.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias, get_args, get_origin

import msgspec

__all__ = [
    "Base64Bytes",
    "Int64",
    "Int64Value",
    "WireStruct",
    "b64decode",
    "enc_hook",
    "to_int64",
    "wire_name",
]


class _Marker:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<wire {self.name}>"


_BASE64 = _Marker("base64")
_INT64 = _Marker("int64")

if TYPE_CHECKING:
    Base64Bytes: TypeAlias = bytes
    Int64: TypeAlias = int
else:
    # The runtime annotation is what msgspec decodes; the post-init converts it.
    Base64Bytes = Annotated[str, _BASE64]
    Int64 = Annotated[int, _INT64]


class Int64Value(int):
    """An ``int`` that encodes as a JSON string (proto3 JSON mapping of int64)."""

    __slots__ = ()


def enc_hook(obj: Any) -> Any:
    """msgspec ``enc_hook`` for the wire encoders: int64 values become strings."""
    if isinstance(obj, Int64Value):
        return int.__str__(obj)
    raise NotImplementedError(f"cannot encode {type(obj).__name__}")


class FieldValueError(ValueError):
    """A field's value is malformed; the message starts with the field's wire name.

    msgspec turns errors raised in ``__post_init__`` into a ``ValidationError`` at
    the struct's path; the codec appends the field name parsed from this message.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"`{field}`: {reason}")


def b64decode(text: str, field: str = "data") -> bytes:
    """Decodes base64 in the standard or URL-safe alphabet, padded or not.

    Example:
        >>> b64decode("-__-AAE") == b64decode("+//+AAE=") == bytes([251, 255, 254, 0, 1])
        True
    """
    # msgspec's own base64 decoder (standard alphabet, padded, strict) is about
    # three times faster than binascii; str.replace is memchr-fast when there is
    # nothing to replace, so standard input pays only the two scans.
    if "-" in text or "_" in text:
        text = text.replace("-", "+").replace("_", "/")
    missing = -len(text) & 3
    if missing:
        text += "=" * missing
    try:
        return msgspec.convert(text, bytes)
    except msgspec.ValidationError:
        raise FieldValueError(field, "invalid base64") from None


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def to_int64(value: int, field: str = "value") -> Int64Value:
    """Checks the int64 range (a proto peer rejects anything wider) and marks the value.

    Example:
        >>> to_int64(7)
        7
    """
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise FieldValueError(field, "integer out of int64 range")
    return Int64Value(value)


_CAMEL_BOUNDARY = re.compile(r"_([a-z0-9])")


def wire_name(field: str) -> str:
    """The lowerCamel wire name of a snake_case field name (msgspec's ``camel``)."""
    return _CAMEL_BOUNDARY.sub(lambda m: m.group(1).upper(), field)


def _has_marker(annotation: Any, marker: _Marker) -> bool:
    if get_origin(annotation) is Annotated:
        return marker in annotation.__metadata__
    return any(_has_marker(arg, marker) for arg in get_args(annotation))


def _post_init_source(
    aliases: list[str], base64_fields: list[tuple[str, str]], int64_fields: list[tuple[str, str]]
) -> str:
    lines = ["def __post_init__(self):"]
    for field in aliases:
        lines += [
            f"    v = self.{field}_",
            "    if v is not None:",
            f"        if self.{field} is None:",
            f"            self.{field} = v",
            f"        self.{field}_ = None",
        ]
    for field, wire in base64_fields:
        lines += [
            f"    v = self.{field}",
            "    if v.__class__ is str:",
            f"        self.{field} = _b64decode(v, {wire!r})",
        ]
    for field, wire in int64_fields:
        lines += [
            f"    v = self.{field}",
            "    if v is not None and v.__class__ is not _Int64Value:",
            f"        self.{field} = _to_int64(v, {wire!r})",
        ]
    return "\n".join(lines) + "\n"


class _WireMeta(msgspec.StructMeta):
    """Adds the snake_case alias fields and the generated ``__post_init__``."""

    def __new__(
        mcls, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any
    ) -> _WireMeta:
        annotations: dict[str, Any] = dict(namespace.get("__annotations__", {}))
        aliases: list[str] = []
        base64_fields: list[tuple[str, str]] = []
        int64_fields: list[tuple[str, str]] = []
        for field, annotation in list(annotations.items()):
            if field.startswith("_") or field.endswith("_"):
                continue
            if isinstance(annotation, str):
                raise TypeError(f"{name}.{field}: wire structs need evaluated annotations")
            if wire_name(field) != field:
                alias = field + "_"
                annotations[alias] = annotation
                namespace[alias] = msgspec.field(default=None, name=field)
                aliases.append(field)
            if _has_marker(annotation, _BASE64):
                base64_fields.append((field, wire_name(field)))
            if _has_marker(annotation, _INT64):
                int64_fields.append((field, wire_name(field)))
        namespace["__annotations__"] = annotations
        if aliases or base64_fields or int64_fields:
            if "__post_init__" in namespace:
                raise TypeError(f"{name}: wire structs get a generated __post_init__")
            scope: dict[str, Any] = {
                "_b64decode": b64decode,
                "_to_int64": to_int64,
                "_Int64Value": Int64Value,
            }
            code = compile(
                _post_init_source(aliases, base64_fields, int64_fields),
                f"<wire post-init of {name}>",
                "exec",
            )
            exec(code, scope)  # generated straight-line code: the decode hot path
            namespace["__post_init__"] = scope["__post_init__"]
        return super().__new__(mcls, name, bases, namespace, **kwargs)


class WireStruct(
    msgspec.Struct,
    metaclass=_WireMeta,
    kw_only=True,
    rename="camel",
    omit_defaults=True,
    repr_omit_defaults=True,
):
    """Base of every Live API wire struct (see the module docstring).

    Subclasses repeat ``kw_only=True`` (msgspec does not inherit it); every field
    has a default so any subset of a message can be built and sent.
    """
