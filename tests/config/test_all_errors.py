"""Every problem in a config file in one run, each with its line, key path, expectation and hint."""

from pathlib import Path

import pytest

from livesvc.cli import main
from livesvc.config import ConfigError, load_checked, load_config

FOUR_MISTAKES = """\
[admin]
token_env = "LIVESVC_TEST_ADMIN"

[gateway]
port = "8443"

[gateway.limits]
max_clinets = 10

[upstream]
backend = "gemni"

[profiles.default]
model = "m"
client_overridable = [
    "generation_config.temperature",
    "temprature",
]
"""


def test_four_mistakes_give_four_problems_with_lines_in_one_run(tmp_path: Path):
    path = tmp_path / "live.toml"
    path.write_text(FOUR_MISTAKES)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    found = [(i.line, i.path, i.message, i.hint) for i in info.value.issues]
    assert found == [
        (5, "gateway.port", "expected int, got str", "write the number without quotes: 8443"),
        (8, "gateway.limits.max_clinets", "unknown key", "did you mean `max_clients`?"),
        (
            11,
            "upstream.backend",
            "expected one of 'emulator', 'gemini', 'vertex', got 'gemni'",
            "did you mean 'gemini'?",
        ),
        (
            17,
            "profiles.default.client_overridable[1]",
            "expected a setup field path such as `generation_config.temperature` or "
            "`system_instruction`, got 'temprature'",
            None,
        ),
    ]


def test_check_config_prints_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    path = tmp_path / "live.toml"
    # A fifth problem only the full check sees: a tool that cannot be imported.
    path.write_text(FOUR_MISTAKES + '[[profiles.default.tools]]\nfunction = "no_such_mod_x:f"\n')
    assert main(["check-config", str(path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[:3] == [
        f"{path}:5: gateway.port: expected int, got str (write the number without quotes: 8443)",
        f"{path}:8: gateway.limits.max_clinets: unknown key (did you mean `max_clients`?)",
        f"{path}:11: upstream.backend: expected one of 'emulator', 'gemini', 'vertex', "
        "got 'gemni' (did you mean 'gemini'?)",
    ]
    assert err[3].startswith(f"{path}:17: profiles.default.client_overridable[1]: ")
    assert err[4].startswith(
        f"{path}:20: profiles.default.tools[0].function: cannot import 'no_such_mod_x:f'"
    )
    assert len(err) == 5


def test_a_missing_key_points_at_its_table(tmp_path: Path):
    path = tmp_path / "live.toml"
    path.write_text('[admin]\ntoken_env = "T"\n\n[profiles.voice]\nsystem_instruction = "x"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    first = info.value.issues[0]
    assert (first.line, first.path, first.message) == (
        4,
        "profiles.voice.model",
        "required key is missing",
    )


def test_a_bad_key_is_not_reported_again_by_the_checks_that_span_keys(tmp_path: Path):
    # api_key_env has the wrong type; "gemini needs api_key_env" would only repeat it.
    path = tmp_path / "live.toml"
    path.write_text(
        '[admin]\ntoken_env = "T"\n[upstream]\nbackend = "gemini"\napi_key_env = 5\n'
        '[profiles.default]\nmodel = "m"\n'
    )
    with pytest.raises(ConfigError) as info:
        load_checked(path, strict_secrets=True, environ={"T": "t"})
    assert [(i.line, i.path) for i in info.value.issues] == [(5, "upstream.api_key_env")]


def test_secret_warnings_carry_lines(tmp_path: Path):
    path = tmp_path / "live.toml"
    path.write_text('[profiles.default]\nmodel = "m"\n\n[admin]\ntoken_env = "LIVESVC_UNSET_X"\n')
    _config, warnings = load_checked(path, strict_secrets=False, environ={})
    assert [(w.line, w.path) for w in warnings] == [(5, "admin.token_env")]


def test_key_lines_follow_toml_structure():
    from livesvc.config._lines import key_lines, line_of

    text = (
        'a = """x\n[fake]\ny"""\n'  # a multi-line string that looks like a table
        "b = [\n  1,\n  {c = 2},\n]\n"
        '"q.k".z = 1\n'
        "[[arr]]\nx = 1\n[[arr]]\nx = 2\n[arr.sub]\ny = 3\n"
    )
    lines = key_lines(text)
    assert "fake" not in lines
    assert (lines["b[1]"], lines["b[1].c"], lines["q.k.z"]) == (6, 6, 8)
    assert (lines["arr[0].x"], lines["arr[1].x"], lines["arr[1].sub.y"]) == (10, 12, 14)
    assert line_of(lines, "arr[1].sub.missing") == 13
    assert line_of(lines, "nowhere.at.all") is None


@pytest.mark.parametrize("text", ['"unterminated', "a = [1, }", "= = =", "[[a]", 'k = """x', "{}"])
def test_key_lines_ends_on_text_that_is_not_toml(text: str):
    from livesvc.config._lines import key_lines

    assert isinstance(key_lines(text), dict)
