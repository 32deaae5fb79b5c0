"""Vertex AI auth through google-auth: ADC or a service-account file, refreshed off the event loop.

google-auth is blocking (file reads, HTTP to the token endpoint, the GCE
metadata server), so loading and refreshing run in a worker thread under a
timeout. The token is refreshed before it expires (``refresh_margin``), and
once more when the server closes a session for an auth reason.

Example::

    auth = VertexAI(project="my-project", location="us-central1")           # ADC
    auth = VertexAI(project="p", service_account_file="/etc/sa.json")
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from typing import Any

import google.auth.exceptions
import google.auth.transport
import httpx
import trio

from livesvc.auth._base import AuthError
from livesvc.auth._endpoint import Backend, vertex_model_name
from livesvc.logs import get_logger

__all__ = ["CLOUD_PLATFORM_SCOPE", "HttpxRequest", "VertexAI"]

log = get_logger(__name__)

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"


class _TimeoutRequest:
    """A google-auth transport request that never waits longer than ``timeout``."""

    def __init__(self, inner: Callable[..., Any], timeout: float) -> None:
        self._inner = inner
        self._timeout = timeout

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: Any = None,
        headers: Any = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        limit = self._timeout if timeout is None else min(timeout, self._timeout)
        return self._inner(url, method=method, body=body, headers=headers, timeout=limit, **kwargs)


class _HttpxResponse(google.auth.transport.Response):
    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def status(self) -> int:
        return self._response.status_code

    @property
    def headers(self) -> Any:
        return dict(self._response.headers)

    @property
    def data(self) -> bytes:
        return self._response.content


class HttpxRequest(google.auth.transport.Request):
    """A google-auth transport on a synchronous httpx client (no ``requests`` needed).

    google-auth calls it from the worker thread that refreshes the token.
    """

    def __init__(self, *, transport: httpx.BaseTransport | None = None) -> None:
        self._transport = transport

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: Any = None,
        headers: Any = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        try:
            with httpx.Client(transport=self._transport, timeout=timeout or 120.0) as client:
                response = client.request(method, url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise google.auth.exceptions.TransportError(type(exc).__name__) from exc
        return _HttpxResponse(response)


def _default_request() -> Callable[..., Any]:
    return HttpxRequest()


def _utcnow() -> dt.datetime:
    # google-auth keeps ``expiry`` as a naive UTC datetime.
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class VertexAI:
    """Vertex AI credentials for the Live API (``Authorization: Bearer``).

    Args:
        project: the GCP project; defaults to ``VERTEX_PROJECT_ID`` or ``GOOGLE_CLOUD_PROJECT``.
        location: the region; defaults to ``VERTEX_LOCATION``, ``GOOGLE_CLOUD_LOCATION``,
            then ``us-central1``.
        credentials: ready google-auth credentials (otherwise ADC or the file).
        service_account_file: path of a service-account JSON key.
        api_version: ``v1`` (default) or ``v1beta1``.
        refresh_timeout: the most a load or refresh may take, in seconds.
        refresh_margin: refresh when the token expires within this many seconds.
        request_factory: builds the google-auth transport request (tests inject a fake).
        now: the current UTC time as a naive datetime (tests inject a fixed clock).
    """

    def __init__(
        self,
        project: str | None = None,
        location: str | None = None,
        *,
        credentials: Any = None,
        service_account_file: str | os.PathLike[str] | None = None,
        api_version: str = "v1",
        refresh_timeout: float = 30.0,
        refresh_margin: float = 300.0,
        request_factory: Callable[[], Callable[..., Any]] | None = None,
        now: Callable[[], dt.datetime] | None = None,
    ) -> None:
        project = (
            project or os.environ.get("VERTEX_PROJECT_ID") or os.environ.get("GOOGLE_CLOUD_PROJECT")
        )
        if not project:
            raise ValueError(
                "Vertex AI needs a project (project=..., or VERTEX_PROJECT_ID / GOOGLE_CLOUD_PROJECT)"
            )
        self.project = project
        self._location = (
            location
            or os.environ.get("VERTEX_LOCATION")
            or os.environ.get("GOOGLE_CLOUD_LOCATION")
            or "us-central1"
        )
        self._credentials = credentials
        self._sa_file = os.fspath(service_account_file) if service_account_file else None
        self._api_version = api_version
        self._timeout = refresh_timeout
        self._margin = dt.timedelta(seconds=refresh_margin)
        self._request_factory = request_factory or _default_request
        self._now = now or _utcnow
        self._lock = trio.Lock()
        self.refreshes = 0

    @property
    def backend(self) -> Backend:
        return Backend.VERTEX

    @property
    def default_api_version(self) -> str:
        return self._api_version

    @property
    def constrained(self) -> bool:
        return False

    @property
    def location(self) -> str:
        return self._location

    def model_name(self, model: str) -> str:
        return vertex_model_name(model, project=self.project, location=self._location)

    def query(self) -> dict[str, str]:
        return {}

    async def headers(self) -> list[tuple[str, str]]:
        async with self._lock:
            creds = await self._load()
            if self._needs_refresh(creds):
                await self._refresh(creds)
            token = creds.token
        headers = [("authorization", f"Bearer {token}")]
        quota_project = getattr(creds, "quota_project_id", None)
        if quota_project:
            headers.append(("x-goog-user-project", quota_project))
        return headers

    refreshable = True

    async def refresh(self) -> bool:
        async with self._lock:
            creds = await self._load()
            await self._refresh(creds)
        return True

    def _needs_refresh(self, creds: Any) -> bool:
        if not creds.token:
            return True
        expiry = getattr(creds, "expiry", None)
        return expiry is not None and expiry - self._now() <= self._margin

    async def _in_thread(self, what: str, fn: Callable[[], Any]) -> Any:
        from google.auth import exceptions as gexc

        try:
            with trio.fail_after(self._timeout):
                # Abandoning is safe: a late refresh only updates the credential object.
                return await trio.to_thread.run_sync(fn, abandon_on_cancel=True)
        except trio.TooSlowError:
            log.warning("auth.vertex_timeout", step=what, timeout=self._timeout)
            raise AuthError(
                f"Vertex AI credential {what} timed out after {self._timeout}s", retryable=True
            ) from None
        except gexc.TransportError as exc:
            raise AuthError(
                f"Vertex AI credential {what} failed: {type(exc).__name__}", retryable=True
            ) from exc
        except gexc.RefreshError as exc:
            retryable = bool(getattr(exc, "retryable", False))
            raise AuthError(
                f"Vertex AI credential {what} was refused", retryable=retryable
            ) from exc
        except gexc.DefaultCredentialsError as exc:
            raise AuthError(f"no Vertex AI credentials found: {exc}") from exc

    async def _load(self) -> Any:
        if self._credentials is not None:
            return self._credentials
        sa_file = self._sa_file

        def load() -> Any:
            if sa_file:
                from google.oauth2 import service_account

                return service_account.Credentials.from_service_account_file(
                    sa_file, scopes=[CLOUD_PLATFORM_SCOPE]
                )
            import google.auth

            creds, _project = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
            return creds

        try:
            self._credentials = await self._in_thread("load", load)
        except (OSError, ValueError) as exc:
            raise AuthError(f"cannot read Vertex AI credentials: {type(exc).__name__}") from exc
        return self._credentials

    async def _refresh(self, creds: Any) -> None:
        request = _TimeoutRequest(self._request_factory(), self._timeout)
        await self._in_thread("refresh", lambda: creds.refresh(request))
        self.refreshes += 1
        log.info("auth.vertex_refreshed", expiry=str(getattr(creds, "expiry", None)))

    def __repr__(self) -> str:
        return f"VertexAI(project={self.project!r}, location={self._location!r})"
