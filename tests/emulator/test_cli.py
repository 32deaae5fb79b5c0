"""``livesvc emulator`` as a user runs it: prints its URL, serves, stops cleanly on Ctrl-C."""

from __future__ import annotations

import re
import signal
import ssl
import subprocess
import sys

import pytest
import trio
import trio_websocket
from emulator_testkit import TEXT_MODEL, LiveClient

from livesvc.cli import main
from livesvc.wire import GenerationConfig


async def _read_line(stream: trio.abc.ReceiveStream, buffer: bytearray) -> str:
    while b"\n" not in buffer:
        chunk = await stream.receive_some()
        if not chunk:
            raise AssertionError(f"output ended early: {bytes(buffer)!r}")
        buffer += chunk
    line, _, rest = bytes(buffer).partition(b"\n")
    buffer[:] = rest
    return line.decode()


async def test_runs_with_self_signed_tls_and_exits_0_on_sigint(tmp_path):
    command = [
        sys.executable,
        "-m",
        "livesvc",
        "emulator",
        "--tls-self-signed",
        str(tmp_path / "tls"),
        "--api-key",
        "cli-key",
        "--reply-interval",
        "0",
        "--log-level",
        "warning",
    ]
    with trio.fail_after(30):
        process = await trio.lowlevel.open_process(
            command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        try:
            assert process.stdout is not None
            buffer = bytearray()
            listening = await _read_line(process.stdout, buffer)
            await _read_line(process.stdout, buffer)  # SDK base_url
            trust = await _read_line(process.stdout, buffer)
            match = re.fullmatch(
                r"livesvc emulator listening on wss://127\.0\.0\.1:(\d+)", listening
            )
            assert match, listening
            ca_file = trust.split(": ", 1)[1]
            context = ssl.create_default_context(cafile=ca_file)
            path = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
            async with trio_websocket.open_websocket(
                "127.0.0.1", int(match[1]), path + "?key=cli-key", use_ssl=context
            ) as ws:
                client = LiveClient(ws)
                await client.setup(
                    TEXT_MODEL, generation_config=GenerationConfig(response_modalities=["TEXT"])
                )
                await client.type_text("over TLS")
                frames = await client.turn()
            process.send_signal(signal.SIGINT)
            code = await process.wait()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert code == 0
    assert ca_file == str(tmp_path / "tls" / "ca.pem")
    assert (
        "".join(
            p.text or ""
            for f in frames
            if f.server_content and f.server_content.model_turn
            for p in f.server_content.model_turn.parts or []
        )
        == "echo #1: over TLS"
    )


def test_bad_fault_spec_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["emulator", "--fault", "explode:after=1"])
    assert exit_.value.code == 2
    assert "unknown fault kind 'explode'" in capsys.readouterr().err


def test_cert_without_key_is_a_usage_error(capsys, tmp_path):
    assert main(["emulator", "--tls-cert", str(tmp_path / "c.pem")]) == 2
    assert "--tls-key" in capsys.readouterr().err
