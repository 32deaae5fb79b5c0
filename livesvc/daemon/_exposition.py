"""Merging Prometheus text expositions from several processes into one, each sample labelled.

The master of a multi-worker daemon serves one ``/metrics``: every worker's
exposition with ``worker="I"`` on each sample, and its own with
``worker="master"``. A metric family appears once (its ``HELP`` and ``TYPE``
lines), followed by the samples of every process, as the text format requires.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["label_sample", "merge_expositions"]


def label_sample(line: str, name: str, value: str) -> str:
    """One sample line with ``name="value"`` added as its first label.

    >>> label_sample('up{job="a"} 1', "worker", "0")
    'up{worker="0",job="a"} 1'
    >>> label_sample("up 1", "worker", "0")
    'up{worker="0"} 1'
    """
    label = f'{name}="{value}"'
    brace, space = line.find("{"), line.find(" ")
    if brace != -1 and (space == -1 or brace < space):
        rest = line[brace + 1 :]
        return f"{line[: brace + 1]}{label}{'' if rest.startswith('}') else ','}{rest}"
    if space == -1:
        return line
    return f"{line[:space]}{{{label}}}{line[space:]}"


class _Family:
    __slots__ = ("help", "samples", "type")

    def __init__(self) -> None:
        self.help: str | None = None
        self.type: str | None = None
        self.samples: list[str] = []


def merge_expositions(sources: Iterable[tuple[str, bytes]], *, label: str = "worker") -> bytes:
    """One exposition from ``(label value, exposition)`` pairs; families keep first-seen order.

    Example::

        body = merge_expositions([("0", worker0_text), ("1", worker1_text)])
    """
    families: dict[str, _Family] = {}
    for value, text in sources:
        current = families.setdefault("", _Family())
        for line in text.decode("utf-8", "replace").splitlines():
            if not line.strip():
                continue
            if line.startswith("# HELP ") or line.startswith("# TYPE "):
                _, kind, rest = line.split(" ", 2)
                family_name = rest.split(" ", 1)[0]
                current = families.setdefault(family_name, _Family())
                if kind == "HELP" and current.help is None:
                    current.help = line
                elif kind == "TYPE" and current.type is None:
                    current.type = line
                continue
            if line.startswith("#"):
                continue  # comments, EOF markers
            current.samples.append(label_sample(line, label, value))
    out: list[str] = []
    for family in families.values():
        out += [h for h in (family.help, family.type) if h is not None]
        out += family.samples
    return ("\n".join(out) + "\n").encode() if out else b""
