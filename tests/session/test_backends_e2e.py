"""Every credential and backend against the emulator: API key, ephemeral token, Vertex AI."""

from __future__ import annotations

from typing import Any

import trio

from livesvc.auth import ApiKey, EphemeralToken, VertexAI, create_ephemeral_token
from livesvc.emulator import Emulator, open_emulator
from livesvc.models import resolve
from livesvc.session import Connected, config_from_setup, extract_text, open_session
from livesvc.wire import Content, Part, Setup

from .conftest import G31, emulator_config, options


class FakeCredentials:
    """google-auth credentials whose refresh always works (no network)."""

    token: str | None = None
    expiry = None
    quota_project_id = None

    def refresh(self, request: Any) -> None:
        self.token = "vertex-token"


def vertex() -> VertexAI:
    return VertexAI(project="proj", location="us-central1", credentials=FakeCredentials())


async def talk(session: Any, text: str) -> str:
    out: list[str] = []
    messages = session.messages()
    await session.send_text(text)
    async for message in messages:
        piece = extract_text(message)
        if piece:
            out.append(piece)
        if message.server_content and message.server_content.turn_complete:
            break
    await messages.aclose()
    return "".join(out)


async def test_ephemeral_token_minted_over_rest_then_used_and_resumed() -> None:
    """A token minted with the real key connects on the Constrained endpoint and survives a drop."""
    async with open_emulator(emulator_config(api_keys=("real-key",))) as emu:
        with trio.fail_after(15):
            token = await create_ephemeral_token(
                ApiKey("real-key"),
                uses=1,
                model="gemini-live-2.5-flash-preview",
                base_url=emu.http_base_url,
            )
            assert token.name.startswith(("auth_tokens/", "authTokens/"))
            connects: list[Connected] = []
            opts = options(emu, api_key=None, auth=EphemeralToken(token.name))
            async with open_session(**opts, on_connect=connects.append) as session:
                assert await talk(session, "hi") == "echo #1: hi"
                await session.wait_settled()
                await emu.faults.drop()
                assert await talk(session, "again") == "echo #2: again"  # a resume is not a new use
    assert [c.resumed for c in connects] == [False, True]


async def test_vertex_ai_with_bearer_token_and_normalized_usage() -> None:
    """Vertex: Bearer token from google-auth, full model resource name, candidates* usage normalized."""
    async with open_emulator(emulator_config()) as emu:
        with trio.fail_after(10):
            async with open_session(
                **options(emu, api_key=None, auth=vertex(), model="gemini-live-2.5-flash")
            ) as session:
                assert session.model == (
                    "projects/proj/locations/us-central1/publishers/google/models/gemini-live-2.5-flash"
                )
                assert await talk(session, "hola") == "echo #1: hola"
                await session.wait_settled()
                usage = session.usage
    assert usage is not None
    assert usage.output_tokens is not None
    assert usage.output_tokens > 0
    assert usage.output_by_modality.keys() == {"TEXT"}


async def test_vertex_transparent_resumption_covers_by_consumed_index() -> None:
    """With transparent resumption the ledger follows lastConsumedClientMessageIndex exactly."""
    async with open_emulator(emulator_config()) as emu:
        with trio.fail_after(15):
            async with open_session(
                **options(
                    emu,
                    api_key=None,
                    auth=vertex(),
                    model="gemini-live-2.5-flash",
                    transparent_resumption=True,
                )
            ) as session:
                assert await talk(session, "one") == "echo #1: one"
                await session.wait_settled()
                assert session.stats["ledger_pending"] == 0
                await emu.faults.drop()
                assert await talk(session, "two") == "echo #2: two"
        (info,) = emu.sessions()
    assert info.turns == 2


async def test_resolve_audio_asks_the_emulators_models_list(emulator: Emulator) -> None:
    """resolve('audio') lists the emulator's models and picks Gemini 3.8 Live, the preferred one."""
    with trio.fail_after(10):
        model = await resolve("audio", auth=ApiKey("k"), base_url=emulator.http_base_url)
    assert model == "gemini-3.8-live"  # the current family first


async def test_gemini_31_text_goes_as_realtime_input(emulator: Emulator) -> None:
    """send_text on Gemini 3.1 sends realtimeInput.text; the audio reply comes with a transcription."""
    with trio.fail_after(10):
        async with open_session(
            **options(
                emulator, model=G31, response_modalities=["AUDIO"], output_audio_transcription=True
            )
        ) as session:
            assert await talk(session, "ciao") == "echo #1: ciao"


async def test_gateway_path_config_from_a_client_setup(emulator: Emulator) -> None:
    """A client's raw Setup becomes a validated upstream session; its resumption stays ours."""
    from livesvc.wire import GenerationConfig, SessionResumptionConfig

    client_setup = Setup(
        model="models/gemini-live-2.5-flash-preview",
        generation_config=GenerationConfig(response_modalities=["TEXT"]),
        system_instruction=Content(role="user", parts=[Part(text="be brief")]),
        session_resumption=SessionResumptionConfig(handle="the-clients-own-handle"),
    )
    config = config_from_setup(client_setup, api_key="k", base_url=emulator.url, random_seed=3)
    with trio.fail_after(10):
        async with open_session(config=config) as session:
            assert session.prepared.setup.system_instruction == client_setup.system_instruction
            sr = session.prepared.setup.session_resumption
            assert sr is not None
            assert sr.handle is None  # the client's handle never goes upstream
            assert await talk(session, "relay") == "echo #1: relay"
            assert session.session_handle is not None


async def test_wss_with_a_private_ca(tmp_path: Any) -> None:
    """The production path: wss:// with TLS verification against the emulator's own CA."""
    from livesvc.emulator import client_ssl_context, write_self_signed

    tls = await trio.to_thread.run_sync(write_self_signed, tmp_path)
    assert tls.ca_file is not None
    context = await trio.to_thread.run_sync(client_ssl_context, tls.ca_file)
    async with open_emulator(emulator_config(tls=tls)) as emu:
        assert emu.url.startswith("wss://")
        with trio.fail_after(10):
            async with open_session(**options(emu, ssl_context=context)) as session:
                assert await talk(session, "secure") == "echo #1: secure"
