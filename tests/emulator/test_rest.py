"""REST on the Live origin: model discovery and ephemeral tokens, raw HTTP."""

from __future__ import annotations

import httpx
import trio
from emulator_testkit import TEXT_MODEL, fast_config, live_client, model_text

from livesvc.emulator import open_emulator
from livesvc.wire import GenerationConfig, Setup

KEY = {"x-goog-api-key": "good"}


async def test_models_are_paged_and_marked_for_bidi_generate_content():
    async with open_emulator(fast_config(api_keys=("good",))) as emu:
        with trio.fail_after(10):
            async with httpx.AsyncClient(base_url=emu.http_base_url, headers=KEY) as http:
                pages, token = [], None
                while True:
                    params = {"pageSize": "2", **({"pageToken": token} if token else {})}
                    body = (await http.get("/v1beta/models", params=params)).json()
                    pages.append([m["name"] for m in body["models"]])
                    token = body.get("nextPageToken")
                    if not token:
                        break
                one = (await http.get("/v1/models/gemini-3.1-flash-live-preview")).json()
                missing = await http.get("/v1/models/gemini-nope")
    names = [name for page in pages for name in page]
    assert all(len(page) <= 2 for page in pages)
    assert len(names) == len(set(names)) == 7  # Gemini API models and their aliases
    assert {"models/gemini-3.8-live", "models/gemini-3.8-live-extended-thinking"} <= set(names)
    assert "models/gemini-live-2.5-flash" not in names  # Vertex-only
    assert one["supportedGenerationMethods"] == ["bidiGenerateContent"]
    assert missing.status_code == 404


async def test_rest_credentials_are_checked_like_google():
    async with open_emulator(fast_config(api_keys=("good",))) as emu:
        with trio.fail_after(10):
            async with httpx.AsyncClient(base_url=emu.http_base_url) as http:
                missing = await http.get("/v1beta/models")
                bad = await http.get("/v1beta/models", params={"key": "bad"})
                good = await http.get("/v1beta/models", params={"key": "good"})
                token = await http.get(
                    "/v1beta/models", headers={"authorization": "Token auth_tokens/x"}
                )
                version = await http.get("/v9/models", headers=KEY)
    assert (missing.status_code, missing.json()["error"]["status"]) == (403, "PERMISSION_DENIED")
    assert bad.json() == {
        "error": {
            "code": 400,
            "message": "API key not valid. Please pass a valid API key.",
            "status": "INVALID_ARGUMENT",
        }
    }
    assert good.status_code == 200
    assert token.status_code == 401
    assert version.status_code == 404


async def test_tokens_are_minted_on_v1alpha_only():
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with httpx.AsyncClient(base_url=emu.http_base_url, headers=KEY) as http:
                minted = await http.post("/v1alpha/auth_tokens")
                beta = await http.post("/v1beta/auth_tokens", json={})
                bad = await http.post("/v1alpha/auth_tokens", json={"uses": -3})
    body = minted.json()
    assert body["name"].startswith("auth_tokens/")
    assert body["uses"] == 1
    assert body["expireTime"].endswith("Z")
    assert beta.status_code == 404
    assert bad.status_code == 400


async def test_token_in_the_query_opens_a_constrained_session_once():
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with httpx.AsyncClient(base_url=emu.http_base_url, headers=KEY) as http:
                token = (
                    await http.post(
                        "/v1alpha/auth_tokens",
                        json={
                            "uses": 1,
                            "bidiGenerateContentSetup": {
                                "model": TEXT_MODEL,
                                "generationConfig": {"responseModalities": ["TEXT"]},
                            },
                        },
                    )
                ).json()["name"]
            url = emu.live_url(version="v1alpha", constrained=True) + f"?access_token={token}"
            async with live_client(url) as client:
                await client.setup("models/anything-the-token-overrides")
                await client.type_text("hi")
                frames = await client.turn()
            async with live_client(url) as again:
                await again.send(Setup(model=TEXT_MODEL, generation_config=GenerationConfig()))
                reason = await again.closed()
    assert model_text(frames) == "echo #1: hi"
    assert (reason.code, reason.reason) == (1008, "Auth token has no uses left.")
