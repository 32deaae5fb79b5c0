"""The Live WebSocket paths of the Gemini API and of Vertex AI."""

from __future__ import annotations

import re

import msgspec

from livesvc.emulator._catalogue import GEMINI, VERTEX

__all__ = ["LiveEndpoint", "live_path", "route_live_path"]

_GEMINI_PATH = re.compile(
    r"/ws/google\.ai\.generativelanguage\.(?P<version>v1alpha|v1beta|v1)"
    r"\.GenerativeService\.(?P<method>BidiGenerateContent|BidiGenerateContentConstrained)/?"
)
_VERTEX_PATH = re.compile(
    r"/ws/google\.cloud\.aiplatform\.(?P<version>v1beta1|v1)"
    r"\.LlmBidiService/(?P<method>BidiGenerateContent)/?"
)


class LiveEndpoint(msgspec.Struct, frozen=True, kw_only=True):
    """Which Live method a WebSocket path asks for."""

    backend: str
    version: str
    constrained: bool = False


def route_live_path(path: str) -> LiveEndpoint | None:
    """The endpoint of a slash-collapsed path, or None if it is not a Live path.

    >>> route_live_path("/ws/google.ai.generativelanguage.v1alpha.GenerativeService"
    ...                 ".BidiGenerateContentConstrained")
    LiveEndpoint(backend='gemini', version='v1alpha', constrained=True)
    >>> route_live_path("/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent")
    LiveEndpoint(backend='vertex', version='v1beta1', constrained=False)
    """
    match = _GEMINI_PATH.fullmatch(path)
    if match:
        return LiveEndpoint(
            backend=GEMINI,
            version=match["version"],
            constrained=match["method"] == "BidiGenerateContentConstrained",
        )
    match = _VERTEX_PATH.fullmatch(path)
    if match:
        return LiveEndpoint(backend=VERTEX, version=match["version"])
    return None


def live_path(
    backend: str = GEMINI, version: str | None = None, *, constrained: bool = False
) -> str:
    """The WebSocket path for a backend and API version (its default version if None).

    >>> live_path()
    '/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent'
    """
    if backend == VERTEX:
        return (
            f"/ws/google.cloud.aiplatform.{version or 'v1beta1'}.LlmBidiService/BidiGenerateContent"
        )
    method = "BidiGenerateContentConstrained" if constrained else "BidiGenerateContent"
    return f"/ws/google.ai.generativelanguage.{version or 'v1beta'}.GenerativeService.{method}"
