"""The Live gateway: client apps speak the Live protocol to the daemon, which relays upstream.

Client authentication (configured keys stored as hashes, or daemon-minted
ephemeral tokens), profile setup merging, gateway sessions that clients attach
to, detach from and resume, and the relay to an :class:`Upstream`.

Example::

    gateway = Gateway(settings=lambda: settings, store=store, metrics=metrics,
                      sessions=sessions_supervisor, upstream_factory=open_upstream)
    port = await nursery.start(gateway.run)
"""

from __future__ import annotations

from livesvc.gateway._client_auth import AuthRejected as AuthRejected
from livesvc.gateway._client_auth import ClientAuth as ClientAuth
from livesvc.gateway._client_auth import Principal as Principal
from livesvc.gateway._credentials import extract_credential as extract_credential
from livesvc.gateway._credentials import is_token as is_token
from livesvc.gateway._gateway import Gateway as Gateway
from livesvc.gateway._gateway import GatewaySettings as GatewaySettings
from livesvc.gateway._merge import build_profile_setup as build_profile_setup
from livesvc.gateway._merge import merge_setup as merge_setup
from livesvc.gateway._merge import overridable_paths as overridable_paths
from livesvc.gateway._profiles import ProfileRuntime as ProfileRuntime
from livesvc.gateway._profiles import build_profiles as build_profiles
from livesvc.gateway._session import ClientLink as ClientLink
from livesvc.gateway._session import GatewaySession as GatewaySession
from livesvc.gateway._session import SessionSettings as SessionSettings
from livesvc.gateway._tokens import AuthTokenRequest as AuthTokenRequest
from livesvc.gateway._tokens import AuthTokenResponse as AuthTokenResponse
from livesvc.gateway._tokens import TokenMinter as TokenMinter
from livesvc.gateway._tokens import TokenRequestError as TokenRequestError
from livesvc.gateway._tokens import locked_paths as locked_paths
from livesvc.gateway._tokens import token_setup as token_setup
from livesvc.gateway._upstream import Failed as Failed
from livesvc.gateway._upstream import Frame as Frame
from livesvc.gateway._upstream import MediaDropped as MediaDropped
from livesvc.gateway._upstream import Reconnected as Reconnected
from livesvc.gateway._upstream import Reconnecting as Reconnecting
from livesvc.gateway._upstream import ToolFinished as ToolFinished
from livesvc.gateway._upstream import Upstream as Upstream
from livesvc.gateway._upstream import UpstreamEvent as UpstreamEvent
from livesvc.gateway._upstream import UpstreamFactory as UpstreamFactory
from livesvc.gateway._upstream import UpstreamRequest as UpstreamRequest
from livesvc.gateway._upstream import UpstreamUnavailable as UpstreamUnavailable

__all__ = [
    "AuthRejected",
    "AuthTokenRequest",
    "AuthTokenResponse",
    "ClientAuth",
    "ClientLink",
    "Failed",
    "Frame",
    "Gateway",
    "GatewaySession",
    "GatewaySettings",
    "MediaDropped",
    "Principal",
    "ProfileRuntime",
    "Reconnected",
    "Reconnecting",
    "SessionSettings",
    "TokenMinter",
    "TokenRequestError",
    "ToolFinished",
    "Upstream",
    "UpstreamEvent",
    "UpstreamFactory",
    "UpstreamRequest",
    "UpstreamUnavailable",
    "build_profile_setup",
    "build_profiles",
    "extract_credential",
    "is_token",
    "locked_paths",
    "merge_setup",
    "overridable_paths",
    "token_setup",
]
