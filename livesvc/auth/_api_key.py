"""Gemini API key auth: the key travels in the ``x-goog-api-key`` header, never in a URL."""

from __future__ import annotations

import os

from livesvc.auth._endpoint import Backend, gemini_model_name

__all__ = ["ApiKey"]


class ApiKey:
    """A Gemini API key (or a Vertex "express mode" key with ``backend=Backend.VERTEX``).

    The key is sent only as the ``x-goog-api-key`` handshake header, which the
    Python SDK also uses; ``repr`` and ``str`` never show it.

    Example::

        auth = ApiKey(os.environ["GEMINI_API_KEY"])
        auth = ApiKey.from_env()      # GEMINI_API_KEY, then GOOGLE_API_KEY
    """

    def __init__(
        self, key: str, *, backend: Backend = Backend.GEMINI, api_version: str | None = None
    ) -> None:
        if not key or not key.strip():
            raise ValueError("the API key is empty")
        self._key = key.strip()
        self._backend = backend
        self._api_version = api_version or ("v1beta" if backend is Backend.GEMINI else "v1beta1")

    @classmethod
    def from_env(cls) -> ApiKey | None:
        """The key from ``GEMINI_API_KEY`` or ``GOOGLE_API_KEY``, or ``None``."""
        for name in ("GEMINI_API_KEY", "GOOGLE_API_KEY"):
            value = os.environ.get(name, "").strip()
            if value:
                return cls(value)
        return None

    @property
    def backend(self) -> Backend:
        return self._backend

    @property
    def default_api_version(self) -> str:
        return self._api_version

    @property
    def constrained(self) -> bool:
        return False

    @property
    def location(self) -> str:
        return "global" if self._backend is Backend.VERTEX else ""

    def model_name(self, model: str) -> str:
        if self._backend is Backend.VERTEX:
            return (
                model
                if model.startswith(("publishers/", "projects/"))
                else (f"publishers/google/models/{model.removeprefix('models/')}")
            )
        return gemini_model_name(model)

    async def headers(self) -> list[tuple[str, str]]:
        return [("x-goog-api-key", self._key)]

    def query(self) -> dict[str, str]:
        return {}

    refreshable = False

    async def refresh(self) -> bool:
        # A rejected key stays rejected: retrying would be a retry storm on a bad key.
        return False

    def reveal(self) -> str:
        """The key itself, for REST calls that need it (models list, token minting)."""
        return self._key

    def __repr__(self) -> str:
        return f"ApiKey(<redacted>, backend={self._backend.value})"

    __str__ = __repr__
