"""The gateway's REST routes: models.list / models.get and auth_tokens.create for client keys."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from livesvc._server import Headers, HttpRequest, HttpResponse
from livesvc.config import Config, hash_key, parse_config
from livesvc.gateway import ClientAuth
from livesvc.gateway._client_auth import BAD_TOKEN, AuthRejected
from livesvc.gateway._gateway import GatewaySettings
from livesvc.gateway._rest import GatewayRest
from livesvc.gateway._tokens import format_time, locked_paths
from livesvc.store import Store

NOW = 1_000_000.0
MINTER = "minter-key"
PLAIN = "plain-key"
NARROW = "narrow-key"

CONFIG_TEXT = f"""
[admin]
token_env = "UNUSED"
[[gateway.keys]]
name = "minter"
hash = "{hash_key(MINTER)}"
[gateway.keys.tokens]
max_uses = 3
max_expire_seconds = 600
max_new_session_seconds = 30
per_minute = 6
burst = 2
[[gateway.keys]]
name = "plain"
hash = "{hash_key(PLAIN)}"
[gateway.keys.tokens]
enabled = false
[[gateway.keys]]
name = "narrow"
hash = "{hash_key(NARROW)}"
profile = "narrow"
[profiles.default]
model = "gemini-3.8-live"
client_overridable = ["generation_config.temperature", "model"]
[profiles.narrow]
model = "models/gemini-live-2.5-flash-preview"
"""
CONFIG = parse_config(CONFIG_TEXT)


def request(
    method: str,
    path: str,
    *,
    key: str | None = MINTER,
    body: Any = None,
    query: dict[str, str] | None = None,
    raw: bytes | None = None,
) -> HttpRequest:
    headers = Headers([(b"x-goog-api-key", key.encode())] if key is not None else [])
    payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
    return HttpRequest(method=method, path=path, query=query or {}, headers=headers, body=payload)


class Rest:
    def __init__(self, store: Store, config: Config = CONFIG) -> None:
        self.rest = GatewayRest(lambda: self.settings, store, wall_clock=lambda: NOW)
        self.store = store
        self.reload(config)

    def reload(self, config: Config) -> None:
        auth = ClientAuth(config.gateway, self.store)
        self.settings = GatewaySettings(config=config, profiles={}, auth=auth)

    async def __call__(self, req: HttpRequest) -> tuple[int, Any]:
        response: HttpResponse = await self.rest.dispatch(req)
        return response.status, json.loads(response.body)


@pytest.fixture
def rest(store: Store) -> Rest:
    return Rest(store)


# -- models ---------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["v1", "v1beta", "v1alpha"])
async def test_models_list_is_the_profile_model_in_googles_shape(rest: Rest, version: str):
    status, body = await rest(request("GET", f"/{version}/models", key=NARROW))
    assert status == 200
    assert body == {
        "models": [
            {
                "name": "models/gemini-live-2.5-flash-preview",
                "displayName": "Gemini Live 2.5 Flash Preview",
                "description": "A Live model served through the livesvc gateway.",
                "inputTokenLimit": 131072,
                "outputTokenLimit": 8192,
                "supportedGenerationMethods": ["bidiGenerateContent"],
            }
        ]
    }


async def test_a_profile_letting_clients_pick_the_model_lists_current_live_models(rest: Rest):
    status, body = await rest(request("GET", "/v1beta/models", key=PLAIN, query={"key": PLAIN}))
    assert status == 200
    names = [m["name"] for m in body["models"]]
    assert names[0] == "models/gemini-3.8-live"  # the profile's own model first
    assert "models/gemini-3.1-flash-live-preview" in names
    assert "models/gemini-live-2.5-flash-preview" not in names  # retired: never offered
    assert "models/gemini-live-2.5-flash" not in names  # Vertex only; upstream is the emulator
    assert body["models"][0]["outputTokenLimit"] == 65536
    assert len(names) == len(set(names))


async def test_models_get_answers_listed_models_only(rest: Rest):
    status, body = await rest(
        request("GET", "/v1/models/gemini-live-2.5-flash-preview", key=NARROW)
    )
    assert (status, body["name"]) == (200, "models/gemini-live-2.5-flash-preview")
    status, body = await rest(request("GET", "/v1/models/gemini-3.8-live", key=NARROW))
    assert status == 404
    assert body["error"]["status"] == "NOT_FOUND"


async def test_key_in_the_query_is_accepted(rest: Rest):
    status, _ = await rest(request("GET", "/v1beta/models", key=None, query={"key": NARROW}))
    assert status == 200


@pytest.mark.parametrize(
    ("key", "status", "google"),
    [
        (None, 403, "PERMISSION_DENIED"),
        ("wrong-key", 400, "INVALID_ARGUMENT"),
        ("auth_tokens/abc", 401, "UNAUTHENTICATED"),
    ],
)
async def test_rest_refuses_what_is_not_a_client_key(
    rest: Rest, key: str | None, status: int, google: str
):
    for req in (
        request("GET", "/v1beta/models", key=key),
        request("POST", "/v1alpha/auth_tokens", key=key, body={}),
    ):
        got, body = await rest(req)
        assert (got, body["error"]["code"], body["error"]["status"]) == (status, status, google)
        if key is not None:
            assert key not in body["error"]["message"]  # never echo a credential


async def test_unknown_version_and_path_are_404(rest: Rest):
    assert (await rest(request("GET", "/v2/models")))[0] == 404
    assert (await rest(request("POST", "/v1beta/auth_tokens", body={})))[0] == 404
    assert (await rest(request("GET", "/v1beta/files")))[0] == 404


# -- auth_tokens.create -----------------------------------------------------------------


async def test_a_key_mints_a_token_for_its_own_profile(rest: Rest, store: Store):
    status, body = await rest(
        request(
            "POST",
            "/v1alpha/auth_tokens",
            key=NARROW,
            body={
                "uses": 1,
                "bidiGenerateContentSetup": {"model": "models/gemini-live-2.5-flash-preview"},
            },
        )
    )
    assert status == 200
    assert body["name"].startswith("auth_tokens/")
    assert (body["profile"], body["uses"]) == ("narrow", 1)
    record = await store.get_token(body["name"])
    assert record is not None
    assert (record.profile, record.principal) == ("narrow", "key:narrow")


async def test_expiry_asked_beyond_the_keys_bounds_is_clamped(rest: Rest, store: Store):
    status, body = await rest(
        request(
            "POST",
            "/v1alpha/auth_tokens",
            body={
                "uses": 3,
                "expireTime": format_time(NOW + 5 * 3600),
                "newSessionExpireTime": format_time(NOW + 3600),
            },
        )
    )
    assert status == 200
    assert body["uses"] == 3
    assert body["expireTime"] == format_time(NOW + 600)
    assert body["newSessionExpireTime"] == format_time(NOW + 30)
    record = await store.get_token(body["name"])
    assert record is not None
    assert (record.uses_left, record.expire_time, record.new_session_expire_time) == (
        3,
        NOW + 600,
        NOW + 30,
    )


@pytest.mark.parametrize(
    ("key", "uses", "limit"), [(MINTER, 4, 3), (MINTER, 0, 3), (NARROW, 101, 100)]
)
async def test_uses_beyond_the_keys_maximum_are_refused(
    rest: Rest, key: str, uses: int, limit: int
):
    """The key's own max_uses, else [gateway.limits] max_token_uses; 0 (unlimited) is for operators."""
    status, body = await rest(request("POST", "/v1alpha/auth_tokens", key=key, body={"uses": uses}))
    assert (status, body["error"]["message"]) == (400, f"uses: expected 1 to {limit}, got {uses}")


