"""Chaos soak: library sessions under random upstream faults, then exact accounting.

``python -m bench.soak [--minutes 5] [--sessions 8] [--fault-every 1.5] [--seed 1]``
(``make soak``). Not a ``make bench`` suite: it runs for minutes.

N sessions of the library (``livesvc.open_session``) talk to the emulator (its own
process) for ``--minutes``. Every session streams 16 kHz PCM up in 40 ms chunks
at real-time pace the whole time. Even-numbered sessions take text turns
(``clientContent``) and tool turns (a Python tool the model calls; the library
answers with ``toolResponse``), one after another; odd-numbered ones take spoken
turns (voiced audio, then silence, answered with model audio). Meanwhile the
emulator's fault API hits a random connected session every ``--fault-every``
seconds with a drop (TCP abort), a 1011 close, a ``goAway``, a delay of its frames
or a stall.

At the end (faults lifted, each text session takes one last turn) it asserts:

* **exactly once**: in each text session that kept its context, the emulator's
  turn counter equals the number of distinct turns the client sent, and no turn
  was answered under two different turn numbers (a duplicate) or not at all;
* **every session alive or ended with a reported reason**;
* **every media drop counted**: the drops the session reports equal the drops
  it logged, and never exceed the chunks sent while it was disconnected;
* **no growth**: trio tasks and resident memory over the last third of the run
  stay within the stated bounds of the first third (after the warm-up).

Prints a summary, writes ``bench/results/soak-<UTC>.json`` and
``soak-latest.json``, and exits 1 when an assertion fails.
"""

from __future__ import annotations

import argparse
import math
import platform
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, MutableMapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import structlog
import trio

from bench._harness import Options
from bench._load import pcm_chunk
from bench._procs import run_and_report, spawn
from bench._upstream import READY as UPSTREAM_READY
from bench._upstream import upstream_argv
from livesvc.logs import configure_logging
from livesvc.session import (
    Connected,
    Disconnected,
    KeepalivePolicy,
    LiveSessionError,
    MessageReceived,
    ReconnectPolicy,
    Session,
    SessionFailed,
    SessionStatus,
    extract_text,
    open_session,
)
from livesvc.tools import tool

__all__ = ["SoakParams", "main", "run_soak"]

TEXT_MODEL = "gemini-live-2.5-flash-preview"
# Every third session: Gemini 3.8 extended thinking, whose tool turns are an
# interaction of two utterances (filler, then the answer after a NON_BLOCKING call).
THINKING_MODEL = "gemini-3.8-live-extended-thinking"
_TURN_KINDS = ("text", "thinking")  # sessions that take text turns and are checked per turn
CHUNK_SECONDS = 0.04
FAULT_WEIGHTS = {"drop": 3, "close_1011": 3, "go_away": 2, "delay": 1, "stall": 1}


@dataclass(frozen=True, kw_only=True)
class SoakParams:
    """What the soak runs, and the bounds it asserts."""

    minutes: float = 5.0
    sessions: int = 8
    fault_every: float = 1.5  # seconds between two faults
    seed: int = 1
    media_buffer_seconds: float = 0.5  # small, so outages drop audio (and count it)
    turn_timeout: float = 30.0  # a turn not answered by then counts as lost
    warmup_seconds: float = 15.0
    task_growth_percent: float = 10.0  # max tasks, last third vs first third
    task_growth_slack: int = 40  # plus this many (a reconnect in flight spawns some)
    memory_growth_mib: float = 32.0  # max RSS, last third vs first third
    settle_seconds: float = 20.0  # after the faults stop, for sessions to reconnect
    max_stall_seconds: float = 8.0  # stalls last 0.5 s up to this (longer than the keepalive)


def _count_tasks() -> int:
    """Live trio tasks in this run (the whole tree under the root task)."""
    root = trio.lowlevel.current_root_task()
    stack = [root] if root is not None else []
    count = 0
    while stack:
        task = stack.pop()
        count += 1
        for nursery in task.child_nurseries:
            stack.extend(nursery.child_tasks)
    return count


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


