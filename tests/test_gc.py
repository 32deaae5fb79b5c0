"""The daemon's collector tuning, in a fresh interpreter (it changes process-wide state)."""

from __future__ import annotations

import json
import subprocess
import sys

_PROBE = """
import gc, json, weakref
from livesvc._gc import tune_collector
class Node:
    pass
node = Node()
node.self = node  # a cycle: only the collector frees it
alive = weakref.ref(node)
del node
tuning = tune_collector()
print(json.dumps({
    "frozen": tuning.frozen_objects,
    "freeze_count": gc.get_freeze_count(),
    "thresholds": list(gc.get_threshold()),
    "previous": list(tuning.previous_thresholds),
    "cycle_freed": alive() is None,
}))
"""


def test_tuning_freezes_the_startup_heap_and_raises_the_young_threshold():
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    result = json.loads(out)
    assert result["previous"] == [700, 10, 10]  # CPython's defaults before
    assert result["thresholds"] == [10_000, 20, 10]
    # Everything alive at start-up (modules, classes) is frozen; garbage cycles
    # are collected first rather than kept for ever.
    assert result["frozen"] == result["freeze_count"] > 10_000
    assert result["cycle_freed"]
