"""Check a profile's Live setup fields with the wire decoder, the same one clients go through."""

from __future__ import annotations

import re

import msgspec

from livesvc.config._errors import ConfigIssue
from livesvc.config._schema import Profile
from livesvc.wire import WireDecodeError, decode_client

__all__ = ["check_profile_setup"]

_encoder = msgspec.json.Encoder()
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


def check_profile_setup(where: str, profile: Profile) -> list[ConfigIssue]:
    """Decode the profile's ``generation_config`` and ``setup`` tables as a Live ``setup``.

    Issues are reported under ``where`` (``profiles.NAME``), e.g.
    ``profiles.default.generation_config.temperature: expected float, got str``.
    """
    setup = {
        "model": profile.model,
        "generation_config": profile.generation_config,
        **profile.setup,
    }
    try:
        decode_client(_encoder.encode({"setup": setup}))
    except WireDecodeError as err:
        return [ConfigIssue(path=_profile_path(where, err.path), message=_expected(err.reason))]
    return []


def _profile_path(where: str, wire_path: str) -> str:
    parts = [_CAMEL.sub(lambda m: "_" + m.group(1).lower(), p) for p in wire_path.split(".")]
    # "$", "setup", then the field path inside the setup message.
    rest = parts[2:]
    if not rest:
        return where
    if rest[0] == "generation_config":
        return ".".join([where, *rest])
    return ".".join([where, "setup", *rest])


def _expected(reason: str) -> str:
    text = reason.replace("`", "").replace(" | null", "")
    return text[:1].lower() + text[1:]
