"""Ephemeral tokens: minted by ``POST /v1alpha/auth_tokens``, enforced on connect.

A token has an expiry, a window for starting new sessions, a number of uses
(0 = unlimited; resuming does not count), and optionally a locked setup: the fields
named by ``fieldMask`` (or, without a mask, every field the token's setup sets, at
two levels as the SDK computes masks) are overlaid on the client's setup.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, get_args

import msgspec

from livesvc._server import HttpError
from livesvc.wire import SessionResumptionConfig, Setup, WireDecodeError, decode_client

__all__ = ["MintedToken", "TokenRejected", "TokenStore", "apply_constraints"]

_MAX_LIFETIME = 20 * 3600.0
_DEFAULT_EXPIRY = 30 * 60.0
_DEFAULT_NEW_SESSION_WINDOW = 60.0
_MAX_TOKENS = 10_000

_json = msgspec.json.Encoder()


class TokenRejected(Exception):
    """A token cannot open this session; ``reason`` is the close reason (1008)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MintedToken(msgspec.Struct, kw_only=True):
    """One ephemeral token and what is left of it."""

    name: str
    expire_time: float
    new_session_expire_time: float
    uses: int
    used: int = 0
    setup: Setup | None = None
    locked: tuple[tuple[str, ...], ...] = ()

    def describe(self) -> dict[str, Any]:
        """The REST representation (an ``AuthToken``)."""
        return {
            "name": self.name,
            "expireTime": _format_time(self.expire_time),
            "newSessionExpireTime": _format_time(self.new_session_expire_time),
            "uses": self.uses,
        }


class TokenStore:
    """Mints and admits ephemeral tokens; times are wall-clock epoch seconds.

    Example::

        store = TokenStore()
        token = store.mint({"uses": 2})
        store.admit(token.name, resuming=False)   # counts one use
    """

    def __init__(self, wall_clock: Callable[[], float] = time.time) -> None:
        self._now = wall_clock
        self._tokens: dict[str, MintedToken] = {}

    def mint(self, body: Mapping[str, Any]) -> MintedToken:
        """Mint a token from a ``CreateAuthToken`` body; bad bodies raise a 400."""
        if not isinstance(body, Mapping):
            raise HttpError(400, "Invalid JSON payload received. Expected an object.")
        now = self._now()
        self._purge(now)
        if len(self._tokens) >= _MAX_TOKENS:
            raise HttpError(429, "Resource has been exhausted (too many live auth tokens).")
        expire = _time_field(body, "expireTime", "expire_time", now + _DEFAULT_EXPIRY)
        new_session = _time_field(
            body,
            "newSessionExpireTime",
            "new_session_expire_time",
            now + _DEFAULT_NEW_SESSION_WINDOW,
        )
        for label, value in (("expire_time", expire), ("new_session_expire_time", new_session)):
            if not now < value <= now + _MAX_LIFETIME:
                raise HttpError(400, f"{label} must be in the future and within 20 hours.")
        uses = _field(body, "uses", "uses", 1)
        if isinstance(uses, str) and uses.isdigit():
            uses = int(uses)
        if not isinstance(uses, int) or isinstance(uses, bool) or uses < 0:
            raise HttpError(400, "uses must be a non-negative integer.")
        setup = _setup_field(body)
        mask = _field(body, "fieldMask", "field_mask", None)
        locked = _locked_paths(setup, mask)
        token = MintedToken(
            name="auth_tokens/" + secrets.token_urlsafe(24),
            expire_time=expire,
            new_session_expire_time=new_session,
            uses=uses,
            setup=setup,
            locked=locked,
        )
        self._tokens[token.name] = token
        return token

    def admit(self, name: str, *, resuming: bool) -> MintedToken:
        """Check a token for a new (or resumed) session; a new session uses it once.

        Raises:
            TokenRejected: unknown, expired, outside its new-session window, or used up.
        """
        now = self._now()
        token = self._tokens.get(_canonical(name))
        if token is None:
            raise TokenRejected("Auth token is not valid.")
        if now >= token.expire_time:
            raise TokenRejected("Auth token has expired.")
        if resuming:
            return token
        if now >= token.new_session_expire_time:
            raise TokenRejected(
                "Auth token can no longer start new sessions (newSessionExpireTime has passed)."
            )
        if token.uses and token.used >= token.uses:
            raise TokenRejected("Auth token has no uses left.")
        token.used += 1
        return token

    def _purge(self, now: float) -> None:
        for name in [n for n, t in self._tokens.items() if t.expire_time <= now]:
            del self._tokens[name]


