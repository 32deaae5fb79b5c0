"""@tool: declarations from signatures, arguments converted before the call."""

from __future__ import annotations

from typing import Any

import pytest

from livesvc.tools import ToolArgumentError, ToolSpec, tool


@tool(timeout=5)
async def get_weather(city: str, days: int = 1, units: list[str] | None = None) -> dict[str, Any]:
    """Weather for a city.

    Longer explanation that the model does not need.
    """
    return {"city": city, "days": days}


def test_declaration_from_signature_and_docstring() -> None:
    """Name, first docstring paragraph and a JSON schema with required params."""
    decl = get_weather.declaration
    assert decl.name == "get_weather"
    assert decl.description == "Weather for a city."
    assert decl.parameters_json_schema == {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "days": {"type": "integer"},
            "units": {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}]},
        },
        "required": ["city"],
    }
    assert get_weather.timeout == 5
    assert get_weather.is_async


def test_bind_converts_json_numbers_to_annotated_types() -> None:
    """The model sends JSON; 2.0 for an int parameter becomes 2."""
    assert get_weather.bind({"city": "Paris", "days": 2.0}) == {"city": "Paris", "days": 2}


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ({}, "missing argument 'city'"),
        ({"city": "x", "color": "red"}, "unexpected argument 'color'"),
        ({"city": "x", "days": "many"}, "argument 'days'"),
    ],
)
def test_bind_rejects_bad_arguments(args: dict[str, Any], match: str) -> None:
    """Bad arguments raise ToolArgumentError, which the executor turns into an error response."""
    with pytest.raises(ToolArgumentError, match=match):
        get_weather.bind(args)


def test_explicit_options_win() -> None:
    """Explicit name, description and schema replace the derived ones; the function stays callable."""

    @tool(
        name="add.numbers",
        description="Adds.",
        parameters={"type": "object"},
        behavior="NON_BLOCKING",
    )
    def add(a: int, b: int) -> int:
        return a + b

    assert add.name == "add.numbers"
    assert add.declaration.description == "Adds."
    assert add.declaration.parameters_json_schema == {"type": "object"}
    assert add.non_blocking
    assert add(2, 3) == 5
    assert not add.is_async


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"name": "bad name"}, "invalid tool name"),
        ({"behavior": "SOMETIMES"}, "behavior"),
        ({"scheduling": "LATER"}, "scheduling"),
        ({"timeout": 0}, "timeout"),
    ],
)
def test_invalid_options(kw: dict[str, Any], match: str) -> None:
    """Options the API would reject fail at declaration time."""
    with pytest.raises(ValueError, match=match):
        ToolSpec(lambda: None, **{"name": "ok", **kw})


def test_kwargs_tool_accepts_anything() -> None:
    """A **kwargs tool receives every argument unchanged."""

    def anything(**kwargs: Any) -> Any:
        return kwargs

    spec = ToolSpec(anything)
    assert spec.bind({"x": 1, "y": [2]}) == {"x": 1, "y": [2]}
    assert spec.declaration.parameters_json_schema == {"type": "object", "properties": {}}
