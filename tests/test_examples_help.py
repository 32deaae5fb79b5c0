"""Every example explains TLS and takes --ca; every documented example command names its interpreter."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p for p in (REPO / "examples").glob("*.py") if not p.name.startswith("_"))
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), *EXAMPLES]


def test_there_are_examples():
    assert {p.name for p in EXAMPLES} >= {"live_gateway_audio.py", "live_text_chat.py"}


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_each_example_takes_ca_and_explains_tls_in_its_help(example: Path):
    done = subprocess.run(
        [sys.executable, str(example), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    assert re.search(r"^\s+--ca\b", done.stdout, flags=re.M), done.stdout
    assert "TLS" in done.stdout
    assert ".livesvc/tls/ca.pem" in done.stdout  # where `make run` writes the gateway's CA
    # The examples block of --help shows how to run it, with the venv's interpreter.
    assert f".venv/bin/python examples/{example.name}" in done.stdout


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_every_example_command_shows_the_interpreter(document: Path):
    text = document.read_text()
    for match in re.finditer(r"(\S*)\s?examples/[a-z_]+\.py", text):
        before = text[max(0, match.start() - 20) : match.start(0) + len(match[1]) + 1]
        if not re.search(r"python\s?$|python examples/$", before):
            continue  # a path in prose (a table of files), not a command
        assert match[1].endswith(".venv/bin/python"), f"{document.name}: {match[0]!r}"
