"""SIGHUP reload: a good file is applied to new sessions, a bad one is logged and the old one stays."""

import os
import signal
from pathlib import Path

import pytest
import trio
from structlog.testing import capture_logs

from livesvc.config import load_config
from livesvc.daemon._reload import ConfigHolder, ConfigWatcher
from livesvc.metrics import DaemonMetrics

GOOD = """
[admin]
token_env = "LIVESVC_TEST_ADMIN_TOKEN"
[gateway]
port = {port}
[profiles.default]
model = "{model}"
"""


@pytest.fixture(autouse=True)
def _admin_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVESVC_TEST_ADMIN_TOKEN", "t")


def write(path: Path, *, model: str = "m1", port: int = 9000) -> None:
    path.write_text(GOOD.format(model=model, port=port))


def setup(tmp_path: Path) -> tuple[Path, ConfigHolder, DaemonMetrics, ConfigWatcher]:
    path = tmp_path / "live.toml"
    write(path)
    holder = ConfigHolder(load_config(path))
    metrics = DaemonMetrics()
    return path, holder, metrics, ConfigWatcher(str(path), holder, metrics)


def reloads(metrics: DaemonMetrics, result: str) -> float:
    value = metrics.registry.get_sample_value("livesvc_config_reloads_total", {"result": result})
    return value or 0.0


async def test_good_file_is_applied(tmp_path: Path):
    path, holder, metrics, watcher = setup(tmp_path)
    write(path, model="m2")
    with capture_logs() as logs:
        assert await watcher.reload()
    assert holder.current.profiles["default"].model == "m2"
    assert holder.generation == 2
    assert reloads(metrics, "applied") == 1
    assert [e["event"] for e in logs] == ["config.reloading", "config.reloaded"]


async def test_bad_file_is_rejected_and_the_old_config_stays(tmp_path: Path):
    path, holder, metrics, watcher = setup(tmp_path)
    before = holder.current
    # Two mistakes: the rejection logs both, each with its line.
    path.write_text(
        GOOD.format(model="m2", port=9000)
        .replace("[gateway]", "[gateway]\nprot = 1")
        .replace('model = "m2"', "model = 2")
    )
    with capture_logs() as logs:
        assert not await watcher.reload()
    assert holder.current is before
    assert holder.generation == 1
    assert reloads(metrics, "rejected") == 1
    rejected = [e for e in logs if e["event"] == "config.reload_rejected"]
    assert rejected[0]["errors"] == [
        f"{path}:5: gateway.prot: unknown key (did you mean `port`?)",
        f"{path}:8: profiles.default.model: expected str, got int",
    ]
    assert rejected[0]["log_level"] == "error"


async def test_missing_secret_is_rejected_on_reload(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    path, holder, _metrics, watcher = setup(tmp_path)
    monkeypatch.delenv("LIVESVC_TEST_ADMIN_TOKEN")
    write(path, model="m2")
    assert not await watcher.reload()
    assert holder.current.profiles["default"].model == "m1"


async def test_listen_address_changes_wait_for_a_restart(tmp_path: Path):
    path, holder, _metrics, watcher = setup(tmp_path)
    write(path, model="m2", port=9100)
    with capture_logs() as logs:
        assert await watcher.reload()
    assert holder.current.gateway.port == 9000
    assert holder.current.profiles["default"].model == "m2"
    warning = next(e for e in logs if e["event"] == "config.restart_required")
    assert warning["keys"] == ["gateway.port"]


async def test_sighup_triggers_a_reload(tmp_path: Path, nursery: trio.Nursery):
    path, holder, _metrics, watcher = setup(tmp_path)
    changed = trio.Event()
    holder.on_change(lambda old, new: changed.set())
    await nursery.start(watcher.run)
    write(path, model="m3")
    with trio.fail_after(10):
        os.kill(os.getpid(), signal.SIGHUP)
        await changed.wait()
    assert holder.current.profiles["default"].model == "m3"
    nursery.cancel_scope.cancel()
