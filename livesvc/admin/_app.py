"""The admin API as a small ASGI application (served by hypercorn on trio).

Routes:

* ``GET /healthz``: 200 while the process serves requests (no token).
* ``GET /readyz``: 200 when the daemon accepts sessions, else 503 (no token).
* ``GET /metrics``: Prometheus text format.
* ``GET /v1/sessions[?status=active]``, ``GET /v1/sessions/{id}``,
  ``DELETE /v1/sessions/{id}[?reason=...]``: list, inspect, close.
* ``POST /{version}/auth_tokens``: mint an ephemeral token, body shaped like
  Google's ``auth_tokens.create`` (so the google-genai SDK can mint against it).
* ``POST /internal/sessions/{id}/release``: only on a worker's private endpoint
  (``release`` given): hand the session to the worker named in the body
  (``{"claimant": "..."}``); answers a :class:`livesvc.gateway.Handover`.

Everything but the two probes needs the admin token, as ``Authorization:
Bearer <token>`` or ``x-goog-api-key`` (what the SDK sends), compared with the
configured hash in constant time.
"""

from __future__ import annotations

import datetime
import inspect
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import msgspec

from livesvc._server import collapse_slashes, google_status
from livesvc.admin._control import DaemonControl
from livesvc.config import key_matches
from livesvc.gateway import AuthTokenRequest, TokenRequestError
from livesvc.gateway._gateway import Handover
from livesvc.logs import get_logger
from livesvc.usage._report import UsageQueryError, parse_group_by

__all__ = ["AdminApp"]

log = get_logger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

T = TypeVar("T")
# Hands a session to another worker: (session id, claimant) -> the handover.
ReleaseHandler = Callable[[str, str], Awaitable[Handover]]


class ReleaseRequest(msgspec.Struct, frozen=True, kw_only=True):
    """The body of a release: the worker instance that takes the session."""

    claimant: str


_encoder = msgspec.json.Encoder()
_token_request = msgspec.json.Decoder(AuthTokenRequest)
_release_request = msgspec.json.Decoder(ReleaseRequest)
_SESSION = re.compile(r"/v1/sessions/(?P<id>[A-Za-z0-9_.-]{1,128})")
_RELEASE = re.compile(r"/internal/sessions/(?P<id>[A-Za-z0-9_.-]{1,128})/release")
_AUTH_TOKENS = re.compile(r"/(?P<version>v1|v1alpha|v1beta)/auth_tokens")
_STATUSES = frozenset({"active", "detached", "closing", "closed"})


