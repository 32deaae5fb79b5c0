"""Vertex AI credentials: refreshed before expiry, off the event loop, under a timeout."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
import trio
from google.auth import exceptions as gexc

from livesvc.auth import AuthError, VertexAI, build_endpoint

NOW = dt.datetime(2030, 1, 1, 12, 0, 0)


class FakeCredentials:
    """google-auth credentials whose refresh is scripted."""

    def __init__(
        self,
        *,
        token: str | None = None,
        expiry: dt.datetime | None = None,
        fail: list[Exception] | None = None,
        quota_project_id: str | None = None,
        block: threading.Event | None = None,
    ) -> None:
        self.token = token
        self.expiry = expiry
        self.quota_project_id = quota_project_id
        self._fail = list(fail or [])
        self._block = block
        self.requests: list[Any] = []
        self.threads: list[str] = []

    def refresh(self, request: Any) -> None:
        self.requests.append(request)
        self.threads.append(threading.current_thread().name)
        if self._block is not None:
            self._block.wait(5)
        if self._fail:
            raise self._fail.pop(0)
        self.token = f"tok{len(self.requests)}"
        self.expiry = NOW + dt.timedelta(hours=1)


def make(creds: FakeCredentials, **kw: Any) -> VertexAI:
    return VertexAI(
        project="proj",
        location="us-central1",
        credentials=creds,
        request_factory=lambda: lambda *a, **k: None,
        now=lambda: NOW,
        **kw,
    )


async def test_first_use_refreshes_in_a_worker_thread_and_sends_a_bearer_token() -> None:
    """A credential without a token is refreshed off the trio thread; the header carries the token."""
    creds = FakeCredentials(quota_project_id="billing-proj")
    auth = make(creds)
    endpoint = await build_endpoint(auth)
    assert endpoint.headers == (
        ("authorization", "Bearer tok1"),
        ("x-goog-user-project", "billing-proj"),
    )
    assert endpoint.url == (
        "wss://us-central1-aiplatform.googleapis.com/ws/google.cloud.aiplatform.v1.LlmBidiService/BidiGenerateContent"
    )
    assert creds.threads
    assert creds.threads[0] != threading.current_thread().name


async def test_valid_token_is_reused_until_it_nears_expiry() -> None:
    """No refresh while the token has more than the margin left; one when it is within it."""
    creds = FakeCredentials(token="old", expiry=NOW + dt.timedelta(minutes=10))
    auth = make(creds, refresh_margin=300)
    assert (await auth.headers())[0] == ("authorization", "Bearer old")
    assert creds.requests == []
    creds.expiry = NOW + dt.timedelta(minutes=4)
    assert (await auth.headers())[0] == ("authorization", "Bearer tok1")
    assert auth.refreshes == 1


async def test_forced_refresh_after_an_auth_close() -> None:
    """refresh() always fetches a new token, even if the old one looks valid."""
    creds = FakeCredentials(token="old", expiry=NOW + dt.timedelta(hours=1))
    auth = make(creds)
    assert await auth.refresh() is True
    assert (await auth.headers())[0] == ("authorization", "Bearer tok1")


async def test_refused_refresh_is_a_non_retryable_auth_error_without_secrets() -> None:
    """A refused credential becomes AuthError(retryable=False); a transport error is retryable."""
    auth = make(FakeCredentials(fail=[gexc.RefreshError("invalid_grant: secret-ish detail")]))
    with pytest.raises(AuthError, match="refused") as info:
        await auth.headers()
    assert info.value.retryable is False
    assert "secret" not in str(info.value)
    auth = make(FakeCredentials(fail=[gexc.TransportError("dns")]))
    with pytest.raises(AuthError) as info2:
        await auth.headers()
    assert info2.value.retryable is True


async def test_a_hanging_refresh_times_out_at_exactly_the_limit(
    autojump_clock: trio.abc.Clock,
) -> None:
    """A refresh stuck in google-auth is abandoned after refresh_timeout, as a retryable error."""
    release = threading.Event()
    auth = make(FakeCredentials(block=release), refresh_timeout=7.0)
    start = trio.current_time()
    try:
        with pytest.raises(AuthError, match="timed out") as info:
            await auth.headers()
    finally:
        release.set()
    assert trio.current_time() - start == pytest.approx(7.0)
    assert info.value.retryable is True


def test_project_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    """Vertex without a project fails at construction, before any socket opens."""
    monkeypatch.delenv("VERTEX_PROJECT_ID", raising=False)
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    with pytest.raises(ValueError, match="project"):
        VertexAI()


def test_model_resource_name_and_env_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """The setup model is the full Vertex resource; project and location come from the env."""
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "envproj")
    monkeypatch.setenv("GOOGLE_CLOUD_LOCATION", "europe-west4")
    monkeypatch.delenv("VERTEX_PROJECT_ID", raising=False)
    monkeypatch.delenv("VERTEX_LOCATION", raising=False)
    auth = VertexAI(credentials=FakeCredentials())
    assert auth.model_name("gemini-live-2.5-flash") == (
        "projects/envproj/locations/europe-west4/publishers/google/models/gemini-live-2.5-flash"
    )


async def test_service_account_file_that_does_not_exist_is_a_clear_error(tmp_path: Any) -> None:
    """A missing key file fails with AuthError, read in a worker thread."""
    auth = VertexAI(project="p", service_account_file=tmp_path / "missing.json")
    with pytest.raises(AuthError, match="cannot read"):
        await auth.headers()


def test_httpx_transport_refreshes_real_google_auth_credentials() -> None:
    """google-auth's own OAuth refresh runs over the httpx transport (no 'requests' needed)."""
    import httpx
    from google.oauth2.credentials import Credentials

    from livesvc.auth._vertex import HttpxRequest

    seen: list[httpx.Request] = []

    def token_endpoint(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"access_token": "fresh", "expires_in": 3600})

    creds = Credentials(
        token=None,
        refresh_token="r",
        client_id="c",
        client_secret="s",
        token_uri="http://127.0.0.1:1/token",
    )
    creds.refresh(HttpxRequest(transport=httpx.MockTransport(token_endpoint)))
    assert creds.token == "fresh"
    assert seen[0].method == "POST"
    assert b"refresh_token=r" in seen[0].content


def test_httpx_transport_errors_are_transport_errors() -> None:
    """A network failure surfaces as google-auth's TransportError (a retryable AuthError later)."""
    import httpx

    from livesvc.auth._vertex import HttpxRequest

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    with pytest.raises(gexc.TransportError):
        HttpxRequest(transport=httpx.MockTransport(refuse))("http://127.0.0.1:1/x")
