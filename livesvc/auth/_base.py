"""What every credential provides to a session: headers, a model name, a refresh."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from livesvc.auth._endpoint import Backend, LiveEndpoint, live_url

__all__ = ["Auth", "AuthError", "build_endpoint"]


class AuthError(Exception):
    """A credential could not be obtained or refreshed.

    ``retryable`` is true for network trouble reaching the token endpoint,
    false for a credential that is simply wrong (revoked, malformed).
    The message never contains the credential.
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


@runtime_checkable
class Auth(Protocol):
    """A credential for the Live API. Implementations never log or ``repr`` the secret."""

    @property
    def backend(self) -> Backend:
        """Gemini API or Vertex AI."""
        ...

    @property
    def default_api_version(self) -> str:
        """The API version used when the session names none."""
        ...

    @property
    def constrained(self) -> bool:
        """Whether to dial ``BidiGenerateContentConstrained`` (ephemeral tokens)."""
        ...

    @property
    def location(self) -> str:
        """The Vertex region (``""`` for the Gemini API)."""
        ...

    def model_name(self, model: str) -> str:
        """The model name as the setup message must carry it."""
        ...

    async def headers(self) -> list[tuple[str, str]]:
        """Handshake headers for the next dial; refreshes an expiring token first."""
        ...

    def query(self) -> dict[str, str]:
        """Query parameters for the next dial (usually none)."""
        ...

    async def refresh(self) -> bool:
        """Force a new credential after an auth close. ``False`` if nothing can change."""
        ...

    @property
    def refreshable(self) -> bool:
        """Whether :meth:`refresh` can yield a different credential (worth a retry)."""
        ...


async def build_endpoint(
    auth: Auth, *, base_url: str | None = None, api_version: str | None = None
) -> LiveEndpoint:
    """Build the dial target for ``auth``: URL plus fresh headers.

    Example::

        endpoint = await build_endpoint(ApiKey("k"), base_url="http://127.0.0.1:9000")
        endpoint.url   # 'ws://127.0.0.1:9000/ws/google.ai.generativelanguage.v1beta....'
    """
    url = live_url(
        auth.backend,
        api_version=api_version or auth.default_api_version,
        base_url=base_url,
        location=auth.location or "us-central1",
        constrained=auth.constrained,
        query=auth.query() or None,
    )
    return LiveEndpoint(url=url, headers=tuple(await auth.headers()))
