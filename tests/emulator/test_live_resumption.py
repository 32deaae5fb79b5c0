"""Session resumption, connection lifetime and timers (virtual clock where possible)."""

from __future__ import annotations

import trio
import trio.testing
from emulator_testkit import AUDIO_MODEL, TEXT_MODEL, fast_config, live_client, model_text, pcm

from livesvc.emulator import VERTEX, open_emulator
from livesvc.wire import (
    AudioTranscriptionConfig,
    AutomaticActivityDetection,
    Blob,
    GenerationConfig,
    RealtimeInput,
    RealtimeInputConfig,
    ServerMessage,
    SessionResumptionConfig,
)

TEXT = GenerationConfig(response_modalities=["TEXT"])


def _handle(frames: list[ServerMessage]) -> str:
    updates = [f.session_resumption_update for f in frames if f.session_resumption_update]
    handle = updates[-1].new_handle
    assert handle
    return handle


async def _resumable_update(client) -> ServerMessage:
    return (await client.until(lambda f: f.session_resumption_update is not None))[-1]


async def test_resuming_with_a_handle_continues_the_turn_count():
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with live_client(emu.live_url() + "?key=k") as first:
                await first.setup(
                    TEXT_MODEL, generation_config=TEXT, session_resumption=SessionResumptionConfig()
                )
                await first.say("one")
                await first.turn()
                await first.say("two")
                await first.turn()
                handle = (await _resumable_update(first)).session_resumption_update.new_handle
                session_id = emu.sessions()[0].session_id
            async with live_client(emu.live_url() + "?key=k") as second:
                complete = await second.setup(
                    TEXT_MODEL,
                    generation_config=TEXT,
                    session_resumption=SessionResumptionConfig(handle=handle),
                )
                await second.say("three")
                frames = await second.turn()
                [info] = emu.sessions()
    assert complete.setup_complete.session_id == session_id
    assert model_text(frames) == "echo #3: three"
    assert info.connections == 2


async def test_an_older_handle_shows_the_lost_turns():
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with live_client(emu.live_url() + "?key=k") as first:
                await first.setup(
                    TEXT_MODEL, generation_config=TEXT, session_resumption=SessionResumptionConfig()
                )
                after_setup = (await _resumable_update(first)).session_resumption_update.new_handle
                await first.say("one")
                await first.turn()
            async with live_client(emu.live_url() + "?key=k") as second:
                await second.setup(
                    TEXT_MODEL,
                    generation_config=TEXT,
                    session_resumption=SessionResumptionConfig(handle=after_setup),
                )
                await second.say("again")
                frames = await second.turn()
    assert model_text(frames) == "echo #1: again"


async def test_not_resumable_while_generating_then_a_handle_at_the_boundary():
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with live_client(emu.live_url() + "?key=k") as client:
                await client.setup(
                    TEXT_MODEL, generation_config=TEXT, session_resumption=SessionResumptionConfig()
                )
                await _resumable_update(client)
                await client.say("hi")
                frames = await client.turn()
                boundary = await client.recv()
    updates = [f.session_resumption_update for f in frames if f.session_resumption_update]
    assert [(u.resumable, u.new_handle) for u in updates] == [(False, None)]
    assert boundary.session_resumption_update.resumable is True
    assert boundary.session_resumption_update.new_handle


async def test_no_resumption_updates_unless_asked():
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with live_client(emu.live_url() + "?key=k") as client:
                await client.setup(TEXT_MODEL, generation_config=TEXT)
                await client.say("hi")
                frames = await client.turn()
                await client.say("again")
                frames += await client.turn()
    assert not any(f.session_resumption_update for f in frames)


async def test_transparent_on_vertex_reports_the_last_consumed_message_index():
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with live_client(emu.live_url(VERTEX) + "?key=k") as client:
                await client.setup(
                    "publishers/google/models/gemini-live-2.5-flash",
                    generation_config=TEXT,
                    session_resumption=SessionResumptionConfig(transparent=True),
                )
                initial = await _resumable_update(client)
                await client.say("one")  # client message 1 (the setup is 0)
                await client.turn()
                boundary = await client.recv()
    assert initial.session_resumption_update.last_consumed_client_message_index == 0
    assert boundary.session_resumption_update.last_consumed_client_message_index == 1
    assert b'"lastConsumedClientMessageIndex":"1"' in client.raw_frames[-1]


async def test_gemini_paths_never_report_the_index():
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with live_client(emu.live_url() + "?key=k") as client:
                await client.setup(
                    TEXT_MODEL,
                    generation_config=TEXT,
                    session_resumption=SessionResumptionConfig(transparent=True),
                )
                update = await _resumable_update(client)
    assert update.session_resumption_update.last_consumed_client_message_index is None


async def test_a_disconnected_session_is_listed_while_resumable(autojump_clock, memory_emulator):
    emulator = memory_emulator()
    async with emulator.connect() as client:
        await client.setup(
            TEXT_MODEL, generation_config=TEXT, session_resumption=SessionResumptionConfig()
        )
        await _resumable_update(client)
    async with emulator.connect() as other:
        await other.setup(TEXT_MODEL, generation_config=TEXT)
    await trio.testing.wait_all_tasks_blocked()
    [listed] = emulator.core.registry.sessions()  # the non-resumable session is forgotten
    assert listed.resumable
    assert listed.state == "disconnected"
    assert not listed.connected


