"""Daemon-minted ephemeral tokens, shaped like Google's ``auth_tokens.create``.

A request carries ``uses`` (default 1; 0 is unlimited), ``expireTime``
(default now + 30 min), ``newSessionExpireTime`` (default now + 60 s), the Live
setup it locks (``bidiGenerateContentSetup``) and optionally a ``fieldMask``
naming the locked paths (without one, every field of the setup is locked). Both
times must be within 20 hours, as with Google. livesvc adds ``profile``: the
profile the token's sessions use. The token itself is returned once and stored
only as a digest.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable
from typing import Annotated, Any

import msgspec

from livesvc.config import Config, Profile
from livesvc.store import Store, TokenRecord
from livesvc.wire import GenerationConfig, Setup, WireDecodeError, decode_client, encode_client

__all__ = [
    "AuthTokenRequest",
    "AuthTokenResponse",
    "MintBounds",
    "TokenRequestError",
    "TokenMinter",
    "format_time",
    "locked_paths",
    "parse_field_mask",
]

MAX_LIFETIME_SECONDS = 20 * 3600.0
DEFAULT_EXPIRE_SECONDS = 30 * 60.0
DEFAULT_NEW_SESSION_SECONDS = 60.0

_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")
_SETUP_FIELDS = frozenset(f for f in Setup.__struct_fields__ if not f.endswith("_"))
_GENERATION_FIELDS = frozenset(f for f in GenerationConfig.__struct_fields__ if not f.endswith("_"))


class TokenRequestError(ValueError):
    """A token request that cannot be honoured; the message is the 400 response text."""


class AuthTokenRequest(msgspec.Struct, kw_only=True, rename="camel"):
    """The body of ``POST /v1/auth_tokens`` (Google's shape plus ``profile``)."""

    # Google's field is an int32; larger values cannot be stored, so they are a 400.
    uses: Annotated[int, msgspec.Meta(ge=0, le=2_147_483_647)] | None = None
    expire_time: str | None = None
    new_session_expire_time: str | None = None
    bidi_generate_content_setup: dict[str, Any] | None = None
    field_mask: str | None = None
    profile: str | None = None


class AuthTokenResponse(msgspec.Struct, kw_only=True, rename="camel"):
    """What minting returns; ``name`` is the token (``auth_tokens/...``), shown only once."""

    name: str
    expire_time: str
    new_session_expire_time: str
    uses: int
    profile: str
    token_id: str


class MintBounds(msgspec.Struct, frozen=True, kw_only=True):
    """What a client key may ask of a token: ``uses`` 1..``max_uses`` (else 400);
    expiry times beyond these many seconds from now are clamped to them."""

    max_uses: int
    max_expire_seconds: float = MAX_LIFETIME_SECONDS
    max_new_session_seconds: float = MAX_LIFETIME_SECONDS


def format_time(timestamp: float) -> str:
    """RFC 3339 in UTC, as Google writes it.

    >>> format_time(0)
    '1970-01-01T00:00:00Z'
    """
    moment = dt.datetime.fromtimestamp(timestamp, dt.UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse_time(value: str, field: str) -> float:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise TokenRequestError(f"{field}: expected an RFC 3339 time, got {value!r}") from None
    if moment.tzinfo is None:
        raise TokenRequestError(f"{field}: expected a time zone (e.g. Z), got {value!r}")
    return moment.timestamp()


def _snake(name: str) -> str:
    return _CAMEL.sub(lambda m: "_" + m.group(1).lower(), name)


def parse_field_mask(mask: str) -> frozenset[str]:
    """Normalise a ``fieldMask`` into locked setup paths (``model``, ``generation_config.temperature``).

    Deeper paths lock their top-level field (``systemInstruction.parts`` locks
    ``system_instruction``), as the SDK writes two-level paths for set fields.

    >>> sorted(parse_field_mask("model,generationConfig.temperature,systemInstruction.parts"))
    ['generation_config.temperature', 'model', 'system_instruction']
    """
    paths: set[str] = set()
    for raw in mask.split(","):
        raw = raw.strip()
        if not raw:
            continue
        parts = [_snake(p) for p in raw.split(".")]
        if parts[0] == "setup" and len(parts) > 1:  # tolerate a "setup." prefix
            parts = parts[1:]
        if parts[0] not in _SETUP_FIELDS:
            raise TokenRequestError(f"fieldMask: unknown setup field {raw!r}")
        if parts[0] == "generation_config" and len(parts) > 1:
            if parts[1] not in _GENERATION_FIELDS:
                raise TokenRequestError(f"fieldMask: unknown generation config field {raw!r}")
            paths.add(f"generation_config.{parts[1]}")
        else:
            paths.add(parts[0])
    return frozenset(paths)


def set_paths(setup: Setup) -> frozenset[str]:
    """The paths a setup actually sets (``generation_config`` split per field)."""
    paths: set[str] = set()
    for field in _SETUP_FIELDS:
        value = getattr(setup, field)
        if value is None:
            continue
        if field == "generation_config":
            paths |= {
                f"generation_config.{g}"
                for g in _GENERATION_FIELDS
                if getattr(value, g) is not None
            }
        else:
            paths.add(field)
    return frozenset(paths)


def locked_paths(record: TokenRecord) -> frozenset[str] | None:
    """The paths a token locks; ``None`` means every field (no ``fieldMask`` was given)."""
    return None if record.field_mask is None else parse_field_mask(record.field_mask)


def token_setup(record: TokenRecord) -> Setup:
    """The Live setup a token carries."""
    setup = decode_client(record.setup).setup
    return setup if setup is not None else Setup()


def _bare_model(name: str | None) -> str | None:
    return name.removeprefix("models/") if name else name


def _overridable(profile: Profile, path: str) -> bool:
    allowed = set(profile.client_overridable)
    return path in allowed or (
        path.startswith("generation_config.") and "generation_config" in allowed
    )


class TokenMinter:
    """Validates token requests against the config and stores the tokens.

    Example::

        minter = TokenMinter(config, store)
        token = await minter.mint(AuthTokenRequest(uses=2), now=time.time())
        token.name   # 'auth_tokens/...'
    """

    def __init__(self, config: Config, store: Store) -> None:
        self._config = config
        self._store = store

    async def mint(
        self,
        request: AuthTokenRequest,
        *,
        now: float,
        minted_by: str = "admin",
        bounds: MintBounds | None = None,
        admit: Callable[[], None] | None = None,
    ) -> AuthTokenResponse:
        """Check ``request``, store the token, and return it (the only time its name is seen).

        ``bounds`` (for a client key) limits ``uses`` and clamps both expiry
        times; the response says what was granted. ``admit`` is called once the
        request is valid, before anything is stored, and may raise to refuse it
        (a minting rate: an invalid request then costs nothing).

        Raises:
            TokenRequestError: a field is out of range, unknown, or locks what the profile fixes.
        """
        profile_name = request.profile or self._config.gateway.default_profile
        profile = self._config.profiles.get(profile_name)
        if profile is None:
            raise TokenRequestError(f"profile: no profile named {profile_name!r}")
        uses = 1 if request.uses is None else request.uses
        if uses < 0:
            raise TokenRequestError(f"uses: expected 0 (unlimited) or more, got {uses}")
        expire = now + DEFAULT_EXPIRE_SECONDS
        if request.expire_time is not None:
            expire = _parse_time(request.expire_time, "expireTime")
        new_session = min(now + DEFAULT_NEW_SESSION_SECONDS, expire)
        if request.new_session_expire_time is not None:
            new_session = _parse_time(request.new_session_expire_time, "newSessionExpireTime")
        for field, value in (("expireTime", expire), ("newSessionExpireTime", new_session)):
            if value <= now:
                raise TokenRequestError(f"{field}: must be in the future")
            if value > now + MAX_LIFETIME_SECONDS:
                raise TokenRequestError(f"{field}: must be within 20 hours")
        if new_session > expire:
            raise TokenRequestError("newSessionExpireTime: must not be after expireTime")
        if bounds is not None:
            if not 1 <= uses <= bounds.max_uses:
                raise TokenRequestError(f"uses: expected 1 to {bounds.max_uses}, got {uses}")
            expire = min(expire, now + bounds.max_expire_seconds)
            new_session = min(new_session, now + bounds.max_new_session_seconds, expire)

        setup = self._setup(request.bidi_generate_content_setup)
        locked = (
            parse_field_mask(request.field_mask)
            if request.field_mask is not None
            else set_paths(setup)
        )
        for path in sorted(locked):
            if _overridable(profile, path):
                continue
            if path == "model" and _bare_model(setup.model) in (None, _bare_model(profile.model)):
                continue  # locking the profile's own model changes nothing
            raise TokenRequestError(
                f"bidiGenerateContentSetup: profile {profile_name!r} fixes {path!r}; a token cannot set it"
            )

        if admit is not None:
            admit()
        name = "auth_tokens/" + secrets.token_urlsafe(32)
        record = TokenRecord(
            token_id="tok_" + secrets.token_hex(6),
            profile=profile_name,
            principal=minted_by,
            created_at=now,
            expire_time=expire,
            new_session_expire_time=new_session,
            uses=uses,
            uses_left=None if uses == 0 else uses,
            setup=encode_client(setup),
            field_mask=request.field_mask,
        )
        await self._store.add_token(name, record)
        return AuthTokenResponse(
            name=name,
            expire_time=format_time(expire),
            new_session_expire_time=format_time(new_session),
            uses=uses,
            profile=profile_name,
            token_id=record.token_id,
        )

    @staticmethod
    def _setup(raw: dict[str, Any] | None) -> Setup:
        if not raw:
            return Setup()
        if set(raw) == {"setup"} and isinstance(raw["setup"], dict):
            raw = raw["setup"]
        try:
            setup = decode_client(msgspec.json.encode({"setup": raw})).setup
        except WireDecodeError as err:
            path = err.path.replace("$.setup", "bidiGenerateContentSetup", 1)
            raise TokenRequestError(f"{path}: {err.reason}") from None
        return setup if setup is not None else Setup()
