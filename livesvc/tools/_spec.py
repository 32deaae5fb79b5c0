"""Python callables as Live tools: a declaration for the model, a handler for the session.

``@tool`` turns a function into a :class:`ToolSpec`. Its declaration (name,
description, JSON schema of the parameters) is derived from the signature and
docstring unless given; its arguments are converted to the annotated types
before the call, so a bad argument from the model becomes an error response
instead of a crash deep inside the function.

Example::

    @tool(timeout=5)
    async def get_weather(city: str, unit: str = "celsius") -> dict:
        \"\"\"Current weather for a city.\"\"\"
        return {"city": city, "temp": 21, "unit": unit}

    get_weather.declaration.name          # 'get_weather'
    await get_weather(city="Paris")       # still callable directly
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, get_type_hints

import msgspec

from livesvc.wire import Behavior, FunctionDeclaration, FunctionResponseScheduling

__all__ = ["ToolArgumentError", "ToolResult", "ToolSpec", "tool"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,63}$")
_BEHAVIORS = (Behavior.BLOCKING, Behavior.NON_BLOCKING)
_SCHEDULINGS = (
    FunctionResponseScheduling.SILENT,
    FunctionResponseScheduling.WHEN_IDLE,
    FunctionResponseScheduling.INTERRUPT,
)


class ToolArgumentError(ValueError):
    """The model called a tool with arguments that do not fit its signature.

    ``reason_code`` is ``unexpected_argument``, ``missing_argument`` or
    ``invalid_type``; ``valid_options`` lists the tool's parameter names.
    """

    def __init__(
        self, message: str, *, reason_code: str = "invalid_type", valid_options: list[str]
    ) -> None:
        super().__init__(message)
        self.reason_code = reason_code
        self.valid_options = valid_options


@dataclass(frozen=True)
class ToolResult:
    """A tool's answer with per-call options (for NON_BLOCKING functions).

    Return it from a tool to choose ``scheduling`` (``SILENT``, ``WHEN_IDLE``,
    ``INTERRUPT``) for this one response.
    """

    response: Any
    scheduling: str | None = None


class ToolSpec:
    """A registered tool: its declaration and the callable that answers it.

    Attributes:
        name: the function name the model calls.
        declaration: the ``FunctionDeclaration`` sent in the setup.
        timeout: seconds before the call is abandoned with an error response
            (``None``: the session's ``tool_timeout``).
        scheduling: default scheduling of this tool's responses.
        suppress_repeats: a call identical (same name and arguments) to an earlier
            one of the same interaction is answered with the earlier result instead
            of running again (off by default; for side-effect-free lookups).
        is_async: whether the handler is a coroutine function (else it runs in a thread).
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        parameters: dict[str, Any] | None = None,
        behavior: str | None = None,
        scheduling: str | None = None,
        timeout: float | None = None,
        suppress_repeats: bool = False,
    ) -> None:
        self.fn = fn
        self.suppress_repeats = suppress_repeats
        self.name = name or fn.__name__
        if not _NAME.match(self.name):
            raise ValueError(f"invalid tool name {self.name!r}: letters, digits, _ . - (max 64)")
        if behavior is not None and behavior not in _BEHAVIORS:
            raise ValueError(
                f"tool {self.name}: behavior must be one of {_BEHAVIORS}, got {behavior!r}"
            )
        if scheduling is not None and scheduling not in _SCHEDULINGS:
            raise ValueError(
                f"tool {self.name}: scheduling must be one of {_SCHEDULINGS}, got {scheduling!r}"
            )
        if timeout is not None and not timeout > 0:
            raise ValueError(f"tool {self.name}: timeout must be > 0")
        self.timeout = timeout
        self.scheduling = scheduling
        self.is_async = inspect.iscoroutinefunction(fn)
        self._signature = inspect.signature(fn)
        try:
            self._hints = get_type_hints(fn)
        except Exception:  # unresolvable annotations: fall back to no conversion
            self._hints = {}
        doc = inspect.getdoc(fn) or ""
        self.declaration = FunctionDeclaration(
            name=self.name,
            description=description if description is not None else (doc.split("\n\n")[0] or None),
            parameters_json_schema=parameters if parameters is not None else self._schema(),
            behavior=behavior,
        )

    @property
    def non_blocking(self) -> bool:
        """Whether the model keeps talking while this tool runs."""
        return self.declaration.behavior == Behavior.NON_BLOCKING

    def _schema(self) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        required: list[str] = []
        for pname, param in self._signature.parameters.items():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            hint = self._hints.get(pname, Any)
            try:
                properties[pname] = msgspec.json.schema(hint) if hint is not Any else {}
            except TypeError:
                properties[pname] = {}
            if param.default is param.empty:
                required.append(pname)
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        return schema

    def bind(self, args: dict[str, Any] | None) -> dict[str, Any]:
        """Convert the model's ``args`` to keyword arguments of the handler.

        Raises:
            ToolArgumentError: a missing, unknown or ill-typed argument.
        """
        args = dict(args or {})
        params = self._signature.parameters
        accepts_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
        options = [n for n, p in params.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        out: dict[str, Any] = {}
        for key, value in args.items():
            if key not in params and not accepts_any:
                raise ToolArgumentError(
                    f"unexpected argument {key!r}",
                    reason_code="unexpected_argument",
                    valid_options=options,
                )
            hint = self._hints.get(key)
            if hint is None or hint is Any or key not in params:
                out[key] = value
                continue
            try:
                out[key] = msgspec.convert(value, hint, strict=False)
            except (msgspec.ValidationError, TypeError) as exc:
                raise ToolArgumentError(
                    f"argument {key!r}: {exc}", reason_code="invalid_type", valid_options=options
                ) from None
        for pname, param in params.items():
            if (
                param.default is param.empty
                and param.kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY)
                and pname not in out
            ):
                raise ToolArgumentError(
                    f"missing argument {pname!r}",
                    reason_code="missing_argument",
                    valid_options=options,
                )
        return out

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"ToolSpec(name={self.name!r}, async={self.is_async}, timeout={self.timeout})"


def tool(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    parameters: dict[str, Any] | None = None,
    behavior: str | None = None,
    scheduling: str | None = None,
    timeout: float | None = None,
    suppress_repeats: bool = False,
) -> Any:
    """Declare a Python callable as a Live tool (usable bare or with options).

    Args:
        name: the function name for the model (default: the Python name).
        description: shown to the model (default: the docstring's first paragraph).
        parameters: a JSON schema for the arguments (default: from the signature).
        behavior: ``"NON_BLOCKING"`` lets the model keep talking while it runs.
        scheduling: default ``scheduling`` of its responses (NON_BLOCKING only).
        timeout: seconds before the call is answered with a timeout error.
        suppress_repeats: answer a call identical to an earlier one of the same
            interaction with the earlier result, without running the tool again
            (Gemini 3.8 may repeat a lookup 2-5 times in one turn). Off by default:
            use it for lookups without side effects only.

    Example::

        @tool
        def add(a: int, b: int) -> int:
            \"\"\"Add two numbers.\"\"\"
            return a + b

        @tool(suppress_repeats=True, timeout=5)
        async def find_flights(origin: str, day: str) -> dict:
            \"\"\"Flights leaving on a day.\"\"\"
            ...
    """

    def wrap(f: Callable[..., Any]) -> ToolSpec:
        return ToolSpec(
            f,
            name=name,
            description=description,
            parameters=parameters,
            behavior=behavior,
            scheduling=scheduling,
            timeout=timeout,
            suppress_repeats=suppress_repeats,
        )

    return wrap(fn) if fn is not None else wrap
