"""Ephemeral tokens: mint one with the real key (REST), connect with it (Constrained endpoint).

A backend mints a short-lived token for a browser or phone, so the app can talk
to Live without ever holding the API key. The token only works on
``BidiGenerateContentConstrained`` (v1alpha), sent as ``Authorization: Token ...``
(what the Python SDK does) or as ``?access_token=`` (what browsers do).

Resuming a session does not count as a use, so a token with ``uses=1`` can
still resume within its ``expire_time``.

Example::

    token = await create_ephemeral_token(ApiKey(key), uses=1, model="gemini-live-2.5-flash-preview")
    async with open_session(model=..., auth=EphemeralToken(token.name)) as session:
        ...
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec

from livesvc.auth._api_key import ApiKey
from livesvc.auth._base import AuthError
from livesvc.auth._endpoint import GEMINI_BASE_URL, Backend, gemini_model_name, rest_base
from livesvc.logs import get_logger

__all__ = ["AuthToken", "EphemeralToken", "create_ephemeral_token"]

log = get_logger(__name__)


class EphemeralToken:
    """A minted token (``auth_tokens/...``) used as the Live credential.

    Args:
        token: the token's ``name`` from :func:`create_ephemeral_token`.
        in_query: send it as ``?access_token=`` instead of the ``Authorization`` header.
        api_version: must be ``v1alpha`` for Google; kept configurable for gateways.
    """

    def __init__(self, token: str, *, in_query: bool = False, api_version: str = "v1alpha") -> None:
        if not token:
            raise ValueError("the ephemeral token is empty")
        self._token = token
        self._in_query = in_query
        self._api_version = api_version

    @property
    def backend(self) -> Backend:
        return Backend.GEMINI

    @property
    def default_api_version(self) -> str:
        return self._api_version

    @property
    def constrained(self) -> bool:
        return True

    @property
    def location(self) -> str:
        return ""

    def model_name(self, model: str) -> str:
        return gemini_model_name(model)

    async def headers(self) -> list[tuple[str, str]]:
        return [] if self._in_query else [("authorization", f"Token {self._token}")]

    def query(self) -> dict[str, str]:
        return {"access_token": self._token} if self._in_query else {}

    refreshable = False

    async def refresh(self) -> bool:
        return False  # a token cannot renew itself; mint a new one

    def __repr__(self) -> str:
        return f"EphemeralToken(<redacted>, in_query={self._in_query})"

    __str__ = __repr__


@dataclass(frozen=True)
class AuthToken:
    """What ``auth_tokens.create`` returns. ``name`` is the token itself; never log it."""

    name: str
    expire_time: str | None = None
    new_session_expire_time: str | None = None
    uses: int | None = None

    def __repr__(self) -> str:
        return (
            f"AuthToken(<redacted>, expire_time={self.expire_time!r}, "
            f"new_session_expire_time={self.new_session_expire_time!r}, uses={self.uses!r})"
        )


def _rfc3339(value: dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.isoformat()


def _field_mask(setup: Mapping[str, Any], extra: Sequence[str]) -> str:
    # Two-level paths, as the SDK computes them (tokens.py _get_field_masks).
    paths: list[str] = []
    for key, value in setup.items():
        if isinstance(value, Mapping) and value:
            paths.extend(f"{key}.{sub}" for sub in value)
        else:
            paths.append(key)
    paths.extend(p for p in extra if p not in paths)
    return ",".join(paths)


async def create_ephemeral_token(
    api_key: ApiKey | str,
    *,
    uses: int = 1,
    expire_time: dt.datetime | None = None,
    new_session_expire_time: dt.datetime | None = None,
    model: str | None = None,
    constraints: Mapping[str, Any] | msgspec.Struct | None = None,
    lock_additional_fields: Sequence[str] | None = None,
    base_url: str | None = None,
    api_version: str = "v1alpha",
    http_client: httpx.AsyncClient | None = None,
    request_timeout: float = 30.0,
) -> AuthToken:
    """Mint an ephemeral token (``POST {base}/{api_version}/auth_tokens``).

    Args:
        api_key: the real Gemini API key (sent as ``x-goog-api-key``).
        uses: sessions the token may start (``0`` = unlimited; resumes are free).
        expire_time: when the token stops working (Google's default: now + 30 min).
        new_session_expire_time: when it stops starting new sessions (default: now + 1 min).
        model: lock the token to this model.
        constraints: the locked setup fields, as a wire ``Setup`` or its JSON dict
            (camelCase keys, e.g. ``{"generationConfig": {"temperature": 0.7}}``).
        lock_additional_fields: ``None`` locks the whole constraint setup; a list
            locks exactly the set fields plus these wire paths.
        base_url: the REST base (the emulator's ``http://127.0.0.1:PORT``).
        http_client: an ``httpx.AsyncClient`` to reuse (tests inject a transport).
        request_timeout: seconds for the whole request.

    Raises:
        AuthError: the server refused (``retryable`` for 5xx, 429 and network errors).
    """
    key = api_key.reveal() if isinstance(api_key, ApiKey) else api_key
    setup: dict[str, Any] = {}
    if constraints is not None:
        built = (
            msgspec.to_builtins(constraints)
            if isinstance(constraints, msgspec.Struct)
            else constraints
        )
        setup.update(dict(built))
    if model is not None:
        setup["model"] = gemini_model_name(model)
    elif "model" in setup:
        setup["model"] = gemini_model_name(str(setup["model"]))
    body: dict[str, Any] = {"uses": uses}
    if expire_time is not None:
        body["expireTime"] = _rfc3339(expire_time)
    if new_session_expire_time is not None:
        body["newSessionExpireTime"] = _rfc3339(new_session_expire_time)
    if setup:
        body["bidiGenerateContentSetup"] = setup
        if lock_additional_fields is not None:
            body["fieldMask"] = _field_mask(setup, lock_additional_fields)
    url = f"{rest_base(base_url or GEMINI_BASE_URL)}/{api_version}/auth_tokens"
    client = http_client or httpx.AsyncClient()
    try:
        response = await client.post(
            url,
            content=msgspec.json.encode(body),
            headers={"x-goog-api-key": key, "content-type": "application/json"},
            timeout=request_timeout,
        )
    except httpx.HTTPError as exc:
        raise AuthError(
            f"ephemeral token request failed: {type(exc).__name__}", retryable=True
        ) from exc
    finally:
        if http_client is None:
            await client.aclose()
    if response.status_code >= 400:
        retryable = response.status_code >= 500 or response.status_code == 429
        log.warning("auth.token_create_refused", status=response.status_code)
        raise AuthError(
            f"ephemeral token request refused with HTTP {response.status_code}", retryable=retryable
        )
    try:
        data = msgspec.json.decode(response.content)
        token = AuthToken(
            name=data["name"],
            expire_time=data.get("expireTime"),
            new_session_expire_time=data.get("newSessionExpireTime"),
            uses=int(data["uses"]) if data.get("uses") is not None else None,
        )
    except (msgspec.DecodeError, KeyError, TypeError, ValueError) as exc:
        raise AuthError("ephemeral token response has no token name") from exc
    log.info("auth.token_created", uses=token.uses, expire_time=token.expire_time)
    return token
