"""``livesvc check-config`` and ``livesvc hash-key`` as a user runs them."""

import io
import sys
from pathlib import Path

import pytest

from livesvc.cli import main
from livesvc.config import hash_key

REPO = Path(__file__).parents[2]


def test_check_config_accepts_the_example(capsys: pytest.CaptureFixture[str]):
    assert main(["check-config", str(REPO / "config" / "livesvc.toml")]) == 0
    out = capsys.readouterr().out
    assert "livesvc.toml: ok" in out
    assert "gateway   wss://127.0.0.1:8443 (tls self-signed)" in out
    assert "upstream  emulator (embedded)" in out


def test_check_config_reports_every_error_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[admin]\nport = 8443\ntoken_env = "T"\n[gateway]\ndefault_profile = "x"\n[profiles.default]\nmodel = "m"\n'
    )
    assert main(["check-config", str(bad)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"{bad}:2: admin.port: expected a port other than gateway.port (8443)",
        f"{bad}:5: gateway.default_profile: expected one of the profiles (default), got 'x'",
    ]


def test_check_config_warns_about_unset_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("LIVESVC_NOT_SET", raising=False)
    good = tmp_path / "good.toml"
    good.write_text('[admin]\ntoken_env = "LIVESVC_NOT_SET"\n[profiles.default]\nmodel = "m"\n')
    assert main(["check-config", str(good)]) == 0
    assert "warning: " in capsys.readouterr().err


def test_hash_key_reads_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    monkeypatch.setattr(sys, "stdin", io.StringIO("dev-key\n"))
    assert main(["hash-key"]) == 0
    assert capsys.readouterr().out.strip() == hash_key("dev-key")


def test_hash_key_generate_prints_a_key_and_its_hash(capsys: pytest.CaptureFixture[str]):
    assert main(["hash-key", "--generate"]) == 0
    key, digest = capsys.readouterr().out.split()
    assert digest == hash_key(key)
