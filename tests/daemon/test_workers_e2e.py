"""End to end: ``livesvc serve`` with ``workers = 2`` as real processes on one port.

The master's merged admin API says which worker runs a session (its
``worker`` field). The kernel picks the worker of each connection on the shared
port, so a test that needs a resume on a given worker connects to that worker's
own address (``direct_url`` in ``master.worker_ready``): the move happens on
purpose, every run.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from google.genai import types

from livesvc.emulator import Emulator, EmulatorConfig, run_emulator

from .e2e_support import (
    ADMIN_TOKEN,
    NEW_KEY,
    RESUMABLE,
    UPSTREAM_KEY,
    Conversation,
    DaemonProcess,
    config_text,
    in_thread,
    run_sdk,
    sdk_on,
    start_serve,
    stop_serve,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


async def say_until_handle(chat: Conversation, text: str) -> str:
    """Say ``text``; if no handle came yet, one more turn (the handle of turn 1 follows its end)."""
    reply = await chat.say(text)
    if chat.handle is None:
        await chat.say("and again")
    assert chat.handle is not None
    return reply


def resuming(handle: str) -> types.LiveConnectConfig:
    return types.LiveConnectConfig(
        response_modalities=["TEXT"],
        session_resumption=types.SessionResumptionConfig(handle=handle),
    )


def write_config(path: Path, *, workers: int = 2, upstream: Emulator | None = None, **kw) -> None:
    if upstream is None:
        text = config_text(state_dir=str(path.parent / "state"), **kw)
    else:
        text = config_text(
            state_dir=str(path.parent / "state"),
            upstream="gemini",
            upstream_url=upstream.http_base_url,
            **kw,
        )
    path.write_text(text.replace("[service]\n", f"[service]\nworkers = {workers}\n", 1))


async def admin(master: DaemonProcess, path: str, method: str = "GET") -> httpx.Response:
    async with httpx.AsyncClient(base_url=master.admin_url, timeout=10) as http:
        return await http.request(method, path, headers={"authorization": f"Bearer {ADMIN_TOKEN}"})


async def admin_post(master: DaemonProcess, path: str, body: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=master.admin_url, timeout=10) as http:
        return await http.post(path, json=body, headers={"authorization": f"Bearer {ADMIN_TOKEN}"})


async def worker_of(master: DaemonProcess, session_id: str) -> str | None:
    view = (await admin(master, f"/v1/sessions/{session_id}")).json()
    return view.get("worker")


def direct_url(master: DaemonProcess, worker: str) -> str:
    """The address of one worker alone (its latest incarnation's)."""
    ready = [
        e
        for e in master.events
        if e.get("event") == "master.worker_ready" and str(e["worker"]) == worker
    ]
    assert ready, f"worker {worker} was never ready"
    assert ready[-1]["direct_url"], f"worker {worker} announced no direct address"
    return str(ready[-1]["direct_url"])


def sdk_on_worker(master: DaemonProcess, worker: str, script: Any, **kwargs: Any) -> Any:
    """Run an SDK conversation against one worker alone, through its direct address."""
    return in_thread(run_sdk, direct_url(master, worker), master.ca_file, script, **kwargs)


def other(worker: str | None) -> str:
    assert worker in ("0", "1")
    return "1" if worker == "0" else "0"


def taken_over(master: DaemonProcess) -> list[dict[str, Any]]:
    return [e for e in master.events if e.get("event") == "gateway.session_taken_over"]


def started_events(master: DaemonProcess, mark: int = 0) -> list[dict[str, Any]]:
    return [e for e in master.events[mark:] if e.get("event") == "session.started"]


async def test_two_workers_serve_one_port_and_the_master_merges_their_admin_views(
    tmp_path: Path, nursery: trio.Nursery
):
    path = tmp_path / "live.toml"
    write_config(path)
    master = await start_serve(path, nursery)

    async def hello(chat: Conversation):
        return chat.session_id, await chat.say("hello")

    with trio.fail_after(60):
        results: list[tuple[str, str]] = []

        async def one() -> None:
            # Resumable, so each session waits for its client after it closes.
            results.append(await sdk_on(master, hello, config=RESUMABLE))

        async with trio.open_nursery() as clients:
            for _ in range(12):
                clients.start_soon(one)
        ready = await admin(master, "/readyz")
        metrics = (await admin(master, "/metrics")).text
        sessions = (await admin(master, "/v1/sessions")).json()["sessions"]
        detached = (await admin(master, "/v1/sessions?status=detached")).json()["sessions"]
        # Closing through the master reaches the worker that runs the session.
        victim = sessions[0]["session_id"]
        closed = await admin(master, f"/v1/sessions/{victim}", method="DELETE")
        await master.wait_for("gateway.session_closed", session_id=victim, reason="admin")
        assert await stop_serve(master) == 0
    assert {reply for _, reply in results} == {"echo #1: hello"}
    assert (ready.status_code, ready.json()["checks"]) == (
        200,
        {"worker_0": True, "worker_1": True, "accepting": True},
    )
    # Both workers accepted clients on the one port, and each says so in the merged metrics.
    for worker in ("0", "1"):
        assert f'livesvc_sessions_started_total{{worker="{worker}",kind="new"}}' in metrics
    assert 'livesvc_workers_running{worker="master"} 2.0' in metrics
    assert metrics.count("# TYPE livesvc_sessions_started_total counter") == 1
    # Every session once, with the worker that runs it (they wait out their grace period).
    assert sorted(s["session_id"] for s in sessions) == sorted(sid for sid, _ in results)
    assert {s["worker"] for s in sessions} == {"0", "1"}
    assert len(detached) == 12
    assert closed.json() == {"sessionId": victim, "closed": True}
    # SIGTERM drained both workers, which left every session resumable in the store.
    drained = {
        e["worker"] for e in master.events if e.get("event") == "daemon.draining" and "worker" in e
    }
    assert drained == {0, 1}
    rows = await trio.to_thread.run_sync(
        lambda: (
            sqlite3.connect(tmp_path / "state" / "livesvc.db")
            .execute("SELECT DISTINCT status FROM sessions")
            .fetchall()
        )
    )
    assert sorted(rows) == [("closed",), ("detached",)]


async def test_a_client_resumes_on_the_other_worker_and_its_turns_continue(
    tmp_path: Path, nursery: trio.Nursery
):
    path = tmp_path / "live.toml"
    write_config(path)
    master = await start_serve(path, nursery)

    async def first(chat: Conversation):
        reply = await say_until_handle(chat, "remember 42")
        return chat.session_id, reply, chat.handle, await chat.say("count")

    with trio.fail_after(60):
        session_id, reply, handle, counted = await sdk_on(master, first, config=RESUMABLE)
        assert reply == "echo #1: remember 42"
        turn = int(counted.split("#")[1].split(":")[0]) + 1
        owner = await worker_of(master, session_id)

        async def again(chat: Conversation):
            return chat.session_id, await chat.say(f"turn {turn}"), chat.handle

        # Resume on the worker that does not own the session, on purpose.
        again_id, reply, _ = await sdk_on_worker(
            master, other(owner), again, config=resuming(handle)
        )
        # The same session, the turn counter continues, and the other worker runs it now.
        assert (again_id, reply) == (session_id, f"echo #{turn}: turn {turn}")
        assert await worker_of(master, session_id) == other(owner)
        assert await stop_serve(master) == 0
    taken = [e for e in master.events if e.get("event") == "gateway.session_taken_over"]
    released = [e for e in master.events if e.get("event") == "gateway.session_released"]
    assert [e["released"] for e in taken] == [True]
    assert [e["released"] for e in released] == [True]
    restored = [e for e in started_events(master) if e["restored"]]
    assert len(restored) == 1  # restored from the store once, on the new worker


async def test_a_mid_turn_move_delivers_the_rest_of_the_turn_once(
    tmp_path: Path, nursery: trio.Nursery
):
    # The upstream talks slowly, in 4-character chunks: the client leaves after the
    # first chunk and resumes; the rest of the turn comes from wherever it lands (from
    # the frames the worker it left kept for it, when that is another worker).
    upstream: Emulator = await nursery.start(
        run_emulator,
        EmulatorConfig(
            api_keys=(UPSTREAM_KEY,), reply_interval=0.05, text_chunk_chars=4, session_lifetime=None
        ),
    )
    path = tmp_path / "live.toml"
    write_config(path, upstream=upstream)
    master = await start_serve(path, nursery)

    async def open_it(chat: Conversation):
        reply = await say_until_handle(chat, "hi")
        return chat.session_id, reply, chat.handle, await chat.say("count")

    with trio.fail_after(90):
        session_id, reply, handle, counted = await sdk_on(master, open_it, config=RESUMABLE)
        assert reply == "echo #1: hi"
        turn = int(counted.split("#")[1].split(":")[0]) + 1
        owner = await worker_of(master, session_id)
        assert owner is not None
        text = f"say number {turn} slowly"

        async def leave_mid_turn(chat: Conversation):
            await chat.session.send_client_content(
                turns=types.Content(role="user", parts=[types.Part(text=text)])
            )
            async for message in chat.session.receive():
                content = message.server_content
                if content and content.model_turn:
                    return content.model_turn.parts[0].text  # then the socket closes

        async def finish(chat: Conversation):
            rest = await chat.receive_turn()
            parts = [
                p.text
                for m in rest
                if m.server_content and m.server_content.model_turn
                for p in m.server_content.model_turn.parts or ()
                if p.text
            ]
            return chat.session_id, "".join(parts), await chat.say("next"), chat.handle

        # Leave mid-turn from the owner, then resume on the other worker: on purpose.
        head = await sdk_on_worker(master, owner, leave_mid_turn, config=resuming(handle))
        again_id, tail, after, _ = await sdk_on_worker(
            master, other(owner), finish, config=resuming(handle)
        )
        assert again_id == session_id
        assert await worker_of(master, session_id) == other(owner)
        # Nothing lost, nothing doubled: the whole answer once, then the next turn.
        assert head + tail == f"echo #{turn}: {text}"
        assert after == f"echo #{turn + 1}: next"
        # The worker the client left held the rest of the turn and handed it over.
        moves = taken_over(master)
        assert len(moves) == 1
        assert moves[0]["frames"] > 0
        assert await stop_serve(master) == 0


async def test_kill_9_of_a_worker_is_restarted_and_its_client_resumes(
    tmp_path: Path, nursery: trio.Nursery
):
    path = tmp_path / "live.toml"
    write_config(path)
    master = await start_serve(path, nursery)

    async def first(chat: Conversation):
        await say_until_handle(chat, "remember 7")
        return chat.session_id, chat.handle, await chat.say("count")

    with trio.fail_after(60):
        session_id, handle, counted = await sdk_on(master, first, config=RESUMABLE)
        turn = int(counted.split("#")[1].split(":")[0])
        victim = int(await worker_of(master, session_id))
        pids = {
            e["worker"]: e["pid"] for e in master.events if e.get("event") == "master.worker_ready"
        }
        mark = len(master.events)
        os.kill(pids[victim], signal.SIGKILL)
        exited = await master.wait_for("master.worker_exited", after=mark)
        restarted = await master.wait_for("master.worker_ready", after=mark, worker=victim)

        async def after(chat: Conversation):
            return chat.session_id, await chat.say("what was it?")

        again_id, answer = await sdk_on(master, after, config=resuming(handle))
        ready = await admin(master, "/readyz")
        assert await stop_serve(master) == 0
    assert exited["worker"] == victim
    assert restarted["pid"] != pids[victim]
    assert again_id == session_id
    assert answer == f"echo #{turn + 1}: what was it?"  # the upstream conversation came back
    assert ready.status_code == 200


async def test_sighup_reaches_every_worker(tmp_path: Path, nursery: trio.Nursery):
    path = tmp_path / "live.toml"
    write_config(path)
    master = await start_serve(path, nursery)

    async def hello(chat: Conversation):
        return await chat.say("hi")

    with trio.fail_after(60):
        write_config(path, extra_keys=(NEW_KEY,))
        mark = len(master.events)
        master.signal(signal.SIGHUP)
        for worker in (0, 1):
            reloaded = await master.wait_for("config.reloaded", after=mark, worker=worker)
            assert reloaded["keys"] == 2
        replies = [await sdk_on(master, hello, key=NEW_KEY) for _ in range(4)]
        # Tokens minted by the master (the shared store) open sessions on any worker.
        minted = await admin_post(master, "/v1alpha/auth_tokens", {"uses": 4})
        token = minted.json()["name"]
        with_token = [
            await sdk_on(master, hello, key=token, api_version="v1alpha") for _ in range(4)
        ]
        assert await stop_serve(master) == 0
    assert replies == ["echo #1: hi"] * 4
    assert with_token == ["echo #1: hi"] * 4


def test_zero_workers_is_a_config_error(tmp_path: Path):
    path = tmp_path / "live.toml"
    write_config(path, workers=0)
    done = subprocess.run(
        [sys.executable, "-m", "livesvc", "serve", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 1
    assert f"{path}:3: service.workers: expected int >= 1, got 0" in done.stderr
