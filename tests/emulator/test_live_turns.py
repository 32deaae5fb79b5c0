"""The deterministic model: replies, modalities, audio turns, barge-in, usage."""

from __future__ import annotations

import trio
from emulator_testkit import (
    AUDIO_MODEL,
    TEXT_MODEL,
    audio_bytes,
    fast_config,
    live_client,
    model_text,
    output_transcript,
    pcm,
    turn_complete,
)

from livesvc.emulator import TEXT_INPUT_REALTIME, VERTEX, ModelSpec, open_emulator
from livesvc.wire import (
    ActivityEnd,
    ActivityStart,
    AudioTranscriptionConfig,
    AutomaticActivityDetection,
    Blob,
    ClientContent,
    Content,
    GenerationConfig,
    HistoryConfig,
    Part,
    RealtimeInput,
    RealtimeInputConfig,
)

TEXT = GenerationConfig(response_modalities=["TEXT"])


async def test_text_turns_echo_with_a_turn_counter_in_several_chunks():
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with live_client(emu.live_url() + "?key=k") as client:
                await client.setup(TEXT_MODEL, generation_config=TEXT)
                await client.say("hello there")
                first = await client.turn()
                await client.type_text("second")
                second = await client.turn()
    assert model_text(first) == "echo #1: hello there"
    assert model_text(second) == "echo #2: second"
    assert sum(1 for f in first if f.server_content and f.server_content.model_turn) > 1


async def test_turn_ends_with_generation_complete_then_turn_complete_and_usage():
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with live_client(emu.live_url() + "?key=k") as client:
                await client.setup(TEXT_MODEL, generation_config=TEXT)
                await client.say("hi")
                frames = await client.turn()
    generation = [
        i for i, f in enumerate(frames) if f.server_content and f.server_content.generation_complete
    ]
    last = frames[-1]
    assert generation == [len(frames) - 2]
    assert last.usage_metadata is not None
    assert last.usage_metadata.response_token_count == 3  # "echo #1: hi" is 11 characters
    assert last.usage_metadata.candidates_token_count is None


async def test_vertex_sessions_report_usage_with_vertex_names():
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with live_client(emu.live_url(VERTEX) + "?key=k") as client:
                await client.setup(
                    "publishers/google/models/gemini-live-2.5-flash", generation_config=TEXT
                )
                await client.say("hi")
                frames = await client.turn()
    usage = frames[-1].usage_metadata
    assert usage is not None
    assert usage.candidates_token_count == 3
    assert usage.response_token_count is None


async def test_audio_replies_are_24khz_pcm_with_transcripts():
    config = fast_config(audio_ms_per_char=50, audio_chunk_ms=100)
    async with open_emulator(config) as emu:
        with trio.fail_after(10):
            async with live_client(emu.live_url() + "?key=k") as client:
                await client.setup(
                    AUDIO_MODEL, output_audio_transcription=AudioTranscriptionConfig()
                )
                await client.say("hi")
                short = await client.turn()
                await client.say("a much longer sentence")
                long = await client.turn()
    mimes = {
        p.inline_data.mime_type
        for f in short
        if f.server_content and f.server_content.model_turn
        for p in f.server_content.model_turn.parts or []
    }
    assert mimes == {"audio/pcm;rate=24000"}
    assert output_transcript(short) == "echo #1: hi"
    assert output_transcript(long) == "echo #2: a much longer sentence"
    # 50 ms per character, 24 kHz 16-bit mono: 2400 bytes per 50 ms
    assert len(audio_bytes(short)) == len("echo #1: hi") * 2400
    assert len(audio_bytes(long)) == len("echo #2: a much longer sentence") * 2400


async def test_spoken_turn_ends_on_silence_with_input_transcription():
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with live_client(emu.live_url() + "?key=k") as client:
                await client.setup(
                    AUDIO_MODEL,
                    input_audio_transcription=AudioTranscriptionConfig(),
                    output_audio_transcription=AudioTranscriptionConfig(),
                    realtime_input_config=RealtimeInputConfig(
                        automatic_activity_detection=AutomaticActivityDetection(
                            silence_duration_ms=200
                        )
                    ),
                )
                speech = pcm(3000, 700) + pcm(0, 300)
                for offset in range(0, len(speech), 3200):  # 100 ms chunks
                    await client.send(
                        RealtimeInput(
                            audio=Blob(
                                data=speech[offset : offset + 3200],
                                mime_type="audio/pcm;rate=16000",
                            )
                        )
                    )
                frames = await client.turn()
    inputs = [
        f.server_content.input_transcription.text
        for f in frames
        if f.server_content and f.server_content.input_transcription
    ]
    assert inputs == ["<audio 700 ms>"]
    assert output_transcript(frames) == "echo #1: <audio 700 ms>"


async def test_audio_stream_end_completes_the_spoken_turn():
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with live_client(emu.live_url() + "?key=k") as client:
                await client.setup(
                    AUDIO_MODEL, output_audio_transcription=AudioTranscriptionConfig()
                )
                await client.send(
                    RealtimeInput(audio=Blob(data=pcm(3000, 400), mime_type="audio/pcm;rate=16000"))
                )
                await client.send(RealtimeInput(audio_stream_end=True))
                frames = await client.turn()
    assert output_transcript(frames) == "echo #1: <audio 400 ms>"


