"""Fault injection at run time (Python API and control API) and at start-up."""

from __future__ import annotations

import httpx
import pytest
import trio
import trio_websocket
from emulator_testkit import TEXT_MODEL, fast_config, live_client, model_text
from structlog.testing import capture_logs

from livesvc._server import Headers, HttpError, HttpRequest
from livesvc.emulator import FaultRule, UnknownSessionError, open_emulator, parse_fault
from livesvc.emulator._control import _loopback_only
from livesvc.wire import GenerationConfig, SessionResumptionConfig

TEXT = GenerationConfig(response_modalities=["TEXT"])


async def test_drop_ends_the_connection_without_a_close_frame():
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with live_client(emu.live_url() + "?key=k") as client:
                await client.setup(TEXT_MODEL)
                with capture_logs() as logs:
                    affected = await emu.faults.drop()
                reason = await client.closed()
    assert affected == 1
    assert reason.code == 1006
    assert [e["fault"] for e in logs if e["event"] == "emulator.fault_injected"] == ["drop"]


async def test_close_with_a_code_and_reason_targets_one_session():
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with (
                live_client(emu.live_url() + "?key=k") as a,
                live_client(emu.live_url() + "?key=k") as b,
            ):
                sid_a = (
                    await a.setup(TEXT_MODEL, generation_config=TEXT)
                ).setup_complete.session_id
                await b.setup(TEXT_MODEL, generation_config=TEXT)
                await emu.faults.close(4001, "token expired", session_id=sid_a)
                reason = await a.closed()
                await b.say("still fine")
                frames = await b.turn()
    assert (reason.code, reason.reason) == (4001, "token expired")
    assert model_text(frames) == "echo #1: still fine"


async def test_close_defaults_to_googles_reason():
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with live_client(emu.live_url() + "?key=k") as client:
                await client.setup(TEXT_MODEL)
                await emu.faults.close(1011)
                reason = await client.closed()
    assert (reason.code, reason.reason) == (1011, "Internal error encountered.")


async def test_unknown_session_and_bad_codes_are_errors():
    async with open_emulator(fast_config()) as emu:
        with pytest.raises(UnknownSessionError):
            await emu.faults.drop(session_id="emu-nope")
        with pytest.raises(ValueError, match="close frame"):
            await emu.faults.close(1006)
        with pytest.raises(ValueError, match="HTTP refusal"):
            await emu.faults.refuse(429, session_id="emu-x")


async def test_go_away_now_then_close_after_time_left(autojump_clock, memory_emulator):
    emulator = memory_emulator()
    async with emulator.connect() as client:
        await client.setup(TEXT_MODEL)
        start = trio.current_time()
        await emulator.core.faults.go_away(time_left=2.5)
        [go_away] = await client.until(lambda f: f.go_away is not None)
        reason = await client.closed()
        closed_after = trio.current_time() - start
    assert go_away.go_away.time_left == "2.5s"
    assert closed_after == 2.5
    assert reason.code == 1011


async def test_delay_holds_back_every_outgoing_frame(autojump_clock, memory_emulator):
    emulator = memory_emulator()
    async with emulator.connect() as client:
        await client.setup(TEXT_MODEL, generation_config=TEXT)
        await emulator.core.faults.delay(0.5)
        sent = trio.current_time()
        await client.say("hi")
        first = await client.recv()
        first_after = trio.current_time() - sent
        frames = [first, *await client.turn()]
        await emulator.core.faults.delay(0)
        sent = trio.current_time()
        await client.say("again")
        await client.recv()
        undelayed_after = trio.current_time() - sent
    assert first_after == 0.5
    assert model_text(frames) == "echo #1: hi"
    assert undelayed_after == 0.0


async def test_stall_stops_answering_pings_until_released(autojump_clock, memory_emulator):
    emulator = memory_emulator()
    async with emulator.connect() as client:
        await client.setup(TEXT_MODEL)
        await emulator.core.faults.stall(seconds=5.0)
        start = trio.current_time()
        await client.ws.ping(b"p1")
        answered_after = trio.current_time() - start
        await emulator.core.faults.stall()
        with trio.move_on_after(60) as timeout:
            await client.ws.ping(b"p2")
    assert answered_after == 5.0
    assert timeout.cancelled_caught


async def test_refuse_with_a_close_code_for_a_period(autojump_clock, memory_emulator):
    emulator = memory_emulator()
    await emulator.core.faults.refuse(1013, seconds=10.0)
    async with emulator.connect() as client:
        await client.send_json({"setup": {"model": TEXT_MODEL}})
        reason = await client.closed()
    await trio.sleep(10.0)
    async with emulator.connect() as client:
        complete = await client.setup(TEXT_MODEL)
    assert reason.code == 1013
    assert complete.setup_complete is not None


async def test_refuse_with_an_http_status_rejects_the_handshake():
    async with open_emulator(fast_config()) as emu:
        await emu.faults.refuse(429, count=1)
        with trio.fail_after(10):
            with pytest.raises(trio_websocket.ConnectionRejected) as rejected:
                async with live_client(emu.live_url() + "?key=k"):
                    pass
            async with live_client(emu.live_url() + "?key=k") as client:
                complete = await client.setup(TEXT_MODEL)
    assert rejected.value.status_code == 429
    assert b"RESOURCE_EXHAUSTED" in (rejected.value.body or b"")
    assert complete.setup_complete is not None