async def test_expiry_within_the_bounds_is_granted_as_asked(rest: Rest):
    status, body = await rest(
        request(
            "POST",
            "/v1alpha/auth_tokens",
            key=NARROW,  # no [gateway.keys.tokens]: Google's 20 hours bound the times
            body={"expireTime": format_time(NOW + 5 * 3600)},
        )
    )
    assert (status, body["expireTime"]) == (200, format_time(NOW + 5 * 3600))


async def test_field_locks_are_kept_and_checked_against_the_profile(rest: Rest, store: Store):
    status, body = await rest(
        request(
            "POST",
            "/v1alpha/auth_tokens",
            body={
                "bidiGenerateContentSetup": {"generationConfig": {"temperature": 0.2}},
                "fieldMask": "generationConfig.temperature",
            },
        )
    )
    assert status == 200
    record = await store.get_token(body["name"])
    assert record is not None
    assert locked_paths(record) == {"generation_config.temperature"}
    # The narrow profile lets clients change nothing: a lock on temperature is refused.
    status, body = await rest(
        request(
            "POST",
            "/v1alpha/auth_tokens",
            key=NARROW,
            body={"bidiGenerateContentSetup": {"generationConfig": {"temperature": 0.2}}},
        )
    )
    assert status == 400
    assert "fixes 'generation_config.temperature'" in body["error"]["message"]


