"""Shared helpers of the wire tests: comparing JSON frames modulo casing and base64."""

import base64
import re
from collections.abc import Callable
from typing import Any

import pytest

# Keys whose string values are base64 bytes on the wire.
BASE64_KEYS = frozenset(
    {"data", "thoughtSignature", "voiceSampleAudio", "consentAudio", "imageData", "sdkBlob"}
)
# Keys whose values are int64 (proto3 JSON: string or number).
INT64_KEYS = frozenset({"triggerTokens", "targetTokens", "lastConsumedClientMessageIndex"})

_SNAKE = re.compile(r"_([a-z0-9])")


def camel(key: str) -> str:
    return _SNAKE.sub(lambda m: m.group(1).upper(), key)


def fold_wire_json(value: Any, key: str = "") -> Any:
    """Folds the irrelevant wire differences: key casing, base64 alphabet and
    padding, int64 as string vs number, explicit nulls."""
    if isinstance(value, dict):
        return {camel(k): fold_wire_json(v, camel(k)) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [fold_wire_json(v, key) for v in value]
    if key in BASE64_KEYS and isinstance(value, str):
        std = value.replace("-", "+").replace("_", "/")
        return base64.b64decode(std + "=" * (-len(std) % 4))
    if key in INT64_KEYS and isinstance(value, str):
        return int(value)
    return value


@pytest.fixture
def fold() -> Callable[[Any], Any]:
    return fold_wire_json
