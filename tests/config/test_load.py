"""Reading TOML into Config: the error names the file, the key path and what was expected."""

from pathlib import Path

import pytest

from livesvc.config import ConfigError, load_config, parse_config

MINIMAL = """
[admin]
token_env = "ADMIN_TOKEN"

[profiles.default]
model = "gemini-live-2.5-flash-preview"
"""


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(text, source="f.toml")
    return str(info.value)


def test_minimal_file_gets_documented_defaults(tmp_path: Path):
    config = parse_config(MINIMAL, source="f.toml", base_dir=tmp_path)
    assert config.gateway.host == "127.0.0.1"
    assert config.gateway.port == 8443
    assert config.admin.host == "127.0.0.1"
    assert config.upstream.backend == "emulator"
    assert config.profiles["default"].model == "gemini-live-2.5-flash-preview"
    assert config.source == "f.toml"


def test_relative_paths_resolve_against_the_config_directory(tmp_path: Path):
    text = (
        MINIMAL
        + '[service]\nstate_dir = "state"\n[gateway.tls]\nmode = "files"\ncert_file = "c.pem"\nkey_file = "/abs/k.pem"\n'
    )
    config = parse_config(text, base_dir=tmp_path)
    assert config.service.state_dir == str(tmp_path / "state")
    assert config.store.path == str(tmp_path / "state" / "livesvc.db")
    assert config.gateway.tls.self_signed_dir == str(tmp_path / "state" / "tls")
    assert config.gateway.tls.cert_file == str(tmp_path / "c.pem")
    assert config.gateway.tls.key_file == "/abs/k.pem"


def test_load_config_reads_the_file_and_anchors_paths(tmp_path: Path):
    path = tmp_path / "conf" / "live.toml"
    path.parent.mkdir()
    path.write_text(MINIMAL + '[store]\npath = "db/x.db"\n')
    config = load_config(path)
    assert config.source == str(path)
    assert config.store.path == str(path.parent / "db" / "x.db")


def test_missing_file_is_named():
    with pytest.raises(ConfigError) as info:
        load_config("/nonexistent/live.toml")
    assert str(info.value).startswith("/nonexistent/live.toml: cannot read")


def test_invalid_toml_names_file_and_position():
    assert error_of("[gateway\nport = 1\n").startswith("f.toml:1: invalid TOML:")
    assert "line 1" in error_of("[gateway\nport = 1\n")


def test_wrong_type_names_key_path_and_expectation():
    assert (
        error_of(MINIMAL + '[gateway]\nport = "x"\n')
        == "f.toml:8: gateway.port: expected int, got str"
    )


def test_out_of_range_value_shows_bound_and_value():
    assert error_of(MINIMAL + "[gateway]\nport = 70000\n") == (
        "f.toml:8: gateway.port: expected int <= 65535, got 70000"
    )


def test_unknown_key_suggests_the_close_one():
    assert error_of(MINIMAL + "[gateway]\nprot = 1\n") == (
        "f.toml:8: gateway.prot: unknown key (did you mean `port`?)"
    )


def test_unknown_top_level_section_is_rejected():
    assert "gatway: unknown key (did you mean `gateway`?)" in error_of(MINIMAL + "[gatway]\n")


def test_bad_choice_lists_the_choices():
    assert error_of(MINIMAL + '[gateway.tls]\nmode = "selfsigned"\n') == (
        "f.toml:8: gateway.tls.mode: expected one of 'off', 'files', 'self-signed', "
        "got 'selfsigned' (did you mean 'self-signed'?)"
    )


def test_errors_inside_a_profile_name_the_profile_and_list_index():
    text = MINIMAL + '[[profiles.default.tools]]\nfunction = "m:f"\ntimeout_seconds = -1\n'
    assert error_of(text) == (
        "f.toml:9: profiles.default.tools[0].timeout_seconds: expected float > 0.0, got -1"
    )


def test_missing_required_key_is_named():
    assert error_of('[admin]\ntoken_env = "T"\n[profiles.voice]\nsystem_instruction = "x"\n') == (
        "f.toml:3: profiles.voice.model: required key is missing\n"
        # a second, independent problem in the same file: no profile named "default"
        "f.toml: gateway.default_profile: expected one of the profiles (voice), got 'default'"
    )


def test_import_path_format_is_explained():
    text = MINIMAL + '[[profiles.default.tools]]\nfunction = "pkg.mod"\n'
    assert error_of(text) == (
        "f.toml:8: profiles.default.tools[0].function: expected an import path like "
        "`package.module:function`, got 'pkg.mod'"
    )


def test_a_plain_key_pasted_as_hash_is_not_echoed():
    text = MINIMAL + '[[gateway.keys]]\nname = "a"\nhash = "my-secret-key"\n'
    message = error_of(text)
    assert message.startswith(
        "f.toml:9: gateway.keys[0].hash: expected a hash printed by `livesvc hash-key`"
    )
    assert "my-secret-key" not in message


def test_source_is_not_a_settable_key():
    assert (
        error_of(MINIMAL.replace("[admin]", 'source = "x"\n[admin]'))
        == "f.toml:2: source: unknown key"
    )


def test_profiles_must_be_tables():
    assert (
        error_of('[admin]\ntoken_env = "T"\n[profiles]\nx = 1\n')
        == "f.toml:4: profiles.x: expected a table, got int"
    )


def test_example_config_is_valid():
    config = load_config(Path(__file__).parents[2] / "config" / "livesvc.toml")
    assert config.upstream.backend == "emulator"
    assert config.gateway.tls.mode == "self-signed"
    assert config.gateway.keys[0].name == "dev"