async def test_manual_activity_turn_measures_the_audio_between_start_and_end():
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with live_client(emu.live_url() + "?key=k") as client:
                await client.setup(
                    AUDIO_MODEL,
                    output_audio_transcription=AudioTranscriptionConfig(),
                    realtime_input_config=RealtimeInputConfig(
                        automatic_activity_detection=AutomaticActivityDetection(disabled=True)
                    ),
                )
                await client.send(RealtimeInput(activity_start=ActivityStart()))
                # silence counts too: the client decides where the turn ends
                await client.send(
                    RealtimeInput(audio=Blob(data=pcm(0, 250), mime_type="audio/pcm;rate=16000"))
                )
                await client.send(
                    RealtimeInput(audio=Blob(data=pcm(0, 250), mime_type="audio/pcm;rate=16000"))
                )
                await client.send(RealtimeInput(activity_end=ActivityEnd()))
                frames = await client.turn()
    assert output_transcript(frames) == "echo #1: <audio 500 ms>"


async def test_activity_signals_with_automatic_detection_on_close_1007():
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with live_client(emu.live_url() + "?key=k") as client:
                await client.setup(AUDIO_MODEL)
                await client.send(RealtimeInput(activity_start=ActivityStart()))
                reason = await client.closed()
    assert reason.code == 1007


async def test_history_turns_count_and_the_reply_answers_the_last_user_turn():
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with live_client(emu.live_url() + "?key=k") as client:
                await client.setup(TEXT_MODEL, generation_config=TEXT)
                await client.send(
                    ClientContent(
                        turns=[
                            Content(role="user", parts=[Part(text="a")]),
                            Content(role="model", parts=[Part(text="b")]),
                            Content(role="user", parts=[Part(text="c")]),
                        ],
                        turn_complete=True,
                    )
                )
                frames = await client.turn()
    assert model_text(frames) == "echo #2: c"


async def test_realtime_only_model_refuses_client_content_after_history():
    catalogue = (
        ModelSpec(
            name="strict-live", response_modalities=("TEXT",), text_input=TEXT_INPUT_REALTIME
        ),
    )
    async with open_emulator(fast_config(catalogue=catalogue)) as emu:
        with trio.fail_after(10):
            async with live_client(emu.live_url() + "?key=k") as client:
                await client.setup(
                    "models/strict-live",
                    generation_config=TEXT,
                    history_config=HistoryConfig(initial_history_in_client_content=True),
                )
                await client.say("history is fine")  # the history: no reply
                await client.type_text("realtime text is fine")
                realtime = await client.turn()
                await client.say("but not mid-session")
                reason = await client.closed()
    # The history's user turn counts (#1) but asks for no reply of its own.
    assert model_text(realtime) == "echo #2: realtime text is fine"
    assert reason.code == 1007


async def test_barge_in_interrupts_the_reply(autojump_clock, memory_emulator):
    emulator = memory_emulator(reply_interval=1.0, text_chunk_chars=4)
    async with emulator.connect() as client:
        await client.setup(TEXT_MODEL, generation_config=TEXT)
        await client.say("a long first question")
        first_chunk = await client.until(lambda f: f.server_content and f.server_content.model_turn)
        await client.say("stop")
        cut = await client.turn()
        second = await client.turn()
    assert model_text(first_chunk) == "echo"
    assert cut[-2].server_content.interrupted is True
    assert cut[-1].server_content.turn_complete is True
    assert model_text(second) == "echo #2: stop"


async def test_speech_start_interrupts_the_reply(autojump_clock, memory_emulator):
    emulator = memory_emulator(reply_interval=1.0)
    async with emulator.connect() as client:
        await client.setup(AUDIO_MODEL)
        await client.say("talk for a while")
        await client.until(lambda f: f.server_content and f.server_content.model_turn)
        await client.send(
            RealtimeInput(audio=Blob(data=pcm(3000, 100), mime_type="audio/pcm;rate=16000"))
        )
        frames = await client.turn()
    assert frames[-2].server_content.interrupted is True


async def test_no_interruption_queues_the_new_turn(autojump_clock, memory_emulator):
    emulator = memory_emulator(reply_interval=1.0, text_chunk_chars=100)
    async with emulator.connect() as client:
        await client.setup(
            TEXT_MODEL,
            generation_config=TEXT,
            realtime_input_config=RealtimeInputConfig(activity_handling="NO_INTERRUPTION"),
        )
        await client.say("one")
        await client.say("two")
        first = await client.turn()
        second = await client.turn()
    assert not any(f.server_content and f.server_content.interrupted for f in first)
    assert model_text(first) == "echo #1: one"
    assert model_text(second) == "echo #2: two"


async def test_malformed_frame_closes_only_that_connection():
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with (
                live_client(emu.live_url() + "?key=k") as good,
                live_client(emu.live_url() + "?key=k") as bad,
            ):
                await good.setup(TEXT_MODEL, generation_config=TEXT)
                await bad.setup(TEXT_MODEL, generation_config=TEXT)
                await bad.ws.send_message('{"realtimeInput": {"audio": {"data": 5}}}')
                reason = await bad.closed()
                await good.say("still here")
                frames = await good.turn()
    assert reason.code == 1007
    assert "realtimeInput" in (reason.reason or "")
    assert model_text(frames) == "echo #1: still here"
    assert turn_complete(frames[-1])
