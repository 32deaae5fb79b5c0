"""Resume suite: how long a session is gone after an upstream drop, and across a goAway.

One session of the library (``livesvc.open_session``) talks to an in-process
emulator (text replies, no reply pacing). Each drop round:

1. the emulator stalls the connection (it reads nothing more), so the next
   message stays unacknowledged in the session's ledger;
2. the session sends a user turn ``q<i>`` (``clientContent``);
3. the emulator drops the TCP connection (no close frame: the session sees 1006);
4. the session resumes with its latest handle and replays the turn.

Times from the drop: ``resumed`` (``Connected(resumed=True)``), ``answered`` (the
first reply chunk to the replayed turn: the ledger was flushed to the new
connection and the server took it), ``covered`` (the next resumable handle: the
ledger is empty again). The reply's turn number (``echo #N``) proves the turn
reached the server's context exactly once. Both the default reconnect policy and
one whose first retry is immediate are measured, in alternation.

Each goAway round: the emulator sends ``goAway`` to an idle session, which hands
over (closes, then resumes by handle, as Google requires). The client-visible gap
is from the old connection's end to the new one's ``setupComplete``.

Then the same faults behind ``livesvc serve`` (``bench._gateway_resume``), as the
gateway's own client sees them: how late the answer to a turn in flight comes
after a drop of the upstream, and how much longer a turn sent just after a
``goAway`` takes than one without a fault.

``python -m bench --only resume`` runs the defaults (under a minute);
``python -m bench.resume --help`` shows the parameters.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import trio

from bench import _gateway
from bench._gateway_resume import gateway_rounds
from bench._harness import Options, Suite, print_table
from bench._procs import run_and_report
from bench._stats import summary
from livesvc.emulator import Emulator, EmulatorConfig, open_emulator
from livesvc.logs import configure_logging
from livesvc.session import (
    Connected,
    Disconnected,
    MessageReceived,
    ReconnectPolicy,
    Session,
    SessionEvent,
    SessionResumptionUpdated,
    extract_text,
    open_session,
)
from supervisors import Backoff

__all__ = ["QUICK", "ResumeParams", "SUITE", "run_resume"]

MODEL = "gemini-live-2.5-flash-preview"
ROUND_TIMEOUT = 10.0


@dataclass(frozen=True, kw_only=True)
class ResumeParams:
    """What the resume suite runs."""

    drops: int = 150  # per policy
    go_aways: int = 40
    gateway_rounds: int = 20  # drop and goAway rounds behind livesvc serve, seen by its client
    budget_seconds: float = 45.0
    target_p99_ms: float = 100.0


QUICK = ResumeParams(drops=4, go_aways=2, gateway_rounds=2, budget_seconds=15.0)

# Each drop is measured as an isolated one: ``stable_after=0`` resets the failure
# count once a connection is up, so back-to-back rounds do not escalate the backoff
# (with the default 30 s, the 8th drop within 30 s would wait 15 s).
POLICIES = {
    "default": ReconnectPolicy(stable_after=0.0),
    "immediate_first_retry": ReconnectPolicy(
        backoff=Backoff(first=0.0, base=0.5, factor=2.0, max=15.0, jitter=0.2), stable_after=0.0
    ),
}


class _Events:
    """The session's events, read by one task, waited on by predicate."""

    def __init__(self, session: Session) -> None:
        self._channel = session.events()
        self.seen: list[str] = []  # the latest events, for a timeout's message

    async def until(self, predicate: Any) -> SessionEvent:
        with trio.move_on_after(ROUND_TIMEOUT):
            async for event in self._channel:
                self.seen = [*self.seen[-7:], repr(event)[:160]]
                if predicate(event):
                    return event
            raise RuntimeError("the session's events ended")
        raise _RoundTimeout("no expected event; latest: " + " | ".join(self.seen))


class _RoundTimeout(Exception):
    """A round did not see the event it waits for within ``ROUND_TIMEOUT``."""


class _DropSamples:
    def __init__(self) -> None:
        self.resumed: list[float] = []
        self.answered: list[float] = []
        self.covered: list[float] = []
        self.wrong_reply = 0
        self.media_dropped = 0
        self.rounds = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "rounds": self.rounds,
            "resumed_ms": summary(self.resumed),
            "answered_ms": summary(self.answered),
            "covered_ms": summary(self.covered),
            "wrong_reply": self.wrong_reply,
        }


