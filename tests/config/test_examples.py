"""The production example configs pass `livesvc check-config` and hold no secret."""

import re
from pathlib import Path

import pytest

from livesvc.cli import main
from livesvc.config import load_checked

CONFIG = Path(__file__).parents[2] / "config"


@pytest.mark.parametrize(
    ("name", "backend"), [("gemini-api.toml", "gemini"), ("vertex-ai.toml", "vertex")]
)
def test_production_example_passes_check_config(
    name: str, backend: str, capsys: pytest.CaptureFixture[str]
):
    path = CONFIG / name
    assert main(["check-config", str(path)]) == 0
    out, err = capsys.readouterr()
    assert f"upstream  {backend} (default endpoint)" in out
    assert "gateway   wss://0.0.0.0:8443 (tls files)" in out
    # On a build machine only the deployment's secrets and files are missing.
    for line in err.splitlines():
        assert line.startswith(f"warning: {path}:"), line
        assert re.search(r"is not set$|no such file: /etc/livesvc/", line), line


@pytest.mark.parametrize("name", ["gemini-api.toml", "vertex-ai.toml"])
def test_production_example_names_secrets_by_reference(name: str):
    path = CONFIG / name
    config, _warnings = load_checked(path, strict_secrets=False, environ={})
    assert (config.admin.token_hash, config.admin.token_env) == (None, "LIVESVC_ADMIN_TOKEN")
    assert config.service.state_dir == "/var/lib/livesvc"
    upstream = config.upstream
    if upstream.backend == "gemini":
        assert (upstream.api_key_env, upstream.api_key_file) == ("GEMINI_API_KEY", None)
    else:
        assert upstream.credentials_file == "/etc/livesvc/vertex-sa.json"
    # No literal credential anywhere: no API key, private key or token-looking value.
    text = path.read_text()
    assert not re.search(r"AIza[0-9A-Za-z_-]{20,}|BEGIN [A-Z ]*PRIVATE KEY|ya29\.", text)
    # The client key placeholder matches no key at all.
    assert {key.hash for key in config.gateway.keys} == {"sha256:" + "0" * 64}


def test_license_file_matches_the_package_metadata():
    import tomllib

    root = CONFIG.parent
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert project["license"] == {"text": "Apache-2.0"}
    assert "License :: OSI Approved :: Apache Software License" in project["classifiers"]
    license_text = (root / "LICENSE").read_text()
    assert "Apache License" in license_text
    assert "Version 2.0, January 2004" in license_text
    # What a PyPI page shows besides the README.
    assert project["readme"] == "README.md"
    assert {"Homepage", "Documentation", "Source", "Issues"} <= set(project["urls"])
    assert project["keywords"]