async def test_a_key_cannot_mint_for_another_profile(rest: Rest):
    status, body = await rest(
        request("POST", "/v1alpha/auth_tokens", key=NARROW, body={"profile": "default"})
    )
    assert (status, body["error"]["status"]) == (403, "PERMISSION_DENIED")
    assert "'narrow'" in body["error"]["message"]


async def test_a_key_with_minting_disabled_may_not_mint(rest: Rest):
    status, body = await rest(request("POST", "/v1alpha/auth_tokens", key=PLAIN, body={}))
    assert (status, body["error"]["status"]) == (403, "PERMISSION_DENIED")


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b'{"uses": -1}',
        b'{"uses": "two"}',
        b'{"expireTime": "tomorrow"}',
        b'{"fieldMask": "noSuchField"}',
        b'{"bidiGenerateContentSetup": {"generationConfig": {"temperature": "hot"}}}',
        b"[]",
    ],
)
async def test_bad_requests_are_google_shaped_400s(rest: Rest, raw: bytes):
    status, body = await rest(request("POST", "/v1alpha/auth_tokens", raw=raw))
    assert (status, body["error"]["code"], body["error"]["status"]) == (
        400,
        400,
        "INVALID_ARGUMENT",
    )


async def test_minting_is_rate_limited_per_key(mock_clock, rest: Rest):
    async def mint(key: str) -> int:
        return (await rest(request("POST", "/v1alpha/auth_tokens", key=key, body={})))[0]

    assert [await mint(MINTER) for _ in range(3)] == [200, 200, 429]  # burst = 2
    status, body = await rest(request("POST", "/v1alpha/auth_tokens", body={}))
    assert (status, body["error"]["status"]) == (429, "RESOURCE_EXHAUSTED")
    assert await mint(NARROW) == 200  # another key has its own bucket
    # The store answers from a thread: the virtual clock moves only when told.
    mock_clock.jump(9.99)  # per_minute = 6: one mint every 10 s
    assert await mint(MINTER) == 429
    mock_clock.jump(0.01)
    assert await mint(MINTER) == 200
    assert await mint(MINTER) == 429


async def test_a_refused_request_costs_nothing(mock_clock, rest: Rest):
    for _ in range(3):  # burst = 2
        status, _ = await rest(request("POST", "/v1alpha/auth_tokens", body={"uses": 9}))
        assert status == 400
    statuses = [(await rest(request("POST", "/v1alpha/auth_tokens", body={})))[0] for _ in range(3)]
    assert statuses == [200, 200, 429]


async def test_a_reload_changing_the_rate_starts_a_fresh_bucket(mock_clock, store: Store):
    rest = Rest(store)
    for _ in range(2):
        await rest(request("POST", "/v1alpha/auth_tokens", body={}))
    assert (await rest(request("POST", "/v1alpha/auth_tokens", body={})))[0] == 429
    rest.reload(parse_config(CONFIG_TEXT.replace("burst = 2", "burst = 5")))
    assert (await rest(request("POST", "/v1alpha/auth_tokens", body={})))[0] == 200


# -- tokens minted by a key stay the key's --------------------------------------------


async def test_removing_the_key_or_moving_its_profile_revokes_its_tokens(rest: Rest, store: Store):
    status, body = await rest(request("POST", "/v1alpha/auth_tokens", key=NARROW, body={}))
    assert status == 200
    token = body["name"]
    principal = await ClientAuth(CONFIG.gateway, store).check(token, now=NOW)
    assert principal.profile == "narrow"

    moved = parse_config(CONFIG_TEXT.replace('profile = "narrow"', 'profile = "default"'))
    removed = msgspec.structs.replace(
        CONFIG.gateway, keys=[k for k in CONFIG.gateway.keys if k.name != "narrow"]
    )
    for gateway in (moved.gateway, removed):
        with pytest.raises(AuthRejected) as refused:
            await ClientAuth(gateway, store).check(token, now=NOW)
        assert refused.value.reason == BAD_TOKEN
