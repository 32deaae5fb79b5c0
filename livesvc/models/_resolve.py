"""Pick a Live model the caller's credentials can actually use.

Model availability changes by key, project and rollout; a model missing for a
key fails only at setup, with ``1008 ... not found or is not supported for
bidiGenerateContent``. :func:`resolve` asks the models list (REST) for what the
key can use and picks, as the seeds do:

1. the first preferred candidate that is listed with ``bidiGenerateContent``
   (the registry's order: ``gemini-3.8-live`` first for audio);
2. else the first listed Live model the registry knows can answer in the
   modality: a retired one (``gemini-live-2.5-flash-preview`` and
   ``gemini-2.0-flash-live-001``, shut down by Google in December 2025) is
   still picked where a server lists it and nothing current fits, never by default;
3. else (or if the list cannot be fetched) the registry's static default.

Example::

    model = await resolve("audio", auth=ApiKey(key))
    model = await resolve("audio", available=["models/gemini-2.5-flash-native-audio-latest"])
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import httpx
import msgspec

from livesvc.auth import GEMINI_BASE_URL, ApiKey, Auth, Backend, rest_base
from livesvc.logs import get_logger
from livesvc.models._registry import candidates, capabilities, normalize_model_name

__all__ = ["ListedModel", "list_models", "pick_from_available", "resolve"]

log = get_logger(__name__)

LIVE_METHOD = "bidiGenerateContent"


class _Model(msgspec.Struct, kw_only=True, rename="camel"):
    name: str
    supported_generation_methods: list[str] | None = None


class _ModelPage(msgspec.Struct, kw_only=True, rename="camel"):
    models: list[_Model] = []
    next_page_token: str | None = None


_page_decoder = msgspec.json.Decoder(_ModelPage)


@dataclass(frozen=True)
class ListedModel:
    """A model from the models list: its name and the methods it supports."""

    name: str
    methods: tuple[str, ...]

    def supports(self, method: str) -> bool:
        """Whether ``method`` is supported; an empty method list counts as yes (seeds)."""
        return not self.methods or method in self.methods


async def list_models(
    auth: Auth,
    *,
    base_url: str | None = None,
    api_version: str | None = None,
    http_client: httpx.AsyncClient | None = None,
    request_timeout: float = 15.0,
    max_pages: int = 10,
) -> list[ListedModel]:
    """``GET {base}/{version}/models`` for the Gemini API, following pages.

    Raises:
        httpx.HTTPError: network failure or a non-2xx reply.
        msgspec.DecodeError: a reply that is not a models list.
    """
    if auth.backend is not Backend.GEMINI:
        raise ValueError("the models list is read from the Gemini API only")
    url = (
        f"{rest_base(base_url or GEMINI_BASE_URL)}/{api_version or auth.default_api_version}/models"
    )
    headers = dict(await auth.headers())
    client = http_client or httpx.AsyncClient()
    out: list[ListedModel] = []
    try:
        token: str | None = None
        for _ in range(max_pages):
            params = {"pageSize": "100"}
            if token:
                params["pageToken"] = token
            response = await client.get(
                url, params=params, headers=headers, timeout=request_timeout
            )
            response.raise_for_status()
            page = _page_decoder.decode(response.content)
            out.extend(
                ListedModel(m.name, tuple(m.supported_generation_methods or ()))
                for m in page.models
            )
            token = page.next_page_token
            if not token:
                break
    finally:
        if http_client is None:
            await client.aclose()
    return out


def pick_from_available(wanted: Sequence[str], available: Iterable[str]) -> str | None:
    """The first of ``wanted`` present in ``available`` (names compared without prefixes).

    >>> pick_from_available(["a", "b"], ["models/b", "models/a"])
    'a'
    >>> pick_from_available(["a"], ["models/c"]) is None
    True
    """
    present = {normalize_model_name(name) for name in available}
    for name in wanted:
        if normalize_model_name(name) in present:
            return normalize_model_name(name)
    return None


async def resolve(
    modality: str = "audio",
    *,
    auth: Auth | None = None,
    base_url: str | None = None,
    available: Iterable[str] | None = None,
    preferred: Sequence[str] | None = None,
    require_method: str = LIVE_METHOD,
    http_client: httpx.AsyncClient | None = None,
) -> str:
    """Pick a Live model for ``modality`` (``"audio"`` or ``"text"``).

    Args:
        modality: the response modality the session will ask for.
        auth: credentials for the models list; ``None`` uses ``GEMINI_API_KEY``.
        base_url: the REST base (the emulator's URL).
        available: model names to choose from instead of asking the server.
        preferred: candidates to try first, before the registry's order.
        require_method: the method a listed model must support.
        http_client: an ``httpx.AsyncClient`` to reuse.

    Raises:
        ValueError: no model can answer in ``modality`` (``"text"`` when nothing
            text-capable is listed and the registry has no default for it).
    """
    backend = auth.backend if auth is not None else Backend.GEMINI
    ranked = [*(preferred or ()), *candidates(modality, backend=backend)]
    listed: list[str] | None = list(available) if available is not None else None
    if listed is None:
        auth = auth or ApiKey.from_env()
        if auth is not None and auth.backend is Backend.GEMINI:
            try:
                models = await list_models(auth, base_url=base_url, http_client=http_client)
                listed = [m.name for m in models if m.supports(require_method)]
            except (httpx.HTTPError, msgspec.DecodeError) as exc:
                log.warning("models.list_failed", error=type(exc).__name__)
    if listed is not None:
        picked = pick_from_available(ranked, listed)
        if picked is not None:
            return picked
        # Every current model that fits is a ranked candidate already; what is
        # left is a retired model the server still lists (a private deployment,
        # the emulator): accepted, as nothing current fits.
        for caps in map(capabilities, listed):
            if (
                caps is not None
                and backend in caps.backends
                and modality.upper() in caps.modalities(backend)
            ):
                return caps.name
        log.warning("models.no_listed_candidate", modality=modality, listed=len(listed))
    default = _static_default(modality, backend)
    if default is None:
        raise ValueError(f"no Live model available for modality {modality!r}")
    return default


def _static_default(modality: str, backend: Backend) -> str | None:
    # Text-capable Live models are all deprecated: no static text default (seeds agree).
    if modality.lower() != "audio":
        return None
    names = candidates("audio", backend=backend)
    return names[0] if names else None
