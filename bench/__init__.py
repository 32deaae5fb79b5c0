"""Benchmarks of livesvc, run with ``make bench`` (``python -m bench``).

Each public module of this package that defines ``SUITE`` (a :class:`bench._harness.Suite`)
is a suite; ``python -m bench --only NAME`` runs one. Results go to
``bench/results/<suite>-<UTC timestamp>.json`` and ``bench/results/<suite>-latest.json``.
"""
