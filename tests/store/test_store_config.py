"""``[store] backend = "redis"``: what the config accepts and what it refuses, without echoing secrets."""

import pytest

from livesvc.config import ConfigError, parse_config

BASE = """
[admin]
token_env = "ADMIN_TOKEN"

[profiles.default]
model = "m"
"""


def issues_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, source="f.toml")
    return [f"{i.path}: {i.message}" for i in info.value.issues]


def test_sqlite_stays_the_default():
    assert parse_config(BASE, source="f.toml").store.backend == "sqlite"


def test_redis_with_a_url_is_accepted():
    config = parse_config(
        BASE + '[store]\nbackend = "redis"\nredis_url = "redis://127.0.0.1:6379/2"\n',
        source="f.toml",
    )
    assert (config.store.backend, config.store.redis_url) == ("redis", "redis://127.0.0.1:6379/2")


def test_redis_needs_a_url():
    assert issues_of(BASE + '[store]\nbackend = "redis"\n') == [
        'store.redis_url: expected a URL like "redis://127.0.0.1:6379/0" with backend = "redis"'
    ]


def test_a_password_in_the_url_is_refused_and_never_echoed():
    found = issues_of(
        BASE + '[store]\nbackend = "redis"\nredis_url = "redis://u:hunter2secret@h:6379/0"\n'
    )
    assert found == [
        "store.redis_url: a password in the URL is not accepted: secrets stay out of config files"
    ]
    assert "hunter2secret" not in str(found)


def test_redis_with_several_workers_is_refused_for_now():
    text = (
        BASE.replace("[admin]", "[service]\nworkers = 2\n[admin]")
        + '[store]\nbackend = "redis"\nredis_url = "redis://127.0.0.1:6379/0"\n'
    )
    assert issues_of(text) == [
        'store.backend: "redis" runs one process per node for now: set [service] workers = 1'
    ]
