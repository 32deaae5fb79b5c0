"""End to end: ``models.list`` on ``livesvc serve``, by the stock SDK and by livesvc.models.resolve."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import trio
from google import genai

from livesvc.auth import ApiKey
from livesvc.config import hash_key
from livesvc.models import resolve

from .e2e_support import KEY, DaemonProcess, config_text, in_thread, start_serve, stop_serve

PICKER = "e2e-picker-key"
# A profile whose clients may choose the model: it lists every current Live model.
EXTRA = f"""
[profiles.picker]
model = "gemini-3.1-flash-live-preview"
client_overridable = ["model"]
[[gateway.keys]]
name = "picker"
hash = "{hash_key(PICKER)}"
profile = "picker"
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


def sdk_list(process: DaemonProcess, key: str, api_version: str | None) -> list[genai.types.Model]:
    """``client.models.list()`` and ``client.aio.models.list()``; both must agree."""
    context = ssl.create_default_context(cafile=process.ca_file)
    options: dict[str, object] = {
        "base_url": process.gateway_url.replace("wss://", "https://"),
        "client_args": {"verify": context},
        "async_client_args": {"ssl": context},
        "timeout": 20_000,
    }
    if api_version is not None:
        options["api_version"] = api_version
    client = genai.Client(api_key=key, http_options=options)  # type: ignore[arg-type]
    listed = list(client.models.list())

    async def aio() -> list[genai.types.Model]:
        return [model async for model in await client.aio.models.list()]

    assert [m.name for m in asyncio.run(aio())] == [m.name for m in listed]
    return listed


@pytest.mark.parametrize("api_version", [None, "v1", "v1alpha"])
async def test_sdk_lists_the_keys_profile_models(serve: DaemonProcess, api_version: str | None):
    with trio.fail_after(60):
        models = await in_thread(sdk_list, serve, KEY, api_version)
    assert [m.name for m in models] == ["models/gemini-live-2.5-flash-preview"]
    model = models[0]
    assert model.display_name == "Gemini Live 2.5 Flash Preview"
    assert model.supported_actions == ["bidiGenerateContent"]
    assert (model.input_token_limit, model.output_token_limit) == (131072, 8192)


async def test_a_key_whose_profile_lets_clients_pick_sees_the_current_models(
    serve: DaemonProcess,
):
    with trio.fail_after(60):
        models = await in_thread(sdk_list, serve, PICKER, None)
    names = [m.name for m in models]
    assert names[0] == "models/gemini-3.1-flash-live-preview"
    assert "models/gemini-3.8-live" in names
    assert "models/gemini-live-2.5-flash-preview" not in names


async def test_resolve_picks_from_what_the_gateway_lists(serve: DaemonProcess):
    context = ssl.create_default_context(cafile=serve.ca_file)
    async with httpx.AsyncClient(verify=context) as http:
        with trio.fail_after(30):
            picked = await resolve(
                "audio", auth=ApiKey(KEY), base_url=serve.gateway_url, http_client=http
            )
    # Without the list, resolve falls back to its static default (gemini-3.8-live);
    # the gateway lists only the key's profile model, so that one is picked.
    assert picked == "gemini-live-2.5-flash-preview"
