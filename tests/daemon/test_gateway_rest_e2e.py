"""The SDKs' REST calls on the gateway with a client key: models.list, auth_tokens.create (issue 15)."""

from __future__ import annotations

import ssl

import httpx
import pytest
import trio
from google import genai
from google.genai import errors

from livesvc.auth import ApiKey
from livesvc.daemon._daemon import Daemon
from livesvc.models import resolve

from .e2e_support import KEY, Conversation, in_thread, run_sdk

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The SDK.s token creation"),
    pytest.mark.filterwarnings("ignore:The SDK.s ephemeral token support"),
]


def client(daemon: Daemon, key: str = KEY, api_version: str | None = None) -> genai.Client:
    assert daemon.gateway_url is not None
    context = ssl.create_default_context(cafile=daemon.ca_file)
    options: dict[str, object] = {
        "base_url": daemon.gateway_url.replace("wss://", "https://"),
        "client_args": {"verify": context},
        "async_client_args": {"ssl": context},
    }
    if api_version is not None:
        options["api_version"] = api_version
    return genai.Client(api_key=key, http_options=options)


async def test_models_list_through_the_gateway_shows_the_profile_model(daemon: Daemon):
    def listed() -> list[tuple[str | None, list[str] | None]]:
        gateway = client(daemon)  # held: a dropped Client closes its HTTP client
        return [(m.name, m.supported_actions) for m in gateway.models.list()]

    with trio.fail_after(30):
        models = await trio.to_thread.run_sync(listed)
    assert models == [("models/gemini-live-2.5-flash-preview", ["bidiGenerateContent"])]


async def test_livesvc_models_resolve_works_through_the_gateway(daemon: Daemon):
    assert daemon.gateway_url is not None
    context = await trio.to_thread.run_sync(
        lambda: ssl.create_default_context(cafile=daemon.ca_file)
    )
    async with httpx.AsyncClient(verify=context) as http:
        model = await resolve(
            "text",
            auth=ApiKey(KEY),
            base_url=daemon.gateway_url.replace("wss://", "https://"),
            http_client=http,
        )
    assert model == "gemini-live-2.5-flash-preview"


async def test_a_client_key_mints_a_token_and_the_token_opens_one_session(daemon: Daemon):
    def mint() -> str:
        gateway = client(daemon, api_version="v1alpha")
        token = gateway.auth_tokens.create(
            config={
                "uses": 1,
                "live_connect_constraints": {
                    "model": "gemini-live-2.5-flash-preview",
                    "config": {"response_modalities": ["TEXT"]},
                },
            }
        )
        assert token.name is not None
        return token.name

    async def say(chat: Conversation) -> str:
        return await chat.say("with a minted token")

    assert daemon.gateway_url is not None
    assert daemon.ca_file is not None
    with trio.fail_after(40):
        token = await trio.to_thread.run_sync(mint)
        reply = await in_thread(
            run_sdk, daemon.gateway_url, daemon.ca_file, say, key=token, api_version="v1alpha"
        )
        with pytest.raises(errors.APIError) as spent:
            await in_thread(
                run_sdk, daemon.gateway_url, daemon.ca_file, say, key=token, api_version="v1alpha"
            )
    assert token.startswith("auth_tokens/")
    assert reply == "echo #1: with a minted token"
    assert spent.value.code == 1008


async def test_minting_is_refused_clearly(daemon: Daemon):
    def attempt(key: str, config: dict[str, object]) -> tuple[int | None, str]:
        gateway = client(daemon, key=key, api_version="v1alpha")
        try:
            gateway.auth_tokens.create(config=config)
        except errors.APIError as err:
            return err.code, str(err)
        return None, ""

    with trio.fail_after(60):
        unknown = await trio.to_thread.run_sync(attempt, "not-a-key", {"uses": 1})
        unlimited = await trio.to_thread.run_sync(attempt, KEY, {"uses": 0})
        codes = []
        for _ in range(12):  # 10 per minute per key by default
            code, _ = await trio.to_thread.run_sync(attempt, KEY, {"uses": 1})
            codes.append(code)
    assert unknown[0] == 400  # "API key not valid", as Google answers
    assert unlimited[0] == 400
    assert "uses: expected 1 to 100" in unlimited[1]
    # A refused request spends nothing; 10 per minute per key by default, then 429.
    assert codes == [None] * 10 + [429, 429]