def _text(event: SessionEvent) -> str:
    return (extract_text(event.message) or "") if isinstance(event, MessageReceived) else ""


def _is_reply(event: SessionEvent) -> bool:
    return _text(event).startswith("echo #")


def _ends_turn(event: SessionEvent) -> bool:
    if not isinstance(event, MessageReceived):
        return False
    content = event.message.server_content
    return content is not None and bool(content.turn_complete)


async def _drop_rounds(
    emulator: Emulator,
    policy: ReconnectPolicy,
    rounds: int,
    deadline: float,
    samples: _DropSamples,
) -> None:
    async with open_session(
        model=MODEL,
        api_key="bench",
        base_url=emulator.http_base_url,
        response_modalities=["TEXT"],
        reconnect=policy,
    ) as session:
        events = _Events(session)
        if session.session_handle is None:  # nothing to resume from before the first handle
            await events.until(lambda e: isinstance(e, SessionResumptionUpdated) and e.resumable)
        for index in range(rounds):
            if time.monotonic() > deadline:
                break
            await session.wait_settled()
            server_id = session.session_id
            assert server_id is not None
            await emulator.faults.stall(session_id=server_id)
            marker = f"q{index}"
            await session.send_text(marker, wait=True)
            dropped_at = trio.current_time()
            await emulator.faults.drop(session_id=server_id)
            event = await events.until(lambda e: isinstance(e, Connected) and e.resumed)
            samples.resumed.append((event.at - dropped_at) * 1000)
            first = await events.until(_is_reply)
            samples.answered.append((first.at - dropped_at) * 1000)
            text = [_text(first)]
            while not _ends_turn(first):
                first = await events.until(lambda e: isinstance(e, MessageReceived))
                text.append(_text(first))
            # exactly once: the replayed turn is the session's (index+1)-th, answered once
            if "".join(text) != f"echo #{index + 1}: {marker}":
                samples.wrong_reply += 1
            update = await events.until(
                lambda e: isinstance(e, SessionResumptionUpdated) and e.resumable
            )
            samples.covered.append((update.at - dropped_at) * 1000)
            samples.rounds += 1


async def _go_away_rounds(emulator: Emulator, rounds: int, deadline: float) -> dict[str, Any]:
    gaps: list[float] = []
    totals: list[float] = []
    async with open_session(
        model=MODEL, api_key="bench", base_url=emulator.http_base_url, response_modalities=["TEXT"]
    ) as session:
        events = _Events(session)
        if session.session_handle is None:
            await events.until(lambda e: isinstance(e, SessionResumptionUpdated) and e.resumable)
        for index in range(rounds):
            if time.monotonic() > deadline:
                break
            await session.wait_settled()
            server_id = session.session_id
            assert server_id is not None
            sent_at = trio.current_time()
            await emulator.faults.go_away(time_left=10.0, session_id=server_id)
            gone = await events.until(lambda e: isinstance(e, Disconnected))
            back = await events.until(lambda e: isinstance(e, Connected))
            gaps.append((back.at - gone.at) * 1000)
            totals.append((back.at - sent_at) * 1000)
            # a turn after each handover: the session really works on the new connection
            await session.send_text(f"after handover {index}")
            await session.wait_turn_complete()
        stats = session.stats
    return {
        "rounds": len(gaps),
        "gap_ms": summary(gaps),
        "go_away_to_resumed_ms": summary(totals),
        "handovers": stats.get("handovers"),
    }


