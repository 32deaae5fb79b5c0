"""/metrics follows Prometheus conventions, and docs/daemon.md lists exactly what it exposes."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
import trio
from prometheus_client.parser import text_string_to_metric_families

from livesvc import __version__
from livesvc.config import load_config
from livesvc.daemon._daemon import Daemon
from livesvc.daemon._master import Master
from livesvc.metrics import DaemonMetrics

from .e2e_support import ADMIN_TOKEN, Conversation, config_text, in_thread, run_sdk

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


def test_every_metric_named_anywhere_in_the_docs_is_in_the_table_as_exposed():
    """Prose outside the table names metrics by their exposed names, with documented labels."""
    docs = documented()
    mentions = re.findall(
        r"`((?:livesvc_|process_|python_)[a-z0-9_]+|[a-z0-9_]+_total)(?:\{([^`}]*)\})?`",
        DOCS.read_text(),
    )
    for name, labels in mentions:
        assert name in docs, f"docs/daemon.md names `{name}`, which /metrics does not expose"
        keys = {pair.split("=", 1)[0] for pair in labels.split(",") if pair}
        assert keys <= docs[name][1], (name, keys)
    assert len(mentions) > len(docs)  # the table's rows and the prose's mentions


def test_every_declared_label_set_is_documented():
    """Families with no sample in a short run (usage, budgets, errors) still match the table."""
    docs = documented()
    checked = 0
    for collector in list(DaemonMetrics().registry._collector_to_names):
        labelnames = getattr(collector, "_labelnames", None)
        if labelnames is None:
            continue  # collectors without declared labels are checked on the live scrape
        for family in collector.describe():
            name = family.name + ("_total" if family.type == "counter" else "")
            assert docs[name][1] == set(labelnames), name
            checked += 1
    assert checked >= 20


async def test_the_master_exposes_its_own_process_and_build_metrics(tmp_path: Path):
    """With workers > 1 the master's own series (before any worker answers) follow the table."""
    path = tmp_path / "live.toml"
    text = config_text(state_dir=str(tmp_path / "state"))
    path.write_text(text.replace("[service]\n", "[service]\nworkers = 2\n", 1))
    master = Master(load_config(path), config_path=str(path), handle_signals=False)
    body, _ = await master.metrics_exposition()
    text = body.decode()
    docs = documented()
    families = {
        f.name + ("_total" if f.type == "counter" else ""): f
        for f in text_string_to_metric_families(text)
    }
    assert set(families) <= set(docs)
    assert {
        "livesvc_build_info",
        "python_info",
        "process_resident_memory_bytes",
        "livesvc_workers_running",
        "livesvc_worker_exits_total",
    } <= set(families)
    for name, family in families.items():
        assert docs[name][0] == family.type, name
        for sample in family.samples:
            assert sample.labels["worker"] == "master", sample
            assert set(sample.labels) - {"worker", "le"} == docs[name][1], sample
    assert "_created" not in text