class _DropLog:
    """Counts log events, and the media drops each session logs; prints only errors.

    A structlog processor placed after ``merge_contextvars`` (so ``session_id`` is
    there): ``session.media_buffer_flushed`` carries the drops since the last flush.
    """

    def __init__(self) -> None:
        self.flushed: Counter[str] = Counter()
        self.events: Counter[str] = Counter()

    def __call__(
        self, _logger: Any, name: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        self.events[str(event.get("event"))] += 1
        if event.get("event") == "session.media_buffer_flushed":
            self.flushed[str(event.get("session_id"))] += int(event.get("dropped", 0))
        if name not in ("error", "critical", "exception"):
            raise structlog.DropEvent  # counted in the JSON; a 5-minute soak would flood the terminal
        return event


@dataclass(kw_only=True)
class _State:
    """What one soak session did, as its client saw it."""

    index: int
    kind: str  # "text", "audio" or "thinking"
    local_id: str = ""
    server_ids: set[str] = field(default_factory=set)
    turns_sent: int = 0  # distinct user turns (text sessions)
    answers: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    unanswered: list[str] = field(default_factory=list)
    final_turn: int | None = None
    tool_runs: Counter[int] = field(default_factory=Counter)
    audio_turns: int = 0
    chunks_sent: int = 0
    chunks_sent_disconnected: int = 0
    context_losses: int = 0
    ended: str | None = None  # why the session ended, if it did
    status: str = ""
    stats: dict[str, Any] = field(default_factory=dict)
    connections: int = 0  # the latest Connected.connection: the timeline's live reconnects


class _SoakSession:
    def __init__(self, state: _State, base_url: str, params: SoakParams) -> None:
        self.state = state
        self.base_url = base_url
        self.params = params
        self.stop = trio.Event()  # stop taking new turns
        self.finished = trio.Event()  # final turn done (or session over)
        self.leave = trio.Event()  # close the session
        self.closed = trio.Event()  # run() is over
        self.speaking = False
        self._reply: list[str] = []
        self._replies: trio.MemorySendChannel[str]
        self._replies_out: trio.MemoryReceiveChannel[str]
        self._replies, self._replies_out = trio.open_memory_channel[str](64)

    async def run(self) -> None:
        state = self.state
        state_tools = []
        if state.kind in _TURN_KINDS:

            @tool(timeout=5)
            async def bench_tool(k: int) -> dict[str, Any]:
                """Echo ``k`` (the soak counts how often each call runs)."""
                state.tool_runs[k] += 1
                return {"k": k, "ok": True}

            state_tools.append(bench_tool)
        options: dict[str, Any] = {
            "api_key": "bench",
            "base_url": self.base_url,
            "response_modalities": ["TEXT" if state.kind == "text" else "AUDIO"],
            "output_audio_transcription": state.kind != "text",
            "media_buffer_seconds": self.params.media_buffer_seconds,
            "keepalive": KeepalivePolicy(interval=2.0, timeout=3.0),
            "reconnect": ReconnectPolicy(stable_after=5.0),
            "tools": state_tools,
        }
        if state.kind == "audio":
            options["input_audio_transcription"] = True
        model = THINKING_MODEL if state.kind == "thinking" else TEXT_MODEL
        try:
            async with open_session(model=model, **options) as session:
                state.local_id = session.local_id
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._read, session)
                    nursery.start_soon(self._stream, session)
                    if state.kind in _TURN_KINDS:
                        await self._text_turns(session)
                    else:
                        await self._audio_turns(session)
                    # faults are over: a session still reconnecting gets the settle time
                    with trio.move_on_after(self.params.settle_seconds):
                        await session.wait_connected()
                    self.finished.set()
                    await self.leave.wait()
                    state.status = session.status.value
                    state.stats = {k: v for k, v in session.stats.items() if k != "actor_restarts"}
                    nursery.cancel_scope.cancel()
        except SessionFailed as failed:
            state.ended = f"failed: {failed}"
            state.status = "failed"
        finally:
            self.finished.set()
            self.closed.set()

    async def _read(self, session: Session) -> None:
        async for event in session.events():
            if isinstance(event, Connected):
                self.state.connections = event.connection
            elif isinstance(event, Disconnected):
                self._reply = []  # a cut reply is replayed whole after the resume
            elif isinstance(event, MessageReceived):
                message = event.message
                if session.session_id:
                    self.state.server_ids.add(session.session_id)
                content = message.server_content
                if content is None:
                    continue
                if content.input_transcription is not None:
                    self.state.audio_turns += 1
                text = extract_text(message)
                if text and (content.model_turn is not None or self.state.kind == "thinking"):
                    self._reply.append(text)
                if content.turn_complete:
                    reply, self._reply = "".join(self._reply), []
                    if self.state.kind in _TURN_KINDS:
                        self._replies.send_nowait(reply)  # each utterance; _turn finds its answer

    async def _stream(self, session: Session) -> None:
        voiced, silent = pcm_chunk(True), pcm_chunk(False)
        start = trio.current_time()
        for index in range(1 << 40):
            await trio.sleep_until(start + index * CHUNK_SECONDS)
            if session.status is not SessionStatus.CONNECTED:
                self.state.chunks_sent_disconnected += 1
            try:
                await session.send_realtime_input(audio=voiced if self.speaking else silent)
            except LiveSessionError:
                return  # the session is over; run() reports why
            self.state.chunks_sent += 1

    async def _turn(self, session: Session, text: str, expect: str) -> None:
        """One user turn: send, then wait for the reply that answers it."""
        state = self.state
        state.turns_sent += 1
        await session.send_text(text)
        with trio.move_on_after(self.params.turn_timeout):
            async for reply in self._replies_out:
                number, _, rest = reply.removeprefix("echo #").partition(": ")
                if rest == expect and number.isdigit():
                    state.answers[text].add(int(number))
                    return
        state.unanswered.append(text)

    async def _text_turns(self, session: Session) -> None:
        k = 0
        while not self.stop.is_set():
            k += 1
            marker = f"s{self.state.index}t{k}"
            await self._turn(session, marker, marker)
            call = f"bench_tool(k={k})"
            await self._turn(session, call, f'bench_tool -> {{"k":{k},"ok":true}}')
        await session.wait_settled()
        await self._turn(session, "final", "final")
        numbers = self.state.answers.get("final")
        self.state.final_turn = max(numbers) if numbers else None

    async def _audio_turns(self, session: Session) -> None:
        while not self.stop.is_set():
            self.speaking = True
            await trio.sleep(0.4)
            self.speaking = False
            await trio.sleep(1.6)


