"""Where a Live session dials: URL templates for Gemini, Vertex AI and ephemeral tokens.

The templates are the ones the google-genai SDK uses (live-wire-protocol.md §1.1):

- Gemini API: ``{base}/ws/google.ai.generativelanguage.{v}.GenerativeService.BidiGenerateContent``
- ephemeral token: the same with ``BidiGenerateContentConstrained`` (v1alpha)
- Vertex AI: ``{base}/ws/google.cloud.aiplatform.{v}.LlmBidiService/BidiGenerateContent``

A custom ``base_url`` (the emulator, a gateway) keeps its host and port; its
scheme maps ``http`` to ``ws`` and ``https`` to ``wss`` (``ws``/``wss`` are kept),
so ``http://127.0.0.1:9000`` dials ``ws://127.0.0.1:9000/ws/...``.

Example::

    >>> live_url(Backend.GEMINI, api_version="v1beta")
    'wss://generativelanguage.googleapis.com/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent'
    >>> live_url(Backend.VERTEX, api_version="v1", location="europe-west4")
    'wss://europe-west4-aiplatform.googleapis.com/ws/google.cloud.aiplatform.v1.LlmBidiService/BidiGenerateContent'
    >>> rest_base("ws://127.0.0.1:9000/")
    'http://127.0.0.1:9000'
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit, urlunsplit

from livesvc.logs import redact_text

__all__ = [
    "GEMINI_BASE_URL",
    "Backend",
    "LiveEndpoint",
    "gemini_model_name",
    "live_url",
    "rest_base",
    "vertex_base_url",
    "vertex_model_name",
    "ws_base",
]

GEMINI_BASE_URL = "https://generativelanguage.googleapis.com"


class Backend(enum.Enum):
    """Which Google API a session talks to."""

    GEMINI = "gemini"
    VERTEX = "vertex"


@dataclass(frozen=True)
class LiveEndpoint:
    """A fully built dial target: URL and handshake headers.

    ``repr`` and :attr:`redacted_url` never show a credential.
    """

    url: str
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    @property
    def redacted_url(self) -> str:
        """The URL with ``key``/``access_token`` query values replaced."""
        return redact_text(self.url)

    def header_bytes(self) -> list[tuple[bytes, bytes]]:
        """The headers in the form trio-websocket's ``extra_headers`` wants."""
        return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in self.headers]

    def __repr__(self) -> str:
        names = ", ".join(k for k, _ in self.headers)
        return f"LiveEndpoint(url={self.redacted_url!r}, headers=[{names}])"


def _scheme_map(base_url: str, mapping: dict[str, str]) -> str:
    parts = urlsplit(base_url)
    scheme = mapping.get(parts.scheme.lower())
    if scheme is None or not parts.netloc:
        raise ValueError(
            f"base_url must be an http(s):// or ws(s):// URL with a host: {base_url!r}"
        )
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def ws_base(base_url: str) -> str:
    """The WebSocket form of ``base_url`` (http to ws, https to wss, no trailing slash)."""
    return _scheme_map(base_url, {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"})


def rest_base(base_url: str) -> str:
    """The HTTP form of ``base_url`` (ws to http, wss to https, no trailing slash)."""
    return _scheme_map(base_url, {"http": "http", "https": "https", "ws": "http", "wss": "https"})


def vertex_base_url(location: str) -> str:
    """The Vertex AI host for ``location`` (``global`` has no regional prefix)."""
    if location == "global":
        return "https://aiplatform.googleapis.com"
    return f"https://{location}-aiplatform.googleapis.com"


def live_url(
    backend: Backend,
    *,
    api_version: str,
    base_url: str | None = None,
    location: str = "us-central1",
    constrained: bool = False,
    query: dict[str, str] | None = None,
) -> str:
    """Build the BidiGenerateContent URL.

    Args:
        backend: Gemini API or Vertex AI.
        api_version: ``v1beta``, ``v1alpha``, ``v1``, ``v1beta1``.
        base_url: overrides Google's host (emulator, gateway).
        location: Vertex region, used only when ``base_url`` is not given.
        constrained: dial ``BidiGenerateContentConstrained`` (ephemeral tokens).
        query: query parameters (``access_token`` for browser-style token auth).
    """
    if backend is Backend.GEMINI:
        method = "BidiGenerateContentConstrained" if constrained else "BidiGenerateContent"
        path = f"/ws/google.ai.generativelanguage.{api_version}.GenerativeService.{method}"
        base = ws_base(base_url or GEMINI_BASE_URL)
    else:
        if constrained:
            raise ValueError(
                "ephemeral tokens are a Gemini API feature; Vertex AI has no constrained endpoint"
            )
        path = f"/ws/google.cloud.aiplatform.{api_version}.LlmBidiService/BidiGenerateContent"
        base = ws_base(base_url or vertex_base_url(location))
    url = base + path
    if query:
        url += "?" + urlencode(query)
    return url


def gemini_model_name(model: str) -> str:
    """``gemini-x`` becomes ``models/gemini-x``; qualified names are kept.

    >>> gemini_model_name("gemini-live-2.5-flash-preview"), gemini_model_name("models/m")
    ('models/gemini-live-2.5-flash-preview', 'models/m')
    """
    if model.startswith(("models/", "tunedModels/")):
        return model
    return f"models/{model}"


def vertex_model_name(model: str, *, project: str, location: str) -> str:
    """The full Vertex resource name the Live setup needs.

    >>> vertex_model_name("gemini-live-2.5-flash", project="p", location="us-central1")
    'projects/p/locations/us-central1/publishers/google/models/gemini-live-2.5-flash'
    """
    if model.startswith("projects/"):
        return model
    if model.startswith("models/"):
        model = model.removeprefix("models/")
    if not model.startswith("publishers/"):
        model = f"publishers/google/models/{model}"
    return f"projects/{project}/locations/{location}/{model}"
