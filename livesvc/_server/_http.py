"""REST on the front door: requests, responses, Google-shaped errors, a route table."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from livesvc._server._headers import Headers

__all__ = ["HttpError", "HttpRequest", "HttpResponse", "Route", "Router", "google_status"]

_json_encoder = msgspec.json.Encoder()
_json_decoder = msgspec.json.Decoder()

# HTTP status -> google.rpc.Code name, for {"error": {"code", "message", "status"}}.
_GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "INVALID_ARGUMENT",
    408: "DEADLINE_EXCEEDED",
    409: "ALREADY_EXISTS",
    411: "INVALID_ARGUMENT",
    413: "INVALID_ARGUMENT",
    415: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    431: "INVALID_ARGUMENT",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def google_status(code: int) -> str:
    """The ``google.rpc.Code`` name Google pairs with an HTTP status.

    >>> google_status(429)
    'RESOURCE_EXHAUSTED'
    """
    if code in _GOOGLE_STATUS:
        return _GOOGLE_STATUS[code]
    return "INTERNAL" if code >= 500 else "FAILED_PRECONDITION"


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One REST request, body read in full.

    ``path`` is percent-decoded and slash-collapsed; ``params`` holds the values of
    the route's ``{placeholders}``; ``remote`` is the peer's ``(host, port)``.
    """

    method: str
    path: str
    query: Mapping[str, str]
    headers: Headers
    body: bytes
    remote: tuple[str, int] | None = None
    params: Mapping[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        """The body as JSON (an empty body is ``{}``); bad JSON is a 400."""
        if not self.body.strip():
            return {}
        try:
            return _json_decoder.decode(self.body)
        except msgspec.DecodeError as exc:
            raise HttpError(400, f"Invalid JSON payload received. {exc}") from None


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A REST response; build JSON ones with :meth:`json` or :meth:`error`."""

    status: int
    body: bytes = b""
    content_type: str = "application/json; charset=UTF-8"
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(cls, payload: Any, status: int = 200) -> HttpResponse:
        """A JSON response.

        >>> HttpResponse.json({"ok": True}).body
        b'{"ok":true}'
        """
        return cls(status=status, body=_json_encoder.encode(payload))

    @classmethod
    def error(cls, status: int, message: str) -> HttpResponse:
        """An error in Google's shape: ``{"error": {"code", "message", "status"}}``.

        >>> HttpResponse.error(404, "nope").body
        b'{"error":{"code":404,"message":"nope","status":"NOT_FOUND"}}'
        """
        return cls.json(
            {"error": {"code": status, "message": message, "status": google_status(status)}},
            status=status,
        )


class HttpError(Exception):
    """Raise from a route handler to answer with a Google-shaped error."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def response(self) -> HttpResponse:
        """The error response this exception stands for."""
        return HttpResponse.error(self.status, self.message)


Handler = Callable[[HttpRequest], Awaitable[HttpResponse]]

_PLACEHOLDER = re.compile(r"\{(\w+)(:path)?\}")


@dataclass(frozen=True, slots=True)
class Route:
    """``method`` and ``pattern`` (``/{version}/models/{name}``) mapped to a handler.

    A ``{name}`` placeholder matches one path segment; ``{name:path}`` matches the
    rest of the path, slashes included.
    """

    method: str
    pattern: str
    handler: Handler
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts: list[str] = []
        last = 0
        for match in _PLACEHOLDER.finditer(self.pattern):
            parts.append(re.escape(self.pattern[last : match.start()]))
            body = ".+" if match.group(2) else "[^/]+"
            parts.append(f"(?P<{match.group(1)}>{body})")
            last = match.end()
        parts.append(re.escape(self.pattern[last:]))
        object.__setattr__(self, "regex", re.compile("".join(parts)))


class Router:
    """A small route table; unmatched paths answer 404 and wrong methods 405.

    Example::

        router = Router()
        router.add("GET", "/{version}/models", list_models)
        response = await router.dispatch(request)
    """

    def __init__(self, routes: list[Route] | None = None) -> None:
        self._routes: list[Route] = list(routes or [])

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        """Route ``method pattern`` to ``handler`` (first added wins)."""
        self._routes.append(Route(method.upper(), pattern, handler))

    async def dispatch(self, request: HttpRequest) -> HttpResponse:
        """Answer ``request``; handler errors become Google-shaped error responses."""
        path_matched = False
        for route in self._routes:
            match = route.regex.fullmatch(request.path)
            if match is None:
                continue
            path_matched = True
            if route.method != request.method:
                continue
            bound = HttpRequest(
                method=request.method,
                path=request.path,
                query=request.query,
                headers=request.headers,
                body=request.body,
                remote=request.remote,
                params=match.groupdict(),
            )
            try:
                return await route.handler(bound)
            except HttpError as exc:
                return exc.response()
        if path_matched:
            return HttpResponse.error(405, f"Method {request.method} is not allowed here.")
        return HttpResponse.error(404, f"The requested URL {request.path} was not found.")
