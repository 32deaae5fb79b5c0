"""The benchmarks' upstream: the emulator in a process of its own, paced for real-time audio.

``python -m bench._upstream [--port 0] [--reply-interval 0.04] [--audio-chunk-ms 40]``
prints ``bench upstream listening on ws://127.0.0.1:PORT`` once it serves, and
exits on SIGTERM/SIGINT, or by itself after ``--max-seconds``.

Model audio comes down in 40 ms chunks every 40 ms by default: real-time pace,
like Google's. Two pure functions of the emulator's deterministic model, the
reply tone and the VAD's RMS of a 10 ms frame, are memoised here: the load
repeats the same few inputs, and without the cache the emulator's Python
arithmetic, not the relays, would use most of the machine. Neither changes a
single byte on the wire.
"""

from __future__ import annotations

import argparse
import functools
import signal
import sys

import trio

from livesvc.emulator import EmulatorConfig, _live, _vad, parse_fault, run_emulator

__all__ = ["READY", "main", "upstream_argv"]

READY = r"bench upstream listening on (ws://\S+)"


def memoise_model() -> None:
    """Cache the tone and the RMS (pure, called with a handful of distinct inputs)."""
    _live.speech_pcm = functools.lru_cache(maxsize=4096)(_live.speech_pcm)
    _vad._rms = functools.lru_cache(maxsize=256)(_vad._rms)


def upstream_argv(
    *,
    reply_interval: float = 0.04,
    audio_chunk_ms: int = 40,
    go_away_notice: float = 50.0,
    resume_grace: float = 1.0,
    max_seconds: float = 900.0,
    faults: tuple[str, ...] = (),
) -> list[str]:
    """The command line of an upstream process."""
    argv = [
        sys.executable,
        "-m",
        "bench._upstream",
        "--reply-interval",
        str(reply_interval),
        "--audio-chunk-ms",
        str(audio_chunk_ms),
        "--go-away-notice",
        str(go_away_notice),
        "--resume-grace",
        str(resume_grace),
        "--max-seconds",
        str(max_seconds),
    ]
    for fault in faults:
        argv += ["--fault", fault]
    return argv


async def _serve(config: EmulatorConfig, max_seconds: float) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            emulator = await nursery.start(run_emulator, config)
            print(f"bench upstream listening on {emulator.url}", flush=True)
            with trio.move_on_after(max_seconds):
                async for _ in signals:
                    break
            nursery.cancel_scope.cancel()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench._upstream")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--reply-interval", type=float, default=0.04)
    parser.add_argument("--audio-chunk-ms", type=int, default=40)
    parser.add_argument("--go-away-notice", type=float, default=50.0)
    parser.add_argument("--resume-grace", type=float, default=1.0)
    parser.add_argument("--max-seconds", type=float, default=900.0)
    parser.add_argument("--fault", action="append", default=[])
    parser.add_argument("--no-memoise", action="store_true")
    args = parser.parse_args(argv)
    if not args.no_memoise:
        memoise_model()
    config = EmulatorConfig(
        port=args.port,
        session_lifetime=None,
        reply_interval=args.reply_interval,
        audio_chunk_ms=args.audio_chunk_ms,
        go_away_notice=args.go_away_notice,
        resume_grace=args.resume_grace,
        faults=tuple(parse_fault(spec) for spec in args.fault),
    )
    trio.run(_serve, config, args.max_seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
