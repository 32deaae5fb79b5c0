"""Drops and ``goAway`` behind the gateway, as its client sees them.

A raw Live client (trio-websocket) talks text turns to ``livesvc serve``, whose
upstream is the emulator in its own process. Faults hit the upstream connection
through the emulator's control API; the client only sees its answers arrive late.

* baseline: a turn's round trip (``clientContent`` up, first reply chunk down);
* drop: the upstream connection is stalled, the client sends a turn, the upstream
  is dropped; time from the drop to the first reply chunk of that turn;
* goAway: the emulator sends ``goAway`` to the idle upstream session and the client
  sends a turn at once; its round trip minus the baseline median is the
  client-visible gap of the handover.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import trio
import trio_websocket

from bench import _gateway, _nginx
from bench._procs import spawn, wait_port
from bench._stats import percentile, summary
from bench._upstream import READY as UPSTREAM_READY
from bench._upstream import upstream_argv
from livesvc.emulator import live_path
from livesvc.wire import (
    ClientContent,
    ClientMessage,
    Content,
    GenerationConfig,
    Part,
    Setup,
    decode_server,
    encode_client,
)

__all__ = ["gateway_rounds"]

MODEL = "gemini-live-2.5-flash-preview"
_TIMEOUT = 10.0


class _Client:
    def __init__(self, ws: trio_websocket.WebSocketConnection) -> None:
        self.ws = ws

    async def turn(self, text: str) -> float:
        """Send a user turn; the trio time its reply's first chunk arrived."""
        turn = ClientContent(
            turns=[Content(role="user", parts=[Part(text=text)])], turn_complete=True
        )
        await self.ws.send_message(encode_client(ClientMessage(client_content=turn)).decode())
        first: float | None = None
        with trio.fail_after(_TIMEOUT):
            while True:
                message = decode_server(await self.ws.get_message())
                content = message.server_content
                if content is None:
                    continue
                if first is None and content.model_turn is not None:
                    first = trio.current_time()
                if content.turn_complete and first is not None:
                    return first


async def _upstream_session(control: httpx.AsyncClient) -> str:
    """The one upstream session, once it is connected and idle."""
    with trio.fail_after(_TIMEOUT):
        while True:
            sessions = (await control.get("/_emulator/sessions")).json()["sessions"]
            live = [s for s in sessions if s["connected"] and s["state"] == "idle"]
            if len(live) == 1:
                return str(live[0]["sessionId"])
            await trio.sleep(0.01)


async def gateway_rounds(rounds: int, workdir: Path) -> dict[str, Any]:
    """Drop and goAway rounds through ``livesvc serve``; client-side times in ms."""
    baseline: list[float] = []
    drops: list[float] = []
    go_aways: list[float] = []
    async with spawn(
        "upstream", upstream_argv(reply_interval=0.0), workdir=workdir, ready=UPSTREAM_READY
    ) as upstream:
        assert upstream.ready is not None
        port, admin = _nginx.free_port(), _nginx.free_port()
        conf = _gateway.write_config(
            workdir / "gateway",
            upstream_url=upstream.ready[1],
            port=port,
            admin_port=admin,
            log_level="warning",
        )
        async with spawn(
            "gateway",
            _gateway.gateway_argv(conf),
            workdir=workdir,
            env={_gateway.UPSTREAM_KEY_ENV: _gateway.UPSTREAM_KEY},
        ) as gateway:
            await wait_port(gateway, port)
            url = f"ws://127.0.0.1:{port}{live_path()}?key={_gateway.CLIENT_KEY}"
            base = upstream.ready[1].replace("ws://", "http://")
            async with (
                httpx.AsyncClient(base_url=base, timeout=_TIMEOUT) as control,
                trio_websocket.open_websocket_url(url) as ws,
            ):
                setup = Setup(
                    model=MODEL, generation_config=GenerationConfig(response_modalities=["TEXT"])
                )
                await ws.send_message(encode_client(ClientMessage(setup=setup)).decode())
                with trio.fail_after(_TIMEOUT):
                    while decode_server(await ws.get_message()).setup_complete is None:
                        pass
                client = _Client(ws)
                for index in range(rounds):
                    await _upstream_session(control)
                    sent = trio.current_time()
                    baseline.append((await client.turn(f"b{index}") - sent) * 1000)
                    # drop: the turn waits in the gateway's ledger while the upstream is stalled
                    target = await _upstream_session(control)
                    await control.post("/_emulator/faults/stall", json={"sessionId": target})
                    answered: list[float] = []
                    async with trio.open_nursery() as nursery:

                        async def ask(
                            name: str = f"d{index}", into: list[float] = answered
                        ) -> None:
                            into.append(await client.turn(name))

                        nursery.start_soon(ask)
                        await trio.sleep(0.005)
                        dropped = trio.current_time()
                        await control.post("/_emulator/faults/drop", json={"sessionId": target})
                    drops.append((answered[0] - dropped) * 1000)
                    # goAway: a turn sent at once rides over the handover
                    target = await _upstream_session(control)
                    await control.post(
                        "/_emulator/faults/go_away", json={"sessionId": target, "timeLeft": 10}
                    )
                    sent = trio.current_time()
                    go_aways.append((await client.turn(f"g{index}") - sent) * 1000)
    typical = percentile(baseline, 50) or 0.0
    return {
        "rounds": len(baseline),
        "baseline_turn_ms": summary(baseline),
        "drop_to_answer_ms": summary(drops),
        "go_away_turn_ms": summary(go_aways),
        "go_away_gap_ms": summary([max(0.0, g - typical) for g in go_aways]),
    }
