"""Garbage-collector settings for a long-running daemon.

A relay allocates per frame (structs, channel state, cancel scopes), so the
collector runs often, and a full collection walks every object of every session:
measured at 37-57 ms under 30 streaming sessions, a pause every session of the
process shares (docs/performance.md, "Latency cliff"). Two settings shorten and
thin out those pauses:

* :func:`gc.freeze` once the daemon is up moves everything that exists then
  (modules, config, TLS contexts, the emulator's tables) out of the collector's
  sight for good: full collections walk only what sessions created;
* a larger first-generation threshold collects young objects ten times less
  often; most of a frame's garbage is freed by reference counting anyway.
"""

from __future__ import annotations

import gc

import msgspec

__all__ = ["CollectorTuning", "tune_collector"]

# Young objects between collections (CPython's default is 700), and how many
# younger collections trigger an older one (CPython's 10, 10 become 20, 10).
THRESHOLDS = (10_000, 20, 10)


class CollectorTuning(msgspec.Struct, frozen=True, kw_only=True):
    """What :func:`tune_collector` did, for the daemon's start-up log line."""

    frozen_objects: int
    thresholds: tuple[int, int, int]
    previous_thresholds: tuple[int, int, int]


def tune_collector(thresholds: tuple[int, int, int] = THRESHOLDS) -> CollectorTuning:
    """Collect once, freeze what exists now, and collect young objects less often.

    Call it once the process is set up (imports done, config loaded), before
    serving.

    Example::

        tuning = tune_collector()
        log.info("daemon.gc_tuned", frozen=tuning.frozen_objects)
    """
    previous = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(*thresholds)
    return CollectorTuning(
        frozen_objects=gc.get_freeze_count(),
        thresholds=thresholds,
        previous_thresholds=(previous[0], previous[1], previous[2]),
    )
