"""``[service] workers``: an int >= 1, default 1, restart-only on SIGHUP."""

import pytest

from livesvc.config import ConfigError, parse_config
from livesvc.daemon._reload import RESTART_ONLY

MINIMAL = """
[service]
{service}
[admin]
token_env = "ADMIN_TOKEN"

[profiles.default]
model = "gemini-live-2.5-flash-preview"
"""


def error_of(service: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(MINIMAL.format(service=service), source="f.toml")
    return str(info.value)


def test_workers_default_to_one():
    assert parse_config(MINIMAL.format(service=""), source="f.toml").service.workers == 1


def test_workers_take_a_positive_int():
    config = parse_config(MINIMAL.format(service="workers = 4"), source="f.toml")
    assert config.service.workers == 4


def test_zero_workers_is_an_error_naming_the_key():
    assert error_of("workers = 0") == "f.toml:3: service.workers: expected int >= 1, got 0"


def test_workers_must_be_an_int():
    assert error_of('workers = "2"') == (
        "f.toml:3: service.workers: expected int, got str (write the number without quotes: 2)"
    )


def test_workers_need_a_restart():
    assert ("service", "workers") in RESTART_ONLY
