"""The gateway's REST routes: Google's ``models.list`` / ``models.get`` and ``auth_tokens.create``.

Clients authenticate with their client key (``x-goog-api-key`` or ``?key=``), as
the google-genai SDKs send it; ephemeral tokens are for the Live socket only.

* ``GET /{v}/models`` and ``GET /{v}/models/{id}`` (``v1``, ``v1beta``,
  ``v1alpha``): the models the key's profile may use, in Google's shape.
* ``POST /v1alpha/auth_tokens``: mint an ephemeral token for the key's profile,
  within the key's ``[gateway.keys.tokens]`` (uses and expiry clamped, field
  locks checked against the profile, a per-key minting rate). A key without
  that table gets 403.

Example::

    rest = GatewayRest(store=store, wall_clock=time.time)
    response = await rest.handle(request, settings.config, settings.auth)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from livesvc._server import HttpError, HttpRequest, HttpResponse, Router
from livesvc.auth import Backend
from livesvc.config import ClientKey, Config, KeyTokensConfig, Profile
from livesvc.gateway._client_auth import MISSING, ClientAuth
from livesvc.gateway._credentials import extract_credential, is_token
from livesvc.gateway._limits import RateLimiter
from livesvc.gateway._tokens import AuthTokenRequest, TokenMinter, TokenRequestError
from livesvc.logs import get_logger
from livesvc.models import REGISTRY, capabilities, normalize_model_name
from livesvc.store import Store, StoreError

__all__ = ["GatewayRest"]

log = get_logger(__name__)

_VERSIONS = frozenset({"v1", "v1beta", "v1alpha"})
_LIVE_METHOD = "bidiGenerateContent"
_token_request = msgspec.json.Decoder(AuthTokenRequest)

NOT_MINTER = "This API key may not create auth tokens."
TOKENS_ONLY_LIVE = "Ephemeral tokens are only accepted by the Live API."
MINT_RATE = "Too many auth_tokens.create requests for this API key; try again later."


class GatewayRest:
    """Answers the gateway's REST requests for one daemon process.

    Minting rates are kept per key name in this object (one bucket per key per
    process), so they survive a config reload unless the key's rate changes.
    """

    def __init__(self, *, store: Store, wall_clock: Callable[[], float]) -> None:
        self._store = store
        self._wall = wall_clock
        self._buckets: dict[str, tuple[KeyTokensConfig, RateLimiter]] = {}

    async def handle(self, request: HttpRequest, config: Config, auth: ClientAuth) -> HttpResponse:
        """Answer ``request`` under ``config``; errors are Google-shaped JSON."""

        async def list_models(req: HttpRequest) -> HttpResponse:
            _version(req)
            key = _authenticate(req, auth)
            return HttpResponse.json({"models": _models_for(config, key)})

        async def get_model(req: HttpRequest) -> HttpResponse:
            _version(req)
            key = _authenticate(req, auth)
            wanted = normalize_model_name(req.params["model"])
            for model in _models_for(config, key):
                if normalize_model_name(model["name"]) == wanted:
                    return HttpResponse.json(model)
            raise HttpError(404, f"models/{wanted} is not found.")

        async def create_token(req: HttpRequest) -> HttpResponse:
            if req.params["version"] != "v1alpha":  # as Google: auth_tokens is v1alpha only
                raise HttpError(404, f"The requested URL {req.path} was not found.")
            key = _authenticate(req, auth)
            return await self._mint(req, config, key)

        router = Router()
        router.add("GET", "/{version}/models", list_models)
        router.add("GET", "/{version}/models/{model}", get_model)
        router.add("POST", "/{version}/auth_tokens", create_token)
        return await router.dispatch(request)

    async def _mint(self, request: HttpRequest, config: Config, key: ClientKey) -> HttpResponse:
        policy = key.tokens
        if policy is None:
            raise HttpError(403, NOT_MINTER)
        profile = key.profile or config.gateway.default_profile
        try:
            body = _token_request.decode(request.body or b"{}")
        except msgspec.DecodeError as err:
            raise HttpError(400, f"Invalid auth_tokens.create request: {err}") from None
        if body.profile is not None and body.profile != profile:
            raise HttpError(403, f"This API key may create tokens only for profile {profile!r}.")
        if not self._bucket(key.name, policy).allow():
            log.info("gateway.token_rate_limited", key=key.name)
            raise HttpError(429, MINT_RATE)
        try:
            token = await TokenMinter(config, self._store).mint(
                msgspec.structs.replace(body, profile=profile),
                now=self._wall(),
                minted_by=f"key:{key.name}",
                policy=policy,
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

    def _bucket(self, name: str, policy: KeyTokensConfig) -> RateLimiter:
        held = self._buckets.get(name)
        if held is None or held[0] != policy:
            held = (policy, RateLimiter(rate=policy.per_minute / 60.0, burst=policy.burst))
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
