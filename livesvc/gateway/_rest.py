"""The REST calls the stock SDKs make on the gateway's origin, answered for a client key.

* ``GET /{v1,v1beta,v1alpha}/models`` (and ``/models/{id}``): what the key's
  profile may use, in Google's shape, so ``client.models.list()`` and
  :func:`livesvc.models.resolve` work through the gateway;
* ``POST /v1alpha/auth_tokens``: ``client.auth_tokens.create(...)`` (Python) and
  ``ai.authTokens.create(...)`` (JS) with the key, in Google's request and
  response shape. The token is scoped to the key's profile (a client cannot
  pick another), its ``uses`` are 1 to ``max_token_uses``, its expiry is
  bounded like the admin route's (20 hours at most), its field locks cannot
  unlock what the profile fixes, and each key mints at most
  ``token_mints_per_minute`` (429 past it). Sessions opened with such a token
  count against the key that minted it. The admin route stays for operators.

Errors are Google-shaped JSON (``{"error": {"code", "message", "status"}}``):
400 for a bad request, 401 for a token (REST needs a key, as at Google) or no
credential, 403 for an unknown key, 429 when minting too fast.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec

from livesvc._server import HttpError, HttpRequest, HttpResponse, Router
from livesvc.gateway._client_auth import AuthRejected, Principal
from livesvc.gateway._credentials import extract_credential
from livesvc.gateway._limits import RateLimiter
from livesvc.gateway._tokens import AuthTokenRequest, TokenMinter, TokenRequestError
from livesvc.logs import get_logger
from livesvc.models._registry import capabilities, normalize_model_name

if TYPE_CHECKING:
    from livesvc.gateway._gateway import GatewaySettings
    from livesvc.store import Store

__all__ = ["GatewayRest"]

log = get_logger(__name__)

_VERSIONS = ("v1", "v1beta", "v1alpha")
_token_request = msgspec.json.Decoder(AuthTokenRequest)


class GatewayRest:
    """The gateway's REST routes; ``dispatch`` answers one request."""

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
        self._mint_rates: dict[str, RateLimiter] = {}
        self.router = Router()
        self.router.add("GET", "/{version}/models", self._list_models)
        self.router.add("GET", "/{version}/models/{model}", self._get_model)
        self.router.add("POST", "/{version}/auth_tokens", self._create_token)

    async def dispatch(self, request: HttpRequest) -> HttpResponse:
        return await self.router.dispatch(request)

    # -- models ---------------------------------------------------------------------

    async def _list_models(self, request: HttpRequest) -> HttpResponse:
        _version(request)
        principal = await self._client_key(request)
        return HttpResponse.json({"models": self._models_of(principal)})

    async def _get_model(self, request: HttpRequest) -> HttpResponse:
        _version(request)
        principal = await self._client_key(request)
        wanted = normalize_model_name(request.params["model"])
        for model in self._models_of(principal):
            if normalize_model_name(model["name"]) == wanted:
                return HttpResponse.json(model)
        raise HttpError(404, f"models/{wanted} is not found for this key.")

    def _models_of(self, principal: Principal) -> list[dict[str, Any]]:
        runtime = self._settings().profiles.get(principal.profile)
        if runtime is None:
            return []
        return [_describe(runtime.profile.model)]

    # -- tokens ---------------------------------------------------------------------

    async def _create_token(self, request: HttpRequest) -> HttpResponse:
        if request.params["version"] != "v1alpha":
            raise HttpError(404, f"The requested URL {request.path} was not found.")
        principal = await self._client_key(request)
        settings = self._settings()
        limits = settings.config.gateway.limits
        try:
            body = _token_request.decode(request.body or b"{}")
        except msgspec.DecodeError as err:
            raise HttpError(400, f"Invalid token request: {err}") from None
        if body.profile not in (None, principal.profile):
            raise HttpError(403, "A client key mints tokens for its own profile only.")
        uses = 1 if body.uses is None else body.uses
        if not 1 <= uses <= limits.max_token_uses:
            raise HttpError(400, f"uses: expected 1 to {limits.max_token_uses}, got {uses}")
        limiter = self._mint_rates.get(principal.name)
        if limiter is None:
            per_minute = limits.token_mints_per_minute
            limiter = RateLimiter(rate=per_minute / 60.0, burst=per_minute)
            self._mint_rates[principal.name] = limiter
        if not limiter.allow():
            log.warning("gateway.token_mint_limited", key=principal.name)
            raise HttpError(429, "Too many token requests for this key; try again later.")
        body = msgspec.structs.replace(body, uses=uses, profile=principal.profile)
        try:
            token = await TokenMinter(settings.config, self._store).mint(
                body, now=self._wall(), minted_by=principal.id
            )
        except TokenRequestError as err:
            raise HttpError(400, str(err)) from None
        log.info("gateway.token_minted", key=principal.name, uses=uses, token_id=token.token_id)
        return HttpResponse.json(msgspec.to_builtins(token))

    # -- who asks ---------------------------------------------------------------------

    async def _client_key(self, request: HttpRequest) -> Principal:
        credential = extract_credential(request.headers, request.query)
        if credential is None:
            raise HttpError(
                401, "Method doesn't allow unregistered callers. Please use an API key."
            )
        if credential.startswith("auth_tokens/"):
            raise HttpError(401, "Ephemeral tokens are only accepted by the Live API.")
        try:
            principal = await self._settings().auth.check(credential, now=self._wall())
        except AuthRejected as err:
            raise HttpError(403, err.reason) from None
        return principal


def _version(request: HttpRequest) -> None:
    if request.params["version"] not in _VERSIONS:
        raise HttpError(404, f"The requested URL {request.path} was not found.")


def _describe(model: str) -> dict[str, Any]:
    bare = normalize_model_name(model).removeprefix("models/")
    caps = capabilities(bare)
    return {
        "name": f"models/{bare}",
        "version": "001",
        "displayName": caps.name if caps is not None else bare,
        "description": "A Live model, through the livesvc gateway.",
        "supportedGenerationMethods": ["bidiGenerateContent"],
    }
