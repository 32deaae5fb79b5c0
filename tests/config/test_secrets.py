"""Secrets by reference and key hashes compared in constant time."""

from pathlib import Path

import pytest

from livesvc.config import SecretUnavailable, generate_key, hash_key, key_matches, read_secret


def test_hash_is_stable_and_matches_only_its_key():
    stored = hash_key("dev-key")
    assert stored == "sha256:7e9f8fd111802be56c379d597842e29b2cebd35ff2133d431a49fa556a18704e"
    assert key_matches("dev-key", stored)
    assert not key_matches("dev-key ", stored)
    assert not key_matches("", stored)


def test_generated_keys_are_unique_and_long():
    a, b = generate_key(), generate_key()
    assert a != b
    assert a.startswith("lsk_")
    assert len(a) >= 40


def test_read_secret_from_env_and_file(tmp_path: Path):
    assert read_secret(env="K", file=None, environ={"K": " v1\n"}) == "v1"
    path = tmp_path / "key"
    path.write_text("v2\n")
    assert read_secret(env=None, file=str(path)) == "v2"
    assert read_secret(env=None, file=None) is None


def test_unavailable_secret_names_the_reference_not_a_value(tmp_path: Path):
    with pytest.raises(SecretUnavailable, match="environment variable K is not set"):
        read_secret(env="K", file=None, environ={})
    with pytest.raises(SecretUnavailable, match="cannot read"):
        read_secret(env=None, file=str(tmp_path / "missing"))
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(SecretUnavailable, match="is empty"):
        read_secret(env=None, file=str(empty))