async def _measure(params: ResumeParams, workdir: Path) -> dict[str, Any]:
    started = time.monotonic()
    deadline = started + params.budget_seconds
    config = EmulatorConfig(reply_interval=0.0, session_lifetime=None, resume_grace=1.0)
    drops: dict[str, Any] = {}
    async with open_emulator(config) as emulator:
        # alternate the policies in halves, so drift in machine load hits both alike
        half = max(1, params.drops // 2)
        samples = {name: _DropSamples() for name in POLICIES}
        for order in (list(POLICIES), list(reversed(POLICIES))):
            for name in order:
                await _drop_rounds(emulator, POLICIES[name], half, deadline, samples[name])
        drops = {name: found.as_json() for name, found in samples.items()}
        go_away = await _go_away_rounds(emulator, params.go_aways, deadline + 10)
    gateway: dict[str, Any] = {"status": _gateway.gateway_available() or "ok"}
    if params.gateway_rounds and gateway["status"] == "ok":
        gateway.update(await gateway_rounds(params.gateway_rounds, workdir))
    return {
        "suite": "resume",
        "utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "params": asdict(params),
        "elapsed_seconds": round(time.monotonic() - started, 1),
        "method": (
            "library session vs in-process emulator on loopback; times from the drop"
            " (TCP abort while the connection is stalled, one turn in the ledger)"
        ),
        "drops": drops,
        "go_away": go_away,
        "gateway": gateway,
    }


def _stats_row(event: str, label: str, stats: dict[str, Any]) -> list[str]:
    return [event, label, str(stats["n"]), str(stats["p50"]), str(stats["p99"]), str(stats["max"])]


def _print(result: dict[str, Any]) -> None:
    rows = []
    for name, found in result["drops"].items():
        for key, label in (
            ("resumed_ms", "resumed"),
            ("answered_ms", "answered (ledger flushed)"),
            ("covered_ms", "covered by a new handle"),
        ):
            stats = found[key]
            rows.append(_stats_row(f"drop, {name} policy", label, stats))
    go_away = result["go_away"]
    for key, label in (
        ("gap_ms", "client-visible gap"),
        ("go_away_to_resumed_ms", "goAway to resumed"),
    ):
        stats = go_away[key]
        rows.append(_stats_row("goAway handover", label, stats))
    gateway = result["gateway"]
    if gateway["status"] != "ok":
        rows.append(["behind the gateway", gateway["status"], "-", "-", "-", "-"])
    elif "rounds" in gateway:
        for key, label in (
            ("baseline_turn_ms", "turn round trip, no fault"),
            ("drop_to_answer_ms", "drop: answer to the turn in flight"),
            ("go_away_gap_ms", "goAway: extra wait of a turn"),
        ):
            stats = gateway[key]
            rows.append(_stats_row("behind the gateway (client)", label, stats))
    print_table(["event", "time from the drop to", "n", "p50 ms", "p99 ms", "max ms"], rows)
    target = result["params"]["target_p99_ms"]
    for name, found in result["drops"].items():
        p99 = found["answered_ms"]["p99"]
        verdict = "-" if p99 is None else ("met" if p99 < target else "MISSED")
        print(
            f"resume p99 (drop -> ledger flushed and answered), {name} policy: {p99} ms,"
            f" target < {target} ms: {verdict}; wrong or duplicated replies: {found['wrong_reply']}"
        )


def run_resume(params: ResumeParams, options: Options) -> dict[str, Any]:
    """Run the suite with ``params``; prints the table, writes JSON when ``options.write``."""
    configure_logging("error")  # per-event logs of the session and faults would be timed too
    return run_and_report("resume", _measure, params, _print, options)


def run(options: Options) -> dict[str, Any]:
    # --quick (3 repeats) is the smoke-test size
    return run_resume(QUICK if options.repeats <= 3 else ResumeParams(), options)


SUITE = Suite(
    name="resume",
    description="upstream drop to resumed with the ledger flushed; goAway handover gap",
    run=run,
)


def main(argv: list[str] | None = None) -> int:
    defaults = ResumeParams()
    parser = argparse.ArgumentParser(
        prog="python -m bench.resume", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--drops", type=int, default=defaults.drops, help="drop rounds per policy")
    parser.add_argument("--go-aways", type=int, default=defaults.go_aways)
    parser.add_argument(
        "--gateway-rounds",
        type=int,
        default=defaults.gateway_rounds,
        help="drop and goAway rounds behind livesvc serve (0: skip)",
    )
    parser.add_argument("--budget-seconds", type=float, default=defaults.budget_seconds)
    parser.add_argument("--results-dir")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    params = replace(
        defaults,
        drops=args.drops,
        go_aways=args.go_aways,
        gateway_rounds=args.gateway_rounds,
        budget_seconds=args.budget_seconds,
    )
    options = Options(write=not args.no_write)
    if args.results_dir:
        options = Options(write=not args.no_write, results_dir=Path(args.results_dir))
    run_resume(params, options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