def apply_constraints(token: MintedToken, setup: Setup) -> Setup:
    """The client's ``setup`` with the token's locked fields overlaid.

    A locked field the token leaves unset is cleared: the client cannot set it.
    """
    if token.setup is None:
        return setup
    result = setup
    for path in token.locked:
        result = _overlay(result, token.setup, Setup, path)
    # A token may lock sessionResumption (the SDK's examples lock it to {} to allow
    # resumption); the handle still belongs to the connection, not to the token.
    handle = setup.session_resumption.handle if setup.session_resumption else None
    if handle is not None:
        config = result.session_resumption or SessionResumptionConfig()
        result = msgspec.structs.replace(
            result, session_resumption=msgspec.structs.replace(config, handle=handle)
        )
    return result


# -- internals -----------------------------------------------------------------


def _canonical(name: str) -> str:
    return "auth_tokens/" + name.split("/", 1)[1] if name.startswith("authTokens/") else name


def _field(body: Mapping[str, Any], camel: str, snake: str, default: Any) -> Any:
    if camel in body:
        return body[camel]
    return body.get(snake, default)


_FRACTION = re.compile(r"(\.\d{6})\d+")


def _time_field(body: Mapping[str, Any], camel: str, snake: str, default: float) -> float:
    value = _field(body, camel, snake, None)
    if value is None:
        return default
    if not isinstance(value, str):
        raise HttpError(400, f"{camel} must be an RFC 3339 timestamp.")
    try:
        parsed = datetime.fromisoformat(_FRACTION.sub(r"\1", value.strip()))
    except ValueError:
        raise HttpError(400, f"{camel} must be an RFC 3339 timestamp.") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _format_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def _setup_field(body: Mapping[str, Any]) -> Setup | None:
    value = _field(body, "bidiGenerateContentSetup", "bidi_generate_content_setup", None)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise HttpError(400, "bidiGenerateContentSetup must be an object.")
    if set(value) == {"setup"}:  # tolerate the wrapped form
        value = value["setup"]
    try:
        message = decode_client(_json.encode({"setup": value}))
    except WireDecodeError as exc:
        raise HttpError(400, f"Invalid bidiGenerateContentSetup: {exc}") from None
    return message.setup


_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def _snake(segment: str) -> str:
    return _CAMEL.sub("_", segment).lower()


def _locked_paths(setup: Setup | None, mask: Any) -> tuple[tuple[str, ...], ...]:
    if setup is None:
        if mask:
            raise HttpError(400, "fieldMask needs bidiGenerateContentSetup.")
        return ()
    if mask is None:
        return tuple(_set_paths(setup))
    if isinstance(mask, Mapping):
        mask = mask.get("paths", [])
    if isinstance(mask, str):
        names = [p.strip() for p in mask.split(",") if p.strip()]
    elif isinstance(mask, list) and all(isinstance(p, str) for p in mask):
        names = [p.strip() for p in mask if p.strip()]
    else:
        raise HttpError(400, "fieldMask must be a comma-separated string of paths.")
    paths = []
    for name in names:
        path = tuple(_snake(segment) for segment in name.split("."))
        if not _valid_path(Setup, path):
            raise HttpError(400, f"Invalid fieldMask path: {name}")
        paths.append(path)
    # Locked fields named in the mask that the setup does not set are still locked.
    return tuple(paths) if paths else tuple(_set_paths(setup))


def _set_paths(setup: Setup) -> list[tuple[str, ...]]:
    """Two-level paths of the fields ``setup`` sets, as the SDK's ``_get_field_masks``."""
    paths: list[tuple[str, ...]] = []
    for name in _public_fields(type(setup)):
        value = getattr(setup, name)
        if value is None:
            continue
        if isinstance(value, msgspec.Struct):
            inner = [n for n in _public_fields(type(value)) if getattr(value, n) is not None]
            paths.extend((name, n) for n in inner) if inner else paths.append((name,))
        else:
            paths.append((name,))
    return paths


def _public_fields(cls: type) -> list[str]:
    return [f.name for f in msgspec.structs.fields(cls) if not f.name.endswith("_")]


def _struct_type(cls: type, name: str) -> type | None:
    for info in msgspec.structs.fields(cls):
        if info.name == name:
            for candidate in (info.type, *get_args(info.type)):
                if isinstance(candidate, type) and issubclass(candidate, msgspec.Struct):
                    return candidate
            return None
    return None


def _valid_path(cls: type, path: tuple[str, ...]) -> bool:
    if not path or path[0] not in _public_fields(cls):
        return False
    if len(path) == 1:
        return True
    inner = _struct_type(cls, path[0])
    return inner is not None and _valid_path(inner, path[1:])


def _overlay(client: Any, token: Any, cls: type, path: tuple[str, ...]) -> Any:
    base = client if client is not None else cls()
    name = path[0]
    token_value = getattr(token, name) if token is not None else None
    if len(path) == 1:
        return msgspec.structs.replace(base, **{name: token_value})
    inner = _struct_type(cls, name)
    assert inner is not None  # paths are validated when the token is minted
    merged = _overlay(getattr(base, name), token_value, inner, path[1:])
    return msgspec.structs.replace(base, **{name: merged})