class _Reply(Exception):
    """Raised inside a handler to answer at once (errors, mostly)."""

    def __init__(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.status = status
        self.body = body
        self.content_type = content_type


def _json(status: int, payload: Any) -> _Reply:
    return _Reply(status, _encoder.encode(payload))


async def _resolve(value: T | Awaitable[T]) -> T:
    if inspect.isawaitable(value):
        return await value
    return value


def _error(status: int, message: str) -> _Reply:
    return _json(
        status, {"error": {"code": status, "message": message, "status": google_status(status)}}
    )


class AdminApp:
    """The admin ASGI app over a :class:`DaemonControl`.

    Example::

        app = AdminApp(daemon, token_hash=hash_key("admin-token"))
        await hypercorn.trio.serve(app, hypercorn_config)
    """

    def __init__(
        self,
        control: DaemonControl,
        *,
        token_hash: str | Callable[[], str | None] | None,
        max_body_bytes: int = 1 << 20,
        release: ReleaseHandler | None = None,
    ) -> None:
        self._control = control
        self._release = release
        # A callable lets the daemon rotate the token on SIGHUP.
        self._token_hash: Callable[[], str | None] = (
            token_hash if callable(token_hash) else (lambda: token_hash)
        )
        self._max_body = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method = scope["method"].upper()
        path = collapse_slashes(scope["path"])
        try:
            reply = await self._route(scope, receive, method, path)
        except _Reply as answer:
            reply = answer
        except Exception as err:  # a bug in one request never takes the admin API down
            log.error("admin.request_failed", method=method, path=path, error=type(err).__name__)
            reply = _error(500, "Internal error encountered.")
        if method != "GET" or reply.status >= 400:
            log.info("admin.request", method=method, path=path, status=reply.status)
        await send(
            {
                "type": "http.response.start",
                "status": reply.status,
                "headers": [
                    (b"content-type", reply.content_type.encode()),
                    (b"content-length", str(len(reply.body)).encode()),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": reply.body})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _route(self, scope: Scope, receive: Receive, method: str, path: str) -> _Reply:
        if path == "/healthz":
            _allow(method, "GET")
            return _json(200, {"status": "ok"})
        if path == "/readyz":
            _allow(method, "GET")
            readiness = await _resolve(self._control.readiness())
            return _Reply(200 if readiness.ready else 503, _encoder.encode(readiness))
        self._authorize(scope)
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if path == "/metrics":
            _allow(method, "GET")
            body, content_type = await _resolve(self._control.metrics_exposition())
            return _Reply(200, body, content_type)
        if path == "/v1/sessions":
            _allow(method, "GET")
            status = query.get("status")
            if status is not None and status not in _STATUSES:
                raise _error(
                    400, f"status: expected one of {', '.join(sorted(_STATUSES))}, got {status!r}"
                )
            sessions = await self._control.list_sessions(status=status)
            return _json(200, {"sessions": sessions})
        # -- fleet (docs/fleet.md): the nodes, their leases and sessions ------------
        if path == "/v1/nodes" and (list_nodes := getattr(self._control, "list_nodes", None)):
            _allow(method, "GET")
            return _json(200, {"nodes": await list_nodes()})
        # -- end fleet
        if path == "/v1/usage":
            _allow(method, "GET")
            try:
                since, until = _days(query.get("since"), query.get("until"))
                group_by = parse_group_by(query.get("group_by"))
            except UsageQueryError as err:
                raise _error(400, str(err)) from None
            report = await self._control.usage_report(
                key=query.get("key") or None, since=since, until=until, group_by=group_by
            )
            return _json(200, report)
        if match := _SESSION.fullmatch(path):
            session_id = match["id"]
            if method == "GET":
                view = await self._control.get_session(session_id)
                if view is None:
                    raise _error(404, f"No session {session_id!r}.")
                return _json(200, view)
            _allow(method, "DELETE")
            reason = query.get("reason", "closed by admin")[:120]
            if not await self._control.close_session(session_id, reason=reason):
                raise _error(404, f"No open session {session_id!r}.")
            return _json(200, {"sessionId": session_id, "closed": True})
        if _AUTH_TOKENS.fullmatch(path):
            _allow(method, "POST")
            body = await self._body(receive)
            try:
                request = _token_request.decode(body or b"{}")
            except msgspec.DecodeError as err:
                raise _error(400, f"Invalid token request: {err}") from None
            try:
                token = await self._control.mint_token(request)
            except TokenRequestError as err:
                raise _error(400, str(err)) from None
            log.info(
                "admin.token_minted",
                token_id=token.token_id,
                profile=token.profile,
                uses=token.uses,
            )
            return _json(200, token)
        if self._release is not None and (match := _RELEASE.fullmatch(path)):
            _allow(method, "POST")
            try:
                release = _release_request.decode(await self._body(receive))
            except msgspec.DecodeError as err:
                raise _error(400, f"Invalid release request: {err}") from None
            handover = await self._release(match["id"], release.claimant)
            return _json(200, handover)
        raise _error(404, f"The requested URL {path} was not found.")

    def _authorize(self, scope: Scope) -> None:
        presented = None
        for name, value in scope.get("headers", ()):
            name = name.lower()
            if name == b"authorization":
                scheme, _, credential = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer" and credential.strip():
                    presented = credential.strip()
            elif name == b"x-goog-api-key" and presented is None:
                presented = value.decode("latin-1").strip() or None
        if presented is None:
            raise _error(401, "Missing admin token (Authorization: Bearer ...).")
        expected = self._token_hash()
        if expected is None or not key_matches(presented, expected):
            raise _error(403, "Admin token not valid.")

    async def _body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _error(400, "Client went away.")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self._max_body:
                raise _error(413, "Request body too large.")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _allow(method: str, allowed: str) -> None:
    if method != allowed:
        raise _error(405, f"Method {method} is not allowed here.")


def _days(since: str | None, until: str | None) -> tuple[str, str]:
    """The query's day range (UTC dates; default: today); at most 400 days."""
    today = datetime.datetime.now(datetime.UTC).date()
    try:
        end = datetime.date.fromisoformat(until) if until else today
        start = datetime.date.fromisoformat(since) if since else end
    except ValueError as err:
        raise UsageQueryError(f"since/until: expected YYYY-MM-DD ({err})") from None
    if start > end:
        raise UsageQueryError("since: must not be after until")
    if (end - start).days >= 400:
        raise UsageQueryError("since/until: at most 400 days at once")
    return start.isoformat(), end.isoformat()
