"""Credentials for the Live API: Gemini API keys, Vertex AI, ephemeral tokens.

Every credential implements :class:`Auth`: it yields handshake headers (never
logged), names the model the way its backend wants, and says whether a refresh
can help after an auth close. :func:`build_endpoint` turns one into a dial target.

Example::

    from livesvc.auth import ApiKey, build_endpoint

    endpoint = await build_endpoint(ApiKey("k"), base_url="http://127.0.0.1:9000")
"""

from __future__ import annotations

from livesvc.auth._api_key import ApiKey as ApiKey
from livesvc.auth._base import Auth as Auth
from livesvc.auth._base import AuthError as AuthError
from livesvc.auth._base import build_endpoint as build_endpoint
from livesvc.auth._endpoint import GEMINI_BASE_URL as GEMINI_BASE_URL
from livesvc.auth._endpoint import Backend as Backend
from livesvc.auth._endpoint import LiveEndpoint as LiveEndpoint
from livesvc.auth._endpoint import gemini_model_name as gemini_model_name
from livesvc.auth._endpoint import live_url as live_url
from livesvc.auth._endpoint import rest_base as rest_base
from livesvc.auth._endpoint import vertex_model_name as vertex_model_name
from livesvc.auth._endpoint import ws_base as ws_base
from livesvc.auth._ephemeral import AuthToken as AuthToken
from livesvc.auth._ephemeral import EphemeralToken as EphemeralToken
from livesvc.auth._ephemeral import create_ephemeral_token as create_ephemeral_token
from livesvc.auth._vertex import CLOUD_PLATFORM_SCOPE as CLOUD_PLATFORM_SCOPE
from livesvc.auth._vertex import VertexAI as VertexAI

__all__ = [
    "CLOUD_PLATFORM_SCOPE",
    "GEMINI_BASE_URL",
    "ApiKey",
    "Auth",
    "AuthError",
    "AuthToken",
    "Backend",
    "EphemeralToken",
    "LiveEndpoint",
    "VertexAI",
    "build_endpoint",
    "create_ephemeral_token",
    "gemini_model_name",
    "live_url",
    "rest_base",
    "vertex_model_name",
    "ws_base",
]
