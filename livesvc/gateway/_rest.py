"""The REST calls the stock SDKs make on the gateway's origin, answered for a client key.

Clients authenticate with their client key (``x-goog-api-key`` or ``?key=``), as
the google-genai SDKs send it; ephemeral tokens are for the Live socket only.

* ``GET /{v1,v1beta,v1alpha}/models`` (and ``/models/{id}``): the models the key's
  profile may use, in Google's shape, so ``client.models.list()`` and
  :func:`livesvc.models.resolve` work through the gateway.
* ``POST /v1alpha/auth_tokens``: ``client.auth_tokens.create(...)`` (Python) and
  ``ai.authTokens.create(...)`` (JS) with the key, in Google's request and
  response shape. The token opens sessions in the key's profile only; its
  ``uses`` are 1 to the key's maximum, its expiry is clamped to the key's
  bounds, its field locks cannot unlock what the profile fixes, and each key
  mints at most its rate (a token bucket; 429 past it). The admin route stays
  for operators.

Errors are Google's JSON (``{"error": {"code", "message", "status"}}``), with
Google's statuses: 403 without a credential, 400 for an unknown key or a bad
request, 401 for an ephemeral token, 403 for a key that may not mint, 429 when
minting too fast.

Example::

    rest = GatewayRest(settings, store)
    response = await rest.dispatch(request)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec

from livesvc._server import HttpError, HttpRequest, HttpResponse, Router
from livesvc.auth import Backend
from livesvc.config import ClientKey, Config, Profile
from livesvc.gateway._client_auth import MISSING, ClientAuth
from livesvc.gateway._credentials import extract_credential, is_token
from livesvc.gateway._limits import RateLimiter
from livesvc.gateway._tokens import AuthTokenRequest, MintBounds, TokenMinter, TokenRequestError
from livesvc.logs import get_logger
from livesvc.models import REGISTRY, capabilities, normalize_model_name
from livesvc.store import Store, StoreError

if TYPE_CHECKING:
    from livesvc.gateway._gateway import GatewaySettings

__all__ = ["GatewayRest"]

log = get_logger(__name__)

_VERSIONS = frozenset({"v1", "v1beta", "v1alpha"})
_LIVE_METHOD = "bidiGenerateContent"
_token_request = msgspec.json.Decoder(AuthTokenRequest)

NOT_MINTER = "This API key may not create auth tokens."
TOKENS_ONLY_LIVE = "Ephemeral tokens are only accepted by the Live API."
MINT_RATE = "Too many auth_tokens.create requests for this API key; try again later."


class GatewayRest:
    """The gateway's REST routes; ``dispatch`` answers one request under the current settings.

    Minting rates are kept per key name (one bucket per key per process), so
    they survive a config reload unless the key's rate changes.
    """

    def __init__(
        self,
        settings: Callable[[], GatewaySettings],
        store: Store,
        *,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._store = store
        self._wall = wall_clock
        self._buckets: dict[str, tuple[tuple[int, int], RateLimiter]] = {}
        self.router = Router()
        self.router.add("GET", "/{version}/models", self._list_models)
        self.router.add("GET", "/{version}/models/{model}", self._get_model)
        self.router.add("POST", "/{version}/auth_tokens", self._create_token)

    async def dispatch(self, request: HttpRequest) -> HttpResponse:
        """Answer ``request``; errors are Google-shaped JSON."""
        return await self.router.dispatch(request)

    async def _list_models(self, request: HttpRequest) -> HttpResponse:
        _version(request)
        settings = self._settings()
        key = _authenticate(request, settings.auth)
        return HttpResponse.json({"models": _models_for(settings.config, key)})

    async def _get_model(self, request: HttpRequest) -> HttpResponse:
        _version(request)
        settings = self._settings()
        key = _authenticate(request, settings.auth)
        wanted = normalize_model_name(request.params["model"])
        for model in _models_for(settings.config, key):
            if normalize_model_name(model["name"]) == wanted:
                return HttpResponse.json(model)
        raise HttpError(404, f"models/{wanted} is not found.")

    async def _create_token(self, request: HttpRequest) -> HttpResponse:
        if request.params["version"] != "v1alpha":  # as Google: auth_tokens is v1alpha only
            raise HttpError(404, f"The requested URL {request.path} was not found.")
        settings = self._settings()
        key = _authenticate(request, settings.auth)
        return await self._mint(request, settings.config, key)

    async def _mint(self, request: HttpRequest, config: Config, key: ClientKey) -> HttpResponse:
        policy = key.tokens
        if not policy.enabled:
            raise HttpError(403, NOT_MINTER)
        limits = config.gateway.limits
        profile = key.profile or config.gateway.default_profile
        try:
            body = _token_request.decode(request.body or b"{}")
        except msgspec.DecodeError as err:
            raise HttpError(400, f"Invalid auth_tokens.create request: {err}") from None
        if body.profile is not None and body.profile != profile:
            raise HttpError(403, f"This API key may create tokens only for profile {profile!r}.")
        per_minute = policy.per_minute or limits.token_mints_per_minute
        bucket = self._bucket(key.name, per_minute, policy.burst or per_minute)

        def admit() -> None:  # only a valid request takes from the bucket
            if not bucket.allow():
                log.info("gateway.token_rate_limited", key=key.name)
                raise HttpError(429, MINT_RATE)

        bounds = MintBounds(
            max_uses=policy.max_uses or limits.max_token_uses,
            max_expire_seconds=policy.max_expire_seconds,
            max_new_session_seconds=policy.max_new_session_seconds,
        )
        try:
            token = await TokenMinter(config, self._store).mint(
                msgspec.structs.replace(body, profile=profile),
                now=self._wall(),
                minted_by=f"key:{key.name}",
                bounds=bounds,
                admit=admit,
            )
        except TokenRequestError as err:
            raise HttpError(400, str(err)) from None
        except StoreError:
            raise HttpError(503, "The service is currently unavailable.") from None
        log.info(
            "gateway.token_minted",
            key=key.name,
            token_id=token.token_id,
            profile=token.profile,
            uses=token.uses,
        )
        return HttpResponse.json(token)

    def _bucket(self, name: str, per_minute: int, burst: int) -> RateLimiter:
        held = self._buckets.get(name)
        if held is None or held[0] != (per_minute, burst):
            held = ((per_minute, burst), RateLimiter(rate=per_minute / 60.0, burst=burst))
            self._buckets[name] = held
        return held[1]


def _version(request: HttpRequest) -> None:
    if request.params["version"] not in _VERSIONS:
        raise HttpError(404, f"The requested URL {request.path} was not found.")


def _authenticate(request: HttpRequest, auth: ClientAuth) -> ClientKey:
    """The configured key presented, with Google's statuses for the failures."""
    credential = extract_credential(request.headers, request.query)
    if credential is None:
        raise HttpError(403, MISSING)
    if is_token(credential):
        raise HttpError(401, TOKENS_ONLY_LIVE)
    key = auth.find_key(credential)
    if key is None:
        raise HttpError(400, "API key not valid. Please pass a valid API key.")
    return key


def _models_for(config: Config, key: ClientKey) -> list[dict[str, Any]]:
    """The key's profile model, then (if clients may choose the model) every current Live model."""
    profile: Profile | None = config.profiles.get(key.profile or config.gateway.default_profile)
    if profile is None:
        return []
    names = [normalize_model_name(profile.model)]
    if "model" in profile.client_overridable:
        backend = Backend.VERTEX if config.upstream.backend == "vertex" else Backend.GEMINI
        names += [
            caps.name
            for caps in REGISTRY
            if not caps.retired and backend in caps.backends and caps.name not in names
        ]
    return [_describe(name) for name in names]


def _describe(name: str) -> dict[str, Any]:
    caps = capabilities(name)
    return {
        "name": f"models/{name}",
        "displayName": (caps.display_name if caps is not None else "") or name,
        "description": "A Live model served through the livesvc gateway.",
        "inputTokenLimit": caps.input_token_limit if caps is not None else 131072,
        "outputTokenLimit": caps.output_token_limit if caps is not None else 8192,
        "supportedGenerationMethods": [_LIVE_METHOD],
    }
