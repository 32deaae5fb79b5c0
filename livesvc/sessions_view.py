"""``livesvc sessions``: the daemon's sessions as a table, for the operator at a terminal.

It reads the admin API (``GET /v1/sessions``), so it works for one process or a
master with workers, and shows what an operator looks for first: state, key,
model, age, turns, reconnects and the last error. ``--watch`` redraws it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

import httpx

from livesvc.config import ConfigError, SecretUnavailable, load_config, read_secret

__all__ = ["fetch_sessions", "register", "render_table"]

_EXAMPLE = """examples:
  livesvc sessions --admin http://127.0.0.1:8081 --token "$LIVESVC_ADMIN_TOKEN"
  livesvc sessions --config /etc/livesvc/livesvc.toml   # address and token_env/token_file from [admin]
  livesvc sessions --status active --watch 2     # redraw every 2 s (Ctrl-C stops)
  livesvc sessions --json | jq '.[].session_id'
"""
_DEFAULT_ADMIN = "http://127.0.0.1:8081"
_COLUMNS = ("SESSION", "STATUS", "KEY", "MODEL", "AGE", "TURNS", "RECONNECTS", "LAST ERROR")


class SessionsError(Exception):
    """The admin API could not be read; the message says why (never the token)."""


def register(subparsers: Any) -> None:
    """Add ``sessions`` to the ``livesvc`` command line."""
    parser = subparsers.add_parser(
        "sessions",
        help="show the daemon's sessions (state, key, model, age, turns, errors)",
        description=(
            "Show a running daemon's sessions as a table (state, key, model, age, turns,"
            " upstream reconnects, last error), read from its admin API."
        ),
        epilog=_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--admin",
        default=os.environ.get("LIVESVC_ADMIN_URL"),
        help=f"admin API base URL (default: $LIVESVC_ADMIN_URL, else the --config's [admin]"
        f" host and port, else {_DEFAULT_ADMIN})",
    )
    parser.add_argument(
        "--token",
        "--admin-token",
        default=os.environ.get("LIVESVC_ADMIN_TOKEN"),
        help="admin bearer token (default: $LIVESVC_ADMIN_TOKEN, else the --config's"
        " [admin] token_env or token_file)",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="the daemon's TOML config: where its admin API listens and how it reads its token",
    )
    parser.add_argument(
        "--status", choices=("active", "detached", "closing", "closed"), help="only these"
    )
    parser.add_argument(
        "--watch",
        type=float,
        nargs="?",
        const=2.0,
        metavar="SECONDS",
        help="redraw every SECONDS (default 2) until Ctrl-C",
    )
    parser.add_argument("--json", action="store_true", help="print the JSON instead of a table")
    parser.set_defaults(run=_run)


def fetch_sessions(admin: str, token: str, status: str | None = None) -> list[dict[str, Any]]:
    """``GET /v1/sessions`` from the admin API.

    Raises:
        SessionsError: unreachable, refused token, or an unexpected answer.
    """
    params = {"status": status} if status else None
    try:
        response = httpx.get(
            admin.rstrip("/") + "/v1/sessions",
            params=params,
            headers={"authorization": f"Bearer {token}"},
            timeout=10.0,
        )
    except httpx.HTTPError as err:
        raise SessionsError(
            f"cannot reach the admin API at {admin}: {type(err).__name__}"
        ) from None
    if response.status_code in (401, 403):
        raise SessionsError("the admin API refused the token (check --token)")
    if response.status_code != 200:
        raise SessionsError(f"the admin API answered HTTP {response.status_code}")
    sessions = response.json().get("sessions")
    if not isinstance(sessions, list):
        raise SessionsError("the admin API's answer has no session list")
    return sessions


def _target(args: argparse.Namespace) -> tuple[str, str]:
    """The admin URL and token: flags and environment first, then the config file.

    A config with only ``token_hash`` cannot give the token back (it is a digest).
    """
    admin, token, path = args.admin, args.token, getattr(args, "config", None)
    if path is not None and (admin is None or not token):
        try:
            section = load_config(path).admin
        except ConfigError as err:
            raise SessionsError(str(err)) from None
        if admin is None:
            host = f"[{section.host}]" if ":" in section.host else section.host
            admin = f"http://{host}:{section.port}"
        if not token:
            try:
                token = read_secret(env=section.token_env, file=section.token_file)
            except SecretUnavailable as err:
                raise SessionsError(f"the admin token named in {path}: {err}") from None
    if not token:
        raise SessionsError(
            "give --token (or set LIVESVC_ADMIN_TOKEN, or --config a file whose [admin]"
            " has token_env or token_file; a token_hash cannot be read back)"
        )
    return admin or _DEFAULT_ADMIN, token


def _age(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def _key(principal: str) -> str:
    return principal.removeprefix("key:")


def _error(view: dict[str, Any]) -> str:
    code, reason = view.get("last_close_code"), view.get("last_close_reason")
    if code is None or code == 1000:
        return ""
    return f"{code} {reason or ''}".strip()[:48]


def render_table(sessions: list[dict[str, Any]]) -> str:
    """The sessions as an aligned text table (newest first)."""
    rows = [
        (
            str(v.get("session_id", "")),
            str(v.get("status", "")),
            _key(str(v.get("principal", ""))),
            str(v.get("model", "")),
            _age(float(v.get("duration_seconds", 0))),
            str(v.get("turns", 0)),
            str(v.get("upstream_reconnects", 0)),
            _error(v),
        )
        for v in sorted(sessions, key=lambda v: str(v.get("created_at", "")), reverse=True)
    ]
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(_COLUMNS)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(_COLUMNS, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    if not rows:
        lines.append("(no sessions)")
    return "\n".join(lines)


def _run(
    args: argparse.Namespace,
    *,
    out: TextIO | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    out = out or sys.stdout
    try:
        admin, token = _target(args)
    except SessionsError as err:
        print(f"sessions: {err}", file=sys.stderr)
        return 2
    while True:
        try:
            sessions = fetch_sessions(admin, token, args.status)
        except SessionsError as err:
            print(f"sessions: {err}", file=sys.stderr)
            return 1
        if args.json:
            import json

            print(json.dumps(sessions, indent=2), file=out)
        else:
            if args.watch:
                out.write("\x1b[H\x1b[2J")  # home, clear: a redraw, not a scroll
            print(render_table(sessions), file=out)
        if not args.watch:
            return 0
        try:
            sleep(args.watch)
        except KeyboardInterrupt:
            return 0