async def test_refusal_of_one_session_only_blocks_its_resumption():
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with live_client(emu.live_url() + "?key=k") as client:
                complete = await client.setup(
                    TEXT_MODEL, session_resumption=SessionResumptionConfig()
                )
                handle = (await client.recv()).session_resumption_update.new_handle
            await emu.faults.refuse(1011, session_id=complete.setup_complete.session_id)
            async with live_client(emu.live_url() + "?key=k") as fresh:
                fresh_complete = await fresh.setup(TEXT_MODEL)
            async with live_client(emu.live_url() + "?key=k") as resumed:
                await resumed.send_json(
                    {"setup": {"model": TEXT_MODEL, "sessionResumption": {"handle": handle}}}
                )
                reason = await resumed.closed()
    assert fresh_complete.setup_complete is not None
    assert reason.code == 1011


class TestControlApi:
    """The same faults over HTTP, for clients in other processes or languages."""

    async def test_sessions_listing_and_faults_over_http(self):
        async with open_emulator(fast_config()) as emu:
            with trio.fail_after(10):
                async with (
                    live_client(emu.live_url() + "?key=k") as client,
                    httpx.AsyncClient(base_url=emu.http_base_url) as http,
                ):
                    sid = (
                        await client.setup(TEXT_MODEL, generation_config=TEXT)
                    ).setup_complete.session_id
                    await client.say("hi")
                    await client.turn()
                    listing = (await http.get("/_emulator/sessions")).json()
                    response = await http.post(
                        "/_emulator/faults/close",
                        json={"sessionId": sid, "code": 4000, "reason": "bye"},
                    )
                    reason = await client.closed()
                    missing = await http.post("/_emulator/faults/drop", json={"sessionId": "nope"})
                    bad = await http.post("/_emulator/faults/delay", json={"seconds": "x"})
                    health = await http.get("/_emulator/healthz")
        assert listing == {
            "sessions": [
                {
                    "sessionId": sid,
                    "model": "gemini-live-2.5-flash-preview",
                    "backend": "gemini",
                    "turns": 1,
                    "state": "idle",
                    "connected": True,
                    "connections": 1,
                    "resumable": False,
                }
            ]
        }
        assert response.json() == {"affected": 1}
        assert (reason.code, reason.reason) == (4000, "bye")
        assert missing.status_code == 404
        assert bad.status_code == 400
        assert health.json() == {"status": "ok"}

    async def test_refusals_are_listed_and_cleared(self):
        async with (
            open_emulator(fast_config()) as emu,
            httpx.AsyncClient(base_url=emu.http_base_url) as http,
        ):
            with trio.fail_after(10):
                await http.post("/_emulator/faults/refuse", json={"code": 1013, "count": 2})
                await http.post("/_emulator/faults/delay", json={"seconds": 0.25})
                active = (await http.get("/_emulator/faults")).json()
                await http.delete("/_emulator/faults")
                cleared = (await http.get("/_emulator/faults")).json()
        assert active["refusals"][0]["code"] == 1013
        assert active["refusals"][0]["remaining"] == 2
        assert active["delays"] == [{"sessionId": None, "seconds": 0.25}]
        assert cleared == {"refusals": [], "delays": []}

    async def test_control_api_is_loopback_only(self):
        def request(host: str) -> HttpRequest:
            return HttpRequest(
                method="GET", path="/", query={}, headers=Headers([]), body=b"", remote=(host, 1)
            )

        _loopback_only(request("127.0.0.1"))
        _loopback_only(request("::1"))
        with pytest.raises(HttpError) as denied:
            _loopback_only(request("10.1.2.3"))
        assert denied.value.status == 403


class TestStartupRules:
    """``--fault`` rules apply to every connection."""

    async def test_drop_after_a_turn(self):
        async with open_emulator(fast_config(faults=(parse_fault("drop:turn=1"),))) as emu:
            with trio.fail_after(10):
                async with live_client(emu.live_url() + "?key=k") as client:
                    await client.setup(TEXT_MODEL, generation_config=TEXT)
                    await client.say("hi")
                    await client.turn()
                    reason = await client.closed()
        assert reason.code == 1006

    async def test_close_after_seconds(self, autojump_clock, memory_emulator):
        emulator = memory_emulator(faults=(FaultRule(kind="close", code=1011, after=30.0),))
        async with emulator.connect() as client:
            await client.setup(TEXT_MODEL)
            start = trio.current_time()
            reason = await client.closed()
            assert trio.current_time() - start == 30.0
        assert (reason.code, reason.reason) == (1011, "Internal error encountered.")

    async def test_refuse_the_first_connection(self, autojump_clock, memory_emulator):
        emulator = memory_emulator(faults=(parse_fault("refuse:code=1013,count=1"),))
        async with emulator.connect() as client:
            await client.send_json({"setup": {"model": TEXT_MODEL}})
            reason = await client.closed()
        async with emulator.connect() as client:
            complete = await client.setup(TEXT_MODEL)
        assert reason.code == 1013
        assert complete.setup_complete is not None

    @pytest.mark.parametrize(
        ("spec", "message"),
        [
            ("explode", "unknown fault kind"),
            ("drop", "needs a trigger"),
            ("delay:after=1", "needs seconds"),
            ("close:code=1006,after=1", "cannot be sent"),
            ("refuse:code=200", "refuse code"),
            ("drop:after=1,turn=2", "either after or turn"),
            ("drop:when=now", "unknown fault option"),
            ("drop:after", "expected key=value"),
        ],
    )
    def test_bad_specs_are_rejected(self, spec, message):
        with pytest.raises(ValueError, match=message):
            parse_fault(spec)
