"""Ephemeral tokens: minted over REST with the real key, used on the Constrained endpoint."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest

from livesvc.auth import ApiKey, AuthError, create_ephemeral_token


def transport(status: int, body: object, seen: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=body)

    return httpx.MockTransport(handler)


async def test_create_posts_constraints_and_returns_the_token() -> None:
    """The body carries uses, expiry times and the locked setup; the key goes in a header."""
    seen: list[httpx.Request] = []
    reply = {"name": "auth_tokens/xyz", "expireTime": "2030-01-01T00:30:00Z", "uses": 2}
    async with httpx.AsyncClient(transport=transport(200, reply, seen)) as client:
        token = await create_ephemeral_token(
            ApiKey("REAL-KEY"),
            uses=2,
            expire_time=dt.datetime(2030, 1, 1, 0, 30),
            new_session_expire_time=dt.datetime(2030, 1, 1, 0, 1, tzinfo=dt.UTC),
            model="gemini-live-2.5-flash-preview",
            constraints={"generationConfig": {"temperature": 0.7}},
            lock_additional_fields=[],
            base_url="http://127.0.0.1:9000",
            http_client=client,
        )
    assert token.name == "auth_tokens/xyz"
    assert token.uses == 2
    assert "xyz" not in repr(token)
    (request,) = seen
    assert str(request.url) == "http://127.0.0.1:9000/v1alpha/auth_tokens"
    assert request.headers["x-goog-api-key"] == "REAL-KEY"
    assert json.loads(request.content) == {
        "uses": 2,
        "expireTime": "2030-01-01T00:30:00+00:00",
        "newSessionExpireTime": "2030-01-01T00:01:00+00:00",
        "bidiGenerateContentSetup": {
            "generationConfig": {"temperature": 0.7},
            "model": "models/gemini-live-2.5-flash-preview",
        },
        "fieldMask": "generationConfig.temperature,model",
    }


async def test_without_lock_fields_no_field_mask_is_sent() -> None:
    """lock_additional_fields=None locks the whole constraint setup: no fieldMask."""
    seen: list[httpx.Request] = []
    async with httpx.AsyncClient(
        transport=transport(200, {"name": "auth_tokens/a"}, seen)
    ) as client:
        await create_ephemeral_token("k", http_client=client)
    assert json.loads(seen[0].content) == {"uses": 1}


@pytest.mark.parametrize(
    ("status", "retryable"), [(401, False), (400, False), (429, True), (503, True)]
)
async def test_refusal_is_an_auth_error(status: int, retryable: bool) -> None:
    """A refused request raises AuthError; only 429 and 5xx are worth retrying."""
    seen: list[httpx.Request] = []
    async with httpx.AsyncClient(transport=transport(status, {"error": {}}, seen)) as client:
        with pytest.raises(AuthError, match=str(status)) as info:
            await create_ephemeral_token("k", http_client=client)
    assert info.value.retryable is retryable


async def test_reply_without_a_name_is_an_error() -> None:
    """A 200 without a token name is not silently accepted."""
    seen: list[httpx.Request] = []
    async with httpx.AsyncClient(transport=transport(200, {"uses": 1}, seen)) as client:
        with pytest.raises(AuthError, match="no token name"):
            await create_ephemeral_token("k", http_client=client)
