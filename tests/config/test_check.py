"""load_checked: tool imports are errors; secrets are errors for serve, warnings for check-config."""

from pathlib import Path

import pytest

from livesvc.config import ConfigError, load_checked

TEXT = """
[admin]
token_env = "LIVESVC_TEST_ADMIN"

[profiles.default]
model = "m"

[[profiles.default.tools]]
function = "{function}"
"""


def write(tmp_path: Path, function: str = "livesvc.daemon.demo_tools:current_time") -> Path:
    path = tmp_path / "c.toml"
    path.write_text(TEXT.format(function=function))
    return path


def test_good_file_with_secret_present(tmp_path: Path):
    config, warnings = load_checked(
        write(tmp_path), strict_secrets=True, environ={"LIVESVC_TEST_ADMIN": "t"}
    )
    assert warnings == []
    assert config.profiles["default"].tools[0].function.endswith("current_time")


def test_missing_secret_is_a_warning_for_check_config_and_an_error_for_serve(tmp_path: Path):
    _, warnings = load_checked(write(tmp_path), strict_secrets=False, environ={})
    assert [(w.path, w.message) for w in warnings] == [
        ("admin.token_env", "environment variable LIVESVC_TEST_ADMIN is not set")
    ]
    with pytest.raises(
        ConfigError, match=r"admin\.token_env: environment variable LIVESVC_TEST_ADMIN is not set"
    ):
        load_checked(write(tmp_path), strict_secrets=True, environ={})


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        ("no_such_module_xyz:f", "cannot import 'no_such_module_xyz:f'"),
        ("os.path:no_such_function", "'os.path:no_such_function': no such attribute"),
        ("os:sep", "expected a callable, 'os:sep' is str"),
    ],
)
def test_tool_import_problems_are_errors(tmp_path: Path, function: str, expected: str):
    with pytest.raises(ConfigError) as info:
        load_checked(write(tmp_path, function), strict_secrets=False, environ={})
    assert info.value.issues[0].path == "profiles.default.tools[0].function"
    assert expected in info.value.issues[0].message


def test_tool_module_that_raises_on_import_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    (tmp_path / "explodes_on_import.py").write_text("raise RuntimeError('boom')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError, match="raised RuntimeError: boom"):
        load_checked(write(tmp_path, "explodes_on_import:f"), strict_secrets=False, environ={})


def test_a_secret_pasted_as_the_variable_name_is_never_echoed(tmp_path: Path):
    """An operator puts the key itself in api_key_env: check-config names the key path only."""
    import subprocess
    import sys

    pasted = "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"
    path = tmp_path / "c.toml"
    path.write_text(
        '[admin]\nenabled = false\n[upstream]\nbackend = "gemini"\n'
        f'api_key_env = "{pasted}"\n[profiles.default]\nmodel = "m"\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "livesvc", "check-config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    out = done.stdout + done.stderr
    assert "upstream.api_key_env" in out
    assert "not an environment variable name" in out
    assert pasted not in out
    assert pasted[:12] not in out
