"""The Live gateway: client apps speak the Live protocol to the daemon, which relays upstream.

Client authentication (configured keys stored as hashes, or daemon-minted
ephemeral tokens), profile setup merging, and the relay itself.
"""

from __future__ import annotations

from livesvc.gateway._client_auth import AuthRejected as AuthRejected
from livesvc.gateway._client_auth import ClientAuth as ClientAuth
from livesvc.gateway._client_auth import Principal as Principal
from livesvc.gateway._credentials import extract_credential as extract_credential
from livesvc.gateway._credentials import is_token as is_token
from livesvc.gateway._merge import build_profile_setup as build_profile_setup
from livesvc.gateway._merge import merge_setup as merge_setup
from livesvc.gateway._merge import overridable_paths as overridable_paths
from livesvc.gateway._tokens import AuthTokenRequest as AuthTokenRequest
from livesvc.gateway._tokens import AuthTokenResponse as AuthTokenResponse
from livesvc.gateway._tokens import TokenMinter as TokenMinter
from livesvc.gateway._tokens import TokenRequestError as TokenRequestError
from livesvc.gateway._tokens import locked_paths as locked_paths
from livesvc.gateway._tokens import token_setup as token_setup

__all__ = [
    "AuthRejected",
    "AuthTokenRequest",
    "AuthTokenResponse",
    "ClientAuth",
    "Principal",
    "TokenMinter",
    "TokenRequestError",
    "build_profile_setup",
    "extract_credential",
    "is_token",
    "locked_paths",
    "merge_setup",
    "overridable_paths",
    "token_setup",
]