async def _inject_faults(
    control: httpx.AsyncClient, params: SoakParams, until: float, counts: Counter[str]
) -> None:
    rng = random.Random(params.seed)
    kinds = list(FAULT_WEIGHTS)
    weights = [FAULT_WEIGHTS[k] for k in kinds]
    async with trio.open_nursery() as lifts:
        while trio.current_time() < until:
            await trio.sleep(rng.uniform(0.5, 1.5) * params.fault_every)
            listing = (await control.get("/_emulator/sessions")).json()["sessions"]
            connected = [s["sessionId"] for s in listing if s["connected"]]
            if not connected:
                continue
            target = rng.choice(connected)
            kind = rng.choices(kinds, weights)[0]
            body: dict[str, Any] = {"sessionId": target}
            if kind == "drop":
                path = "drop"
            elif kind == "close_1011":
                path, body["code"] = "close", 1011
            elif kind == "go_away":
                path, body["timeLeft"] = "go_away", round(rng.uniform(0.5, 5.0), 2)
            elif kind == "delay":
                path, body["seconds"] = "delay", round(rng.uniform(0.05, 0.4), 3)
                lifts.start_soon(_lift_delay, control, target, rng.uniform(1.0, 4.0))
            else:
                stall = rng.uniform(min(0.5, params.max_stall_seconds), params.max_stall_seconds)
                path, body["seconds"] = "stall", round(stall, 2)
            answer = await control.post(f"/_emulator/faults/{path}", json=body)
            if answer.status_code == 200:
                counts[kind] += 1
            else:
                counts[f"{kind}_missed"] += 1


