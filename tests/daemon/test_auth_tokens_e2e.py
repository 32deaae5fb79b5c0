"""End to end: the stock SDK mints an ephemeral token at ``livesvc serve`` with its client key.

``client.auth_tokens.create`` (v1alpha, as the SDK requires) against the gateway
itself, then ``client.aio.live.connect`` with the token completes a turn.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from google import genai
from google.genai import errors

from livesvc.config import hash_key

from .e2e_support import (
    ADMIN_TOKEN,
    Conversation,
    DaemonProcess,
    config_text,
    in_thread,
    run_sdk,
    start_serve,
    stop_serve,
)

pytestmark = [
    pytest.mark.filterwarnings("ignore:The SDK.s token creation"),
    pytest.mark.filterwarnings("ignore:The SDK.s ephemeral token support"),
]

MINTER = "e2e-minter-key"
BARRED = "e2e-barred-key"
# A second profile: the minter's tokens must open sessions in it, not in "default".
EXTRA = f"""
[profiles.web]
model = "gemini-live-2.5-flash-preview"
generation_config = {{ response_modalities = ["TEXT"] }}
client_overridable = ["generation_config.response_modalities"]
[[gateway.keys]]
name = "minter"
hash = "{hash_key(MINTER)}"
profile = "web"
[gateway.keys.tokens]
max_uses = 5
burst = 3
per_minute = 1
[[gateway.keys]]
name = "barred"
hash = "{hash_key(BARRED)}"
[gateway.keys.tokens]
enabled = false
"""


@pytest.fixture
async def serve(tmp_path: Path, nursery: trio.Nursery) -> AsyncIterator[DaemonProcess]:
    path = tmp_path / "live.toml"
    path.write_text(config_text(state_dir=str(tmp_path / "state")) + EXTRA)
    process = await start_serve(path, nursery)
    try:
        yield process
    finally:
        if process.process is not None and process.process.returncode is None:
            await stop_serve(process)


def client(process: DaemonProcess, key: str) -> genai.Client:
    """A stock SDK client on the gateway's REST side, v1alpha (auth_tokens is v1alpha only)."""
    context = ssl.create_default_context(cafile=process.ca_file)
    return genai.Client(
        api_key=key,
        http_options={
            "base_url": process.gateway_url.replace("wss://", "https://"),
            "api_version": "v1alpha",
            "client_args": {"verify": context},
            "async_client_args": {"ssl": context},
            "timeout": 20_000,
        },
    )


def mint(process: DaemonProcess, key: str, config: dict[str, Any]) -> str:
    sdk = client(process, key)  # held: a collected Client closes its HTTP client
    token = sdk.auth_tokens.create(config=config)
    assert token.name is not None
    return token.name


ONE_USE = {
    "uses": 1,
    "live_connect_constraints": {
        "model": "gemini-live-2.5-flash-preview",
        "config": {"response_modalities": ["TEXT"]},
    },
}


async def say_with(process: DaemonProcess, token: str, text: str) -> str:
    async def script(chat: Conversation) -> str:
        return await chat.say(text)

    result: str = await in_thread(
        run_sdk, process.gateway_url, process.ca_file, script, key=token, api_version="v1alpha"
    )
    return result


async def test_a_client_key_mints_a_token_that_opens_one_session_in_its_profile(
    serve: DaemonProcess,
):
    with trio.fail_after(60):
        token = await in_thread(mint, serve, MINTER, ONE_USE)
        assert token.startswith("auth_tokens/")
        assert await say_with(serve, token, "minted by a key") == "echo #1: minted by a key"

        async with httpx.AsyncClient(base_url=serve.admin_url) as http:
            listed = await http.get(
                "/v1/sessions", headers={"authorization": f"Bearer {ADMIN_TOKEN}"}
            )
        sessions = listed.json()["sessions"]
        assert [s["profile"] for s in sessions] == ["web"]  # the key's profile, not "default"

        with pytest.raises(errors.APIError) as spent:
            await say_with(serve, token, "again")
    assert spent.value.code == 1008
    assert "no uses left" in str(spent.value)


async def test_minting_is_refused_for_keys_without_permission_and_past_the_rate(
    serve: DaemonProcess,
):
    with trio.fail_after(60):
        with pytest.raises(errors.ClientError) as not_allowed:
            await in_thread(mint, serve, BARRED, ONE_USE)  # [gateway.keys.tokens] enabled = false
        assert (not_allowed.value.code, not_allowed.value.status) == (403, "PERMISSION_DENIED")

        # The SDK itself refuses to send a token to REST; a raw client can try.
        token = await in_thread(mint, serve, MINTER, {"uses": 1})
        base = serve.gateway_url.replace("wss://", "https://")
        context = ssl.create_default_context(cafile=serve.ca_file)
        async with httpx.AsyncClient(base_url=base, verify=context) as http:
            answers = [
                await http.post("/v1alpha/auth_tokens", headers=headers, json={"uses": 1})
                for headers in ({"x-goog-api-key": token}, {"x-goog-api-key": "nope"}, {})
            ]
        assert [(a.status_code, a.json()["error"]["status"]) for a in answers] == [
            (401, "UNAUTHENTICATED"),
            (400, "INVALID_ARGUMENT"),
            (403, "PERMISSION_DENIED"),
        ]

        for _ in range(2):  # burst = 3, one spent above; one more each minute
            await in_thread(mint, serve, MINTER, {"uses": 1})
        with pytest.raises(errors.ClientError) as too_fast:
            await in_thread(mint, serve, MINTER, {"uses": 1})
    assert (too_fast.value.code, too_fast.value.status) == (429, "RESOURCE_EXHAUSTED")
