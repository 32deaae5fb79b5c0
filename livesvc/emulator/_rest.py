"""The REST calls Live clients make on the same origin: model listing, token minting."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from livesvc._server import HttpError, HttpRequest, HttpResponse, Router
from livesvc.emulator._auth import (
    BAD_KEY_REASON,
    MISSING_KEY_REASON,
    TOKEN,
    extract_credential,
)
from livesvc.emulator._catalogue import GEMINI, ModelSpec

if TYPE_CHECKING:
    from livesvc.emulator._core import EmulatorCore

__all__ = ["add_rest_routes"]

_VERSIONS = ("v1", "v1beta", "v1alpha")
_DEFAULT_PAGE = 50
_MAX_PAGE = 1000


def add_rest_routes(router: Router, core: EmulatorCore) -> None:
    """Route ``GET /{v}/models``, ``GET /{v}/models/{id}`` and ``POST /v1alpha/auth_tokens``."""

    async def list_models(request: HttpRequest) -> HttpResponse:
        _version(request)
        _authenticate(request, core)
        size = _page_size(request.query.get("pageSize"))
        offset = _page_offset(request.query.get("pageToken"))
        entries = [
            (name, spec)
            for spec in core.catalogue.for_backend(GEMINI)
            for name in (spec.name, *spec.aliases)
        ]
        page = entries[offset : offset + size]
        body: dict[str, Any] = {"models": [_describe(name, spec) for name, spec in page]}
        if offset + size < len(entries):
            body["nextPageToken"] = base64.urlsafe_b64encode(str(offset + size).encode()).decode()
        return HttpResponse.json(body)

    async def get_model(request: HttpRequest) -> HttpResponse:
        _version(request)
        _authenticate(request, core)
        spec = core.catalogue.find(request.params["model"], GEMINI)
        if spec is None:
            raise HttpError(404, f"models/{request.params['model']} is not found.")
        return HttpResponse.json(_describe(request.params["model"], spec))

    async def create_token(request: HttpRequest) -> HttpResponse:
        if request.params["version"] != "v1alpha":
            raise HttpError(404, f"The requested URL {request.path} was not found.")
        _authenticate(request, core)
        token = core.tokens.mint(request.json())
        return HttpResponse.json(token.describe())

    router.add("GET", "/{version}/models", list_models)
    router.add("GET", "/{version}/models/{model}", get_model)
    router.add("POST", "/{version}/auth_tokens", create_token)


def _version(request: HttpRequest) -> None:
    if request.params["version"] not in _VERSIONS:
        raise HttpError(404, f"The requested URL {request.path} was not found.")


def _authenticate(request: HttpRequest, core: EmulatorCore) -> None:
    credential = extract_credential(request.headers, request.query)
    if credential is None:
        raise HttpError(403, MISSING_KEY_REASON)
    if credential.kind == TOKEN:
        raise HttpError(401, "Ephemeral tokens are only accepted by the Live API.")
    if not core.api_keys.accepts(credential.value):
        raise HttpError(400, BAD_KEY_REASON)


def _page_size(raw: str | None) -> int:
    if raw is None or raw == "":
        return _DEFAULT_PAGE
    if not raw.isdigit():
        raise HttpError(400, "pageSize must be a non-negative integer.")
    size = int(raw)
    return _DEFAULT_PAGE if size == 0 else min(size, _MAX_PAGE)


def _page_offset(raw: str | None) -> int:
    if not raw:
        return 0
    try:
        text = base64.urlsafe_b64decode(raw.encode() + b"=" * (-len(raw) % 4)).decode()
        if not text.isdigit():
            raise ValueError(text)
    except ValueError:
        raise HttpError(400, "Invalid page token.") from None
    return int(text)


def _describe(name: str, spec: ModelSpec) -> dict[str, Any]:
    return {
        "name": f"models/{name}",
        "version": "001",
        "displayName": spec.display_name or name,
        "description": f"Emulated Live model ({', '.join(spec.response_modalities)} responses).",
        "inputTokenLimit": spec.input_token_limit,
        "outputTokenLimit": spec.output_token_limit,
        "supportedGenerationMethods": ["bidiGenerateContent"],
        "temperature": 1.0,
        "maxTemperature": 2.0,
        "topP": 0.95,
        "topK": 64,
    }