async def _lift_delay(control: httpx.AsyncClient, target: str, after: float) -> None:
    await trio.sleep(after)
    await control.post("/_emulator/faults/delay", json={"seconds": 0, "sessionId": target})


async def _monitor(
    samples: list[tuple[float, int, int]],
    timeline: list[dict[str, float]],
    counts: Callable[[], dict[str, int]],
    every: float = 1.0,
) -> None:
    start = trio.current_time()
    while True:
        now = trio.current_time() - start
        samples.append((now, _count_tasks(), _rss_bytes()))
        timeline.append({"t": round(now, 1), **counts()})  # cumulative, for the plot
        await trio.sleep(every)


def _growth(samples: list[tuple[float, int, int]], params: SoakParams) -> dict[str, Any]:
    steady = [s for s in samples if s[0] >= params.warmup_seconds]
    if len(steady) < 3:
        return {"checked": False, "why": "run too short for a growth check"}
    third = max(1, len(steady) // 3)
    first, last = steady[:third], steady[-third:]
    tasks_first, tasks_last = max(s[1] for s in first), max(s[1] for s in last)
    rss_first, rss_last = max(s[2] for s in first), max(s[2] for s in last)
    task_bound = (
        math.ceil(tasks_first * (1 + params.task_growth_percent / 100)) + params.task_growth_slack
    )
    rss_bound = rss_first + params.memory_growth_mib * 2**20
    return {
        "checked": True,
        "tasks_first_third_max": tasks_first,
        "tasks_last_third_max": tasks_last,
        "tasks_bound": task_bound,
        "tasks_ok": tasks_last <= task_bound,
        "rss_first_third_max_mib": round(rss_first / 2**20, 1),
        "rss_last_third_max_mib": round(rss_last / 2**20, 1),
        "rss_bound_mib": round(rss_bound / 2**20, 1),
        "rss_ok": rss_last <= rss_bound,
    }


async def _soak(params: SoakParams, workdir: Path) -> dict[str, Any]:
    drop_log = _DropLog()
    configure_logging("warning")
    config = structlog.get_config()
    processors = list(config["processors"])
    merge = processors.index(structlog.contextvars.merge_contextvars)
    structlog.configure(processors=[*processors[: merge + 1], drop_log, *processors[merge + 1 :]])
    started = time.monotonic()
    fault_counts: Counter[str] = Counter()
    samples: list[tuple[float, int, int]] = []
    timeline: list[dict[str, float]] = []
    async with spawn(
        "upstream",
        upstream_argv(
            reply_interval=0.04, audio_chunk_ms=40, max_seconds=params.minutes * 60 + 300
        ),
        workdir=workdir,
        ready=UPSTREAM_READY,
    ) as upstream:
        assert upstream.ready is not None
        base_url = upstream.ready[1].replace("ws://", "http://")
        states = [
            _State(index=i, kind=("text", "audio", "thinking")[i % 3])
            for i in range(params.sessions)
        ]
        runners = [_SoakSession(state, base_url, params) for state in states]
        async with (
            httpx.AsyncClient(base_url=base_url, timeout=10) as control,
            trio.open_nursery() as nursery,
        ):
            nursery.start_soon(
                _monitor,
                samples,
                timeline,
                lambda: {
                    "faults": sum(fault_counts.values()),
                    # stats arrive only when a session ends: count connections as they come.
                    "reconnects": sum(max(0, s.connections - 1) for s in states),
                    "turns": sum(s.turns_sent for s in states),
                },
            )
            for runner in runners:
                nursery.start_soon(runner.run)
                await trio.sleep(0.05)
            until = trio.current_time() + params.minutes * 60
            await _inject_faults(control, params, until, fault_counts)
            await control.delete("/_emulator/faults")  # lift delays
            await trio.sleep(0.2)
            for runner in runners:
                runner.stop.set()
            with trio.move_on_after(params.settle_seconds + params.turn_timeout * 2):
                for runner in runners:
                    await runner.finished.wait()
            listing = (await control.get("/_emulator/sessions")).json()["sessions"]
            for runner in runners:
                runner.leave.set()
            with trio.move_on_after(15):
                for runner in runners:
                    await runner.closed.wait()
            nursery.cancel_scope.cancel()
    result = _verdict(params, states, listing, drop_log, fault_counts, samples, started)
    result["log_events"] = dict(drop_log.events.most_common())
    result["timeline"] = timeline[:: max(1, len(timeline) // 240)]
    return result


def _verdict(
    params: SoakParams,
    states: list[_State],
    listing: list[dict[str, Any]],
    drop_log: _DropLog,
    fault_counts: Counter[str],
    samples: list[tuple[float, int, int]],
    started: float,
) -> dict[str, Any]:
    turns_by_id = {s["sessionId"]: s["turns"] for s in listing}
    sessions: list[dict[str, Any]] = []
    failures: list[str] = []
    for state in states:
        stats = state.stats
        dropped = int(stats.get("media_dropped", 0))
        logged = drop_log.flushed.get(state.local_id, 0)
        row: dict[str, Any] = {
            "index": state.index,
            "kind": state.kind,
            "status": state.status,
            "ended": state.ended,
            "chunks_sent": state.chunks_sent,
            "chunks_sent_disconnected": state.chunks_sent_disconnected,
            "media_dropped": dropped,
            "media_drops_logged": logged,
            "resumes": stats.get("resumes"),
            "reconnects": stats.get("reconnects"),
            "handovers": stats.get("handovers"),
            "context_losses": stats.get("context_losses"),
            "ledger_pending": stats.get("ledger_pending"),
        }
        name = f"session {state.index} ({state.kind})"
        if state.status not in ("connected",) and not state.ended:
            failures.append(
                f"{name}: neither alive nor ended with a reason (status {state.status!r})"
            )
        # drops are logged when the buffer is flushed on reconnecting: a live session has none pending
        if state.ended is None and dropped != logged:
            failures.append(f"{name}: {dropped} media drops reported, {logged} logged")
        if dropped > state.chunks_sent_disconnected:
            failures.append(
                f"{name}: {dropped} drops but only {state.chunks_sent_disconnected} chunks sent while disconnected"
            )
        if state.kind in _TURN_KINDS:
            duplicates = sorted(t for t, numbers in state.answers.items() if len(numbers) > 1)
            server_turns = [turns_by_id[sid] for sid in state.server_ids if sid in turns_by_id]
            row.update(
                {
                    "turns_sent": state.turns_sent,
                    "final_turn_number": state.final_turn,
                    "emulator_turns": server_turns,
                    "duplicates": duplicates,
                    "unanswered": state.unanswered,
                    "tool_calls": len(state.tool_runs),
                    "tool_runs": sum(state.tool_runs.values()),
                }
            )
            if state.ended is None:
                if duplicates:
                    failures.append(f"{name}: answered twice in context: {duplicates[:5]}")
                if state.unanswered:
                    failures.append(f"{name}: never answered: {state.unanswered[:5]}")
                if not stats.get("context_losses"):
                    if state.final_turn != state.turns_sent:
                        failures.append(
                            f"{name}: final turn number {state.final_turn} != {state.turns_sent} turns sent"
                        )
                    if len(server_turns) != 1 or server_turns[0] != state.turns_sent:
                        failures.append(
                            f"{name}: emulator counted {server_turns} turns, the client sent {state.turns_sent}"
                        )
        else:
            row["audio_turns"] = state.audio_turns
        sessions.append(row)
    growth = _growth(samples, params)
    if growth.get("checked"):
        if not growth["tasks_ok"]:
            failures.append(
                f"tasks grew: {growth['tasks_last_third_max']} > bound {growth['tasks_bound']}"
            )
        if not growth["rss_ok"]:
            failures.append(
                f"memory grew: {growth['rss_last_third_max_mib']} MiB > bound {growth['rss_bound_mib']} MiB"
            )
    return {
        "suite": "soak",
        "utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "params": asdict(params),
        "elapsed_seconds": round(time.monotonic() - started, 1),
        "faults_injected": dict(fault_counts),
        "sessions": sessions,
        "growth": growth,
        "samples": [
            {"t": round(t, 1), "tasks": tasks, "rss_mib": round(rss / 2**20, 1)}
            for t, tasks, rss in samples[:: max(1, len(samples) // 120)]
        ],
        "failures": failures,
        "passed": not failures,
    }


def _print(result: dict[str, Any]) -> None:
    faults = ", ".join(f"{k} {v}" for k, v in sorted(result["faults_injected"].items()))
    print(
        f"soak: {result['elapsed_seconds']} s, {len(result['sessions'])} sessions; faults: {faults}"
    )
    for row in result["sessions"]:
        extra = (
            f"turns {row.get('turns_sent')} (emulator {row.get('emulator_turns')}),"
            f" tools {row.get('tool_calls')} calls / {row.get('tool_runs')} runs"
            if row["kind"] in _TURN_KINDS
            else f"audio turns {row.get('audio_turns')}"
        )
        print(
            f"  #{row['index']:<2} {row['kind']:<5} {row['status'] or '?':<10} resumes {row['resumes']},"
            f" handovers {row['handovers']}, media dropped {row['media_dropped']}"
            f" (logged {row['media_drops_logged']}), {extra}"
            + (f", ended: {row['ended']}" if row["ended"] else "")
        )
    growth = result["growth"]
    if growth.get("checked"):
        print(
            f"  tasks: first third max {growth['tasks_first_third_max']}, last third max"
            f" {growth['tasks_last_third_max']} (bound {growth['tasks_bound']});"
            f" RSS {growth['rss_first_third_max_mib']} -> {growth['rss_last_third_max_mib']} MiB"
            f" (bound {growth['rss_bound_mib']})"
        )
    if result["passed"]:
        print(
            "soak PASSED: exactly once, every session accounted for, every drop counted, no growth"
        )
    else:
        print("soak FAILED:")
        for failure in result["failures"]:
            print(f"  - {failure}")


def run_soak(params: SoakParams, options: Options) -> dict[str, Any]:
    """Run the soak; prints the summary, writes JSON when ``options.write``."""
    return run_and_report("soak", _soak, params, _print, options)


def main(argv: list[str] | None = None) -> int:
    defaults = SoakParams()
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--minutes", type=float, default=defaults.minutes)
    parser.add_argument("--sessions", type=int, default=defaults.sessions)
    parser.add_argument(
        "--fault-every", type=float, default=defaults.fault_every, metavar="SECONDS"
    )
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--warmup-seconds", type=float, default=defaults.warmup_seconds)
    parser.add_argument(
        "--max-stall-seconds",
        type=float,
        default=defaults.max_stall_seconds,
        help="longest stall injected (the keepalive notices one after 5 s)",
    )
    parser.add_argument("--results-dir", type=Path)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    params = SoakParams(
        minutes=args.minutes,
        sessions=args.sessions,
        fault_every=args.fault_every,
        seed=args.seed,
        warmup_seconds=args.warmup_seconds,
        max_stall_seconds=args.max_stall_seconds,
    )
    options = Options(write=not args.no_write)
    if args.results_dir:
        options = Options(write=not args.no_write, results_dir=args.results_dir)
    result = run_soak(params, options)
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