class TestOnVirtualClock:
    """Lifetimes, expiries and grace periods, asserted at exact virtual times."""

    async def test_go_away_then_close_at_the_lifetime(self, autojump_clock, memory_emulator):
        emulator = memory_emulator(session_lifetime=600.0, go_away_notice=50.0)
        async with emulator.connect() as client:
            start = trio.current_time()
            await client.setup(TEXT_MODEL)
            [go_away] = await client.until(lambda f: f.go_away is not None)
            go_away_at = trio.current_time() - start
            reason = await client.closed()
            closed_at = trio.current_time() - start
        assert go_away.go_away.time_left == "50s"
        assert go_away_at == 550.0
        assert closed_at == 600.0
        assert (reason.code, reason.reason) == (
            1011,
            "Deadline expired before operation could complete.",
        )

    async def test_vertex_closes_with_1000_at_the_lifetime(self, autojump_clock, memory_emulator):
        from livesvc.emulator import live_path

        emulator = memory_emulator(session_lifetime=60.0, go_away_notice=10.0)
        async with emulator.connect(live_path(VERTEX)) as client:
            await client.setup("publishers/google/models/gemini-live-2.5-flash")
            reason = await client.closed()
        assert (reason.code, reason.reason) == (1000, "The operation was cancelled.")

    async def test_handles_expire(self, autojump_clock, memory_emulator):
        emulator = memory_emulator(handle_lifetime=100.0)
        async with emulator.connect() as client:
            await client.setup(TEXT_MODEL, session_resumption=SessionResumptionConfig())
            handle = (await _resumable_update(client)).session_resumption_update.new_handle
        await trio.sleep(99.0)
        async with emulator.connect() as client:
            ok = await client.setup(
                TEXT_MODEL, session_resumption=SessionResumptionConfig(handle=handle)
            )
        await trio.sleep(1.0)
        async with emulator.connect() as client:
            await client.send_json(
                {"setup": {"model": TEXT_MODEL, "sessionResumption": {"handle": handle}}}
            )
            reason = await client.closed()
        assert ok.setup_complete is not None
        assert reason.code == 1007

    async def test_resume_while_the_old_socket_is_open_is_refused_after_the_grace(
        self, autojump_clock, memory_emulator
    ):
        emulator = memory_emulator(resume_grace=3.0)
        async with emulator.connect() as old:
            await old.setup(TEXT_MODEL, session_resumption=SessionResumptionConfig())
            handle = (await _resumable_update(old)).session_resumption_update.new_handle
            async with emulator.connect() as new:
                start = trio.current_time()
                await new.send_json(
                    {"setup": {"model": TEXT_MODEL, "sessionResumption": {"handle": handle}}}
                )
                reason = await new.closed()
                waited = trio.current_time() - start
        assert reason.code == 1011
        assert waited == 3.0

    async def test_resume_succeeds_once_the_old_socket_closes_within_the_grace(
        self, autojump_clock, memory_emulator
    ):
        emulator = memory_emulator(resume_grace=3.0)
        async with emulator.connect() as new, emulator.connect() as old:
            await old.setup(TEXT_MODEL, session_resumption=SessionResumptionConfig())
            handle = (await _resumable_update(old)).session_resumption_update.new_handle
            await new.send_json(
                {"setup": {"model": TEXT_MODEL, "sessionResumption": {"handle": handle}}}
            )
            await trio.sleep(1.0)
            await old.ws.aclose()
            complete = await new.recv()
        assert complete.setup_complete is not None

    async def test_resume_takes_over_from_a_stalled_connection(
        self, autojump_clock, memory_emulator
    ):
        emulator = memory_emulator(resume_grace=3.0)
        async with emulator.connect() as old:
            complete = await old.setup(TEXT_MODEL, session_resumption=SessionResumptionConfig())
            handle = (await _resumable_update(old)).session_resumption_update.new_handle
            await emulator.core.faults.stall(session_id=complete.setup_complete.session_id)
            async with emulator.connect() as new:
                resumed = await new.setup(
                    TEXT_MODEL, session_resumption=SessionResumptionConfig(handle=handle)
                )
                dropped = await old.closed()
        assert resumed.setup_complete.session_id == complete.setup_complete.session_id
        assert dropped.code == 1006

    async def test_speech_ends_when_audio_stops_arriving(self, autojump_clock, memory_emulator):
        emulator = memory_emulator()
        async with emulator.connect() as client:
            await client.setup(
                AUDIO_MODEL,
                input_audio_transcription=AudioTranscriptionConfig(),
                realtime_input_config=RealtimeInputConfig(
                    automatic_activity_detection=AutomaticActivityDetection(silence_duration_ms=800)
                ),
            )
            await client.send(
                RealtimeInput(audio=Blob(data=pcm(3000, 300), mime_type="audio/pcm;rate=16000"))
            )
            sent_at = trio.current_time()
            [transcript] = await client.until(lambda f: f.server_content is not None)
            ended_after = trio.current_time() - sent_at
        assert transcript.server_content.input_transcription.text == "<audio 300 ms>"
        assert ended_after == 0.8
