"""The admin API over real loopback HTTP, against a fake daemon."""

import functools

import httpx
import pytest
import trio

from livesvc.admin import Readiness, SessionView, serve_admin
from livesvc.config import hash_key
from livesvc.gateway import AuthTokenRequest, AuthTokenResponse, TokenRequestError
from livesvc.metrics import DaemonMetrics

TOKEN = "admin-secret"


def view(session_id: str, status: str = "active") -> SessionView:
    return SessionView(
        session_id=session_id,
        principal="key:dev",
        profile="default",
        model="models/m",
        status=status,
        created_at="2030-01-01T00:00:00Z",
        updated_at="2030-01-01T00:00:05Z",
        duration_seconds=5.0,
        client_connected=status == "active",
        resumable=True,
        turns=2,
    )


class FakeDaemon:
    """A DaemonControl with canned sessions; records what the admin API asked."""

    def __init__(self) -> None:
        self.ready = True
        self.sessions = {"s1": view("s1"), "s2": view("s2", "detached")}
        self.closed: list[tuple[str, str]] = []
        self.minted: list[AuthTokenRequest] = []
        self.metrics = DaemonMetrics()
        self.metrics.count_sessions_with(lambda: {"active": 1, "detached": 1})

    def readiness(self) -> Readiness:
        return Readiness(ready=self.ready, checks={"store": self.ready, "gateway": True})

    def metrics_exposition(self) -> tuple[bytes, str]:
        return self.metrics.exposition()

    async def list_sessions(self, *, status: str | None = None) -> list[SessionView]:
        return [v for v in self.sessions.values() if status is None or v.status == status]

    async def get_session(self, session_id: str) -> SessionView | None:
        return self.sessions.get(session_id)

    async def close_session(self, session_id: str, *, reason: str) -> bool:
        if session_id not in self.sessions:
            return False
        self.closed.append((session_id, reason))
        return True

    async def mint_token(self, request: AuthTokenRequest) -> AuthTokenResponse:
        if request.uses is not None and request.uses < 0:
            raise TokenRequestError("uses: expected 0 (unlimited) or more, got -1")
        self.minted.append(request)
        return AuthTokenResponse(
            name="auth_tokens/abc",
            expire_time="2030-01-01T00:30:00Z",
            new_session_expire_time="2030-01-01T00:01:00Z",
            uses=request.uses or 1,
            profile=request.profile or "default",
            token_id="tok_1",
        )


@pytest.fixture
def daemon() -> FakeDaemon:
    return FakeDaemon()


@pytest.fixture
async def client(daemon: FakeDaemon, nursery: trio.Nursery):
    url = await nursery.start(
        functools.partial(serve_admin, daemon, port=0, token_hash=hash_key(TOKEN))
    )
    async with httpx.AsyncClient(
        base_url=url, headers={"authorization": f"Bearer {TOKEN}"}
    ) as http:
        yield http
    nursery.cancel_scope.cancel()


async def test_probes_need_no_token(client: httpx.AsyncClient, daemon: FakeDaemon):
    with trio.fail_after(10):
        assert (await client.get("/healthz", headers={"authorization": ""})).json() == {
            "status": "ok"
        }
        ready = await client.get("/readyz", headers={"authorization": ""})
        assert (ready.status_code, ready.json()["ready"]) == (200, True)
        daemon.ready = False
        not_ready = await client.get("/readyz")
        assert not_ready.status_code == 503
        assert not_ready.json()["checks"]["store"] is False


@pytest.mark.parametrize(
    ("header", "status"), [({}, 401), ({"authorization": "Bearer wrong"}, 403)]
)
async def test_everything_else_needs_the_admin_token(client: httpx.AsyncClient, header, status):
    with trio.fail_after(10):
        for method, path in [
            ("GET", "/metrics"),
            ("GET", "/v1/sessions"),
            ("POST", "/v1/auth_tokens"),
        ]:
            response = await client.request(method, path, headers={"authorization": "", **header})
            assert response.status_code == status
            assert response.json()["error"]["code"] == status
            assert TOKEN not in response.text


async def test_metrics_in_prometheus_format(client: httpx.AsyncClient):
    with trio.fail_after(10):
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'livesvc_sessions{status="active"} 1.0' in response.text


async def test_list_inspect_and_close_sessions(client: httpx.AsyncClient, daemon: FakeDaemon):
    with trio.fail_after(10):
        listed = (await client.get("/v1/sessions")).json()["sessions"]
        assert [s["session_id"] for s in listed] == ["s1", "s2"]
        detached = (await client.get("/v1/sessions", params={"status": "detached"})).json()
        assert [s["session_id"] for s in detached["sessions"]] == ["s2"]
        assert (await client.get("/v1/sessions", params={"status": "bogus"})).status_code == 400
        one = await client.get("/v1/sessions/s1")
        assert (one.status_code, one.json()["turns"]) == (200, 2)
        assert (await client.get("/v1/sessions/nope")).status_code == 404
        closed = await client.delete("/v1/sessions/s1", params={"reason": "maintenance"})
        assert closed.json() == {"sessionId": "s1", "closed": True}
        assert daemon.closed == [("s1", "maintenance")]
        assert (await client.delete("/v1/sessions/nope")).status_code == 404
        assert (await client.post("/v1/sessions/s1")).status_code == 405


async def test_mint_token_with_google_shaped_body(client: httpx.AsyncClient, daemon: FakeDaemon):
    with trio.fail_after(10):
        response = await client.post(
            "/v1/auth_tokens",
            json={"uses": 2, "profile": "voice", "bidiGenerateContentSetup": {"model": "models/m"}},
        )
        assert response.status_code == 200
        assert response.json()["name"] == "auth_tokens/abc"
        assert daemon.minted[0].uses == 2
        assert daemon.minted[0].bidi_generate_content_setup == {"model": "models/m"}
        bad = await client.post("/v1/auth_tokens", json={"uses": -1})
        assert (bad.status_code, bad.json()["error"]["status"]) == (400, "INVALID_ARGUMENT")
        garbage = await client.post("/v1/auth_tokens", content=b"{not json")
        assert garbage.status_code == 400
        huge = await client.post("/v1/auth_tokens", content=b" " * (2 << 20))
        assert huge.status_code == 413


@pytest.mark.filterwarnings("ignore:The SDK.s token creation")
async def test_the_genai_sdk_can_mint_against_the_admin_api(
    daemon: FakeDaemon, nursery: trio.Nursery
):
    """auth_tokens.create from google-genai, pointed at the admin API with the admin token as key."""
    from google import genai

    url = await nursery.start(
        functools.partial(serve_admin, daemon, port=0, token_hash=hash_key(TOKEN))
    )
    client = genai.Client(api_key=TOKEN, http_options={"base_url": url, "api_version": "v1alpha"})
    token = await trio.to_thread.run_sync(lambda: client.auth_tokens.create(config={"uses": 3}))
    assert token.name == "auth_tokens/abc"
    assert daemon.minted[0].uses == 3
    nursery.cancel_scope.cancel()
