"""``livesvc sessions``: the operator's table of a running daemon's sessions."""

from __future__ import annotations

import argparse
import io
import json
import re
from pathlib import Path

import pytest
import trio

from livesvc.cli import build_parser
from livesvc.daemon._daemon import Daemon
from livesvc.sessions_view import _run

from .e2e_support import ADMIN_TOKEN, Conversation, config_text, in_thread, run_sdk

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def args(daemon: Daemon, **overrides: object) -> argparse.Namespace:
    values = {
        "admin": daemon.admin_url,
        "token": ADMIN_TOKEN,
        "status": None,
        "watch": None,
        "json": False,
    }
    values.update(overrides)
    return argparse.Namespace(**values)


async def test_a_live_session_shows_its_key_model_and_turns(daemon: Daemon):
    got: dict[str, object] = {}

    async def script(chat: Conversation):
        await chat.say("one")
        await chat.say("two")
        out = io.StringIO()
        # The SDK runs on asyncio in a worker thread: the CLI's blocking call is fine here.
        got["code"] = _run(args(daemon), out=out)
        got["table"] = out.getvalue()
        got["id"] = chat.session_id

    assert daemon.gateway_url is not None
    assert daemon.ca_file is not None
    with trio.fail_after(40):
        await in_thread(run_sdk, daemon.gateway_url, daemon.ca_file, script)
    header, row = str(got["table"]).splitlines()[:2]
    assert header.split() == [
        "SESSION",
        "STATUS",
        "KEY",
        "MODEL",
        "AGE",
        "TURNS",
        "RECONNECTS",
        "LAST",
        "ERROR",
    ]
    assert row.split()[:4] == [got["id"], "active", "k0", "gemini-live-2.5-flash-preview"]
    assert row.split()[5] == "2"
    assert got["code"] == 0


async def test_a_wrong_token_and_an_unreachable_api_are_clear_errors(
    daemon: Daemon, capsys: pytest.CaptureFixture[str]
):
    code = await trio.to_thread.run_sync(lambda: _run(args(daemon, token="wrong")))
    assert code == 1
    assert "refused the token" in capsys.readouterr().err
    code = await trio.to_thread.run_sync(lambda: _run(args(daemon, admin="http://127.0.0.1:1")))
    assert code == 1
    assert "cannot reach the admin API at http://127.0.0.1:1" in capsys.readouterr().err


async def test_watch_redraws_until_interrupted(daemon: Daemon):
    out = io.StringIO()
    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == 2:
            raise KeyboardInterrupt

    code = await trio.to_thread.run_sync(
        lambda: _run(args(daemon, watch=0.5), out=out, sleep=sleep)
    )
    assert code == 0
    assert pauses == [0.5, 0.5]
    assert out.getvalue().count("\x1b[H\x1b[2J") == 2
    assert out.getvalue().count("(no sessions)") == 2


def cli_config(tmp_path: Path, *, admin_port: int, token_line: str) -> Path:
    """A config as an operator's host has it: the daemon's [admin] address and token source."""
    text = config_text(state_dir=str(tmp_path / "state"))
    text = re.sub(r'token_hash = "[^"]*"', token_line, text, count=1)
    text = text.replace("[admin]\nport = 0\n", f"[admin]\nport = {admin_port}\n", 1)
    path = tmp_path / "operator.toml"
    path.write_text(text)
    return path


async def test_the_config_file_gives_the_admin_address_and_the_token(
    daemon: Daemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    port = int((daemon.admin_url or "").rsplit(":", 1)[1])
    path = cli_config(tmp_path, admin_port=port, token_line='token_env = "OPSVIEW_ADMIN_TOKEN"')
    monkeypatch.setenv("OPSVIEW_ADMIN_TOKEN", ADMIN_TOKEN)
    out = io.StringIO()
    code = await trio.to_thread.run_sync(
        lambda: _run(args(daemon, admin=None, token=None, config=str(path), json=True), out=out)
    )
    assert code == 0
    assert json.loads(out.getvalue()) == []  # reached, and the token accepted: no session yet


async def test_a_config_with_only_a_token_hash_says_where_to_give_the_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    path = cli_config(
        tmp_path, admin_port=8081, token_line='token_hash = "sha256:' + "0" * 64 + '"'
    )
    code = _run(
        argparse.Namespace(
            admin=None, token=None, config=str(path), status=None, watch=None, json=False
        )
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "give --token (or set LIVESVC_ADMIN_TOKEN, or --config a file whose [admin]" in err


def test_admin_token_is_the_long_name_of_token():
    parsed = build_parser().parse_args(["sessions", "--admin-token", "t", "--config", "c.toml"])
    assert (parsed.token, parsed.config) == ("t", "c.toml")
