"""``[cluster]``: a fleet needs Redis, a node name fit for handles, an address and a secret."""

from pathlib import Path

import pytest

from livesvc.config import ConfigError, load_checked

BASE = """
[admin]
enabled = false

[store]
backend = "{backend}"
redis_url = "redis://127.0.0.1:6379/0"

[cluster]
node = "{node}"
address = "{address}"
secret_env = "LIVESVC_TEST_CLUSTER"

[profiles.default]
model = "m"
"""


def load(tmp_path: Path, environ: dict[str, str], **fields: str) -> list[str]:
    values = {"backend": "redis", "node": "node-a", "address": "10.0.0.1:9000", **fields}
    path = tmp_path / "c.toml"
    path.write_text(BASE.format(**values))
    try:
        load_checked(path, strict_secrets=True, environ=environ)
    except ConfigError as err:
        return [issue.path for issue in err.issues]
    return []


def test_a_good_fleet_node_loads(tmp_path: Path):
    assert load(tmp_path, {"LIVESVC_TEST_CLUSTER": "s3cret-value"}) == []


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"backend": "sqlite"}, "cluster.node"),
        ({"node": "Node.A"}, "cluster.node"),
        ({"address": "10.0.0.1"}, "cluster.address"),
    ],
)
def test_bad_fleet_settings_are_named(tmp_path: Path, fields: dict[str, str], path: str):
    assert path in load(tmp_path, {"LIVESVC_TEST_CLUSTER": "x"}, **fields)


def test_a_missing_secret_stops_serve_and_is_never_echoed(tmp_path: Path):
    path = tmp_path / "c.toml"
    path.write_text(BASE.format(backend="redis", node="node-a", address="h:1"))
    with pytest.raises(ConfigError) as info:
        load_checked(path, strict_secrets=True, environ={})
    assert [i.path for i in info.value.issues] == ["cluster.secret_env"]
