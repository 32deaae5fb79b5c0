"""Secrets by reference: environment variables, files, and hashes of client keys.

A config never holds a usable secret. Client keys and the admin token are
stored as ``sha256:<hex>`` (see ``livesvc hash-key``) and checked in constant
time; upstream credentials are named by environment variable or file.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path

__all__ = ["SecretUnavailable", "generate_key", "hash_key", "key_matches", "read_secret"]


class SecretUnavailable(LookupError):
    """A referenced secret cannot be read; the message names the reference, never a value."""


# How environment variables are conventionally named. A reference that does not
# look like one is likely the secret itself, pasted by mistake: never echo it.
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,63}")


def _unset(env: str) -> str:
    """Why the variable ``env`` gives nothing, without echoing a value that may be a secret.

    >>> _unset("GEMINI_API_KEY")
    'environment variable GEMINI_API_KEY is not set'
    >>> _unset("AIzaSyD-pasted_secret")
    'the value is not an environment variable name (UPPER_CASE, at most 64 characters): name the variable that holds the secret, never the secret itself'
    """
    if _ENV_NAME.fullmatch(env):
        return f"environment variable {env} is not set"
    return (
        "the value is not an environment variable name (UPPER_CASE, at most 64 characters):"
        " name the variable that holds the secret, never the secret itself"
    )


def hash_key(key: str) -> str:
    """Return the config form of a client key or admin token.

    Keys are long random strings, so one SHA-256 is enough (no dictionary to attack).

    >>> hash_key("dev-key")[:7]
    'sha256:'
    """
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def key_matches(key: str, stored_hash: str) -> bool:
    """Compare a presented key with a stored ``sha256:`` hash in constant time.

    >>> key_matches("dev-key", hash_key("dev-key"))
    True
    """
    return hmac.compare_digest(hash_key(key).encode(), stored_hash.encode())


def generate_key(prefix: str = "lsk_") -> str:
    """A new random client key (256 bits), for ``livesvc hash-key --generate``."""
    return prefix + secrets.token_urlsafe(32)


def read_secret(
    *, env: str | None, file: str | None, environ: Mapping[str, str] | None = None
) -> str | None:
    """Resolve a secret named by ``env`` or ``file``; ``None`` when neither is configured.

    Blocking (reads a file): run it in a thread under trio. Surrounding whitespace
    is stripped, as files usually end with a newline.

    Raises:
        SecretUnavailable: the variable is unset or empty, or the file cannot be read.
    """
    environ = os.environ if environ is None else environ
    if env is not None:
        value = environ.get(env, "").strip()
        if not value:
            raise SecretUnavailable(_unset(env))
        return value
    if file is not None:
        try:
            value = Path(file).read_text(encoding="utf-8").strip()
        except OSError as err:
            raise SecretUnavailable(f"cannot read {file}: {err.strerror}") from err
        if not value:
            raise SecretUnavailable(f"{file} is empty")
        return value
    return None
