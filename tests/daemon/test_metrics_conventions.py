"""/metrics follows Prometheus conventions, and docs/daemon.md lists exactly what it exposes."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
import trio

from livesvc import __version__
from livesvc.daemon._daemon import Daemon

from .e2e_support import ADMIN_TOKEN, Conversation, in_thread, run_sdk

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

DOCS = Path(__file__).resolve().parents[2] / "docs" / "daemon.md"
MASTER_ONLY = {"livesvc_workers_running", "livesvc_worker_exits_total"}


def documented() -> dict[str, tuple[str, set[str]]]:
    """``metric -> (type, labels)`` from the table in docs/daemon.md's Metrics section."""
    text = DOCS.read_text()
    section = text.split("\n## Metrics\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z_]+)` \| (\w+) \| ([^|]*) \|", section, flags=re.M)
    return {name: (kind, set(re.findall(r"`(\w+)`", labels))) for name, kind, labels in rows}


async def scrape(daemon: Daemon) -> str:
    async with httpx.AsyncClient(base_url=daemon.admin_url or "") as http:
        response = await http.get("/metrics", headers={"authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.status_code == 200
    return response.text


async def test_the_exposition_matches_the_docs_and_the_conventions(daemon: Daemon):
    async def script(chat: Conversation) -> str:
        return await chat.say("hello")

    assert daemon.gateway_url is not None
    assert daemon.ca_file is not None
    with trio.fail_after(40):
        await in_thread(run_sdk, daemon.gateway_url, daemon.ca_file, script)
        text = await scrape(daemon)
    exposed = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, flags=re.M))
    # Counters are declared without _total in TYPE lines by the text format.
    exposed = {
        (name + "_total" if kind == "counter" and not name.endswith("_total") else name): kind
        for name, kind in exposed.items()
    }
    docs = documented()
    assert set(exposed) == set(docs) - MASTER_ONLY
    for name, kind in exposed.items():
        assert docs[name][0] == kind, name
    # Labels, wherever a sample shows them.
    for name, labels in re.findall(r"^([a-z_]+)\{([^}]*)\} ", text, flags=re.M):
        family = re.sub(r"_(bucket|count|sum)$", "", name)
        family = family if family in docs else name
        keys = set(re.findall(r"(\w+)=", labels)) - {"le"}
        assert keys == docs[family][1], (name, keys)
    assert "_created" not in text
    assert 'livesvc_build_info{python="' in text
    assert f'version="{__version__}"' in text
    for process in (
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
    ):
        assert re.search(rf"^{process} \d", text, flags=re.M), process
