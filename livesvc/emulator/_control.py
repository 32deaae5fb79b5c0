"""The control API under ``/_emulator/``: session listing and fault injection.

Served to loopback clients only. Bodies and answers are JSON with camelCase keys:

=======  ===========================  ==================================================
method   path                         body / answer
=======  ===========================  ==================================================
GET      /_emulator/healthz           ``{"status": "ok"}``
GET      /_emulator/sessions          ``{"sessions": [{"sessionId", "model", ...}]}``
POST     /_emulator/faults/drop       ``{"sessionId"?}`` -> ``{"affected": n}``
POST     /_emulator/faults/close      ``{"code"?, "reason"?, "sessionId"?}``
POST     /_emulator/faults/go_away    ``{"timeLeft"?, "sessionId"?}``
POST     /_emulator/faults/delay      ``{"seconds", "sessionId"?}``
POST     /_emulator/faults/stall      ``{"seconds"?, "sessionId"?}``
POST     /_emulator/faults/refuse     ``{"code"?, "seconds"?, "reason"?, "count"?, "sessionId"?}``
GET      /_emulator/faults            refusals and delays in force
DELETE   /_emulator/faults            lift refusals and delays
=======  ===========================  ==================================================
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from livesvc._server import HttpError, HttpRequest, HttpResponse, Router
from livesvc.emulator._faults import UnknownSessionError

if TYPE_CHECKING:
    from livesvc.emulator._core import EmulatorCore

__all__ = ["add_control_routes"]


def add_control_routes(router: Router, core: EmulatorCore) -> None:
    """Route the ``/_emulator/...`` control API (loopback clients only)."""

    async def healthz(request: HttpRequest) -> HttpResponse:
        _loopback_only(request)
        return HttpResponse.json({"status": "ok"})

    async def sessions(request: HttpRequest) -> HttpResponse:
        _loopback_only(request)
        return HttpResponse.json(
            {
                "sessions": [
                    {
                        "sessionId": s.session_id,
                        "model": s.model,
                        "backend": s.backend,
                        "turns": s.turns,
                        "state": s.state,
                        "connected": s.connected,
                        "connections": s.connections,
                        "resumable": s.resumable,
                    }
                    for s in core.registry.sessions()
                ]
            }
        )

    async def inject(request: HttpRequest) -> HttpResponse:
        _loopback_only(request)
        body = request.json()
        if not isinstance(body, Mapping):
            raise HttpError(400, "The body must be a JSON object.")
        kind = request.params["kind"]
        session_id = _optional(body, "sessionId", str)
        faults = core.faults
        try:
            if kind == "drop":
                affected = await faults.drop(session_id=session_id)
            elif kind == "close":
                affected = await faults.close(
                    _optional(body, "code", int) or 1011,
                    _optional(body, "reason", str),
                    session_id=session_id,
                )
            elif kind in ("go_away", "goAway"):
                affected = await faults.go_away(_seconds(body, "timeLeft"), session_id=session_id)
            elif kind == "delay":
                seconds = _seconds(body, "seconds")
                if seconds is None:
                    raise HttpError(400, "delay needs seconds.")
                affected = await faults.delay(seconds, session_id=session_id)
            elif kind == "stall":
                affected = await faults.stall(_seconds(body, "seconds"), session_id=session_id)
            elif kind == "refuse":
                await faults.refuse(
                    _optional(body, "code", int) or 1011,
                    _seconds(body, "seconds"),
                    reason=_optional(body, "reason", str),
                    count=_optional(body, "count", int),
                    session_id=session_id,
                )
                affected = 0
            else:
                raise HttpError(404, f"Unknown fault {kind!r}.")
        except UnknownSessionError:
            raise HttpError(404, f"No live session {session_id}.") from None
        except ValueError as exc:
            raise HttpError(400, str(exc)) from None
        return HttpResponse.json({"affected": affected})

    async def active(request: HttpRequest) -> HttpResponse:
        _loopback_only(request)
        return HttpResponse.json(core.faults.active())

    async def clear(request: HttpRequest) -> HttpResponse:
        _loopback_only(request)
        await core.faults.clear()
        return HttpResponse.json({})

    router.add("GET", "/_emulator/healthz", healthz)
    router.add("GET", "/_emulator/sessions", sessions)
    router.add("POST", "/_emulator/faults/{kind}", inject)
    router.add("GET", "/_emulator/faults", active)
    router.add("DELETE", "/_emulator/faults", clear)


def _loopback_only(request: HttpRequest) -> None:
    host = request.remote[0] if request.remote else None
    try:
        loopback = host is not None and ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise HttpError(403, "The emulator control API is served to loopback clients only.")


def _optional(body: Mapping[str, Any], key: str, kind: type) -> Any:
    value = body.get(key)
    if value is None:
        return None
    if kind is int and isinstance(value, bool):
        raise HttpError(400, f"{key} must be an integer.")
    if not isinstance(value, kind):
        raise HttpError(400, f"{key} must be a {kind.__name__}.")
    return value


def _seconds(body: Mapping[str, Any], key: str) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise HttpError(400, f"{key} must be a number of seconds.")
    return float(value)
