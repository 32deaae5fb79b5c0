"""Read a TOML configuration into :class:`Config`, with errors a person can act on."""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin, get_type_hints

import msgspec

from livesvc.config._errors import ConfigError, ConfigIssue
from livesvc.config._schema import Config, Profile
from livesvc.config._semantics import check_semantics

__all__ = ["load_config", "parse_config"]

_MSGSPEC_ERROR = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_UNKNOWN_FIELD = re.compile(r"^Object contains unknown field `(?P<field>[^`]+)`$")
_EXPECTED = re.compile(r"^Expected `(?P<rest>.*)$")

# A hook that validates Live setup fields written in a profile (wired to livesvc.wire
# when it is importable); it returns issues with paths relative to the profile.
SetupValidator = Callable[[str, Profile], list[ConfigIssue]]


def _default_setup_validator() -> SetupValidator:
    from livesvc.config._wire_check import check_profile_setup

    return check_profile_setup


def load_config(
    path: str | os.PathLike[str], *, setup_validator: SetupValidator | None = None
) -> Config:
    """Read and validate the TOML file at ``path``. Blocking: call it from a thread in trio.

    Relative paths inside the file resolve against the file's directory. Profile
    setup fields are checked with the Live wire decoder unless ``setup_validator``
    replaces it.

    Raises:
        ConfigError: the file is missing, is not TOML, or does not fit the schema.

    Example::

        config = load_config("config/livesvc.toml")
        config.gateway.port   # 8443
    """
    source = os.fspath(path)
    try:
        text = Path(source).read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(
            source, [ConfigIssue(path="", message=f"cannot read: {err.strerror}")]
        ) from err
    except UnicodeDecodeError as err:
        raise ConfigError(source, [ConfigIssue(path="", message="not UTF-8 text")]) from err
    return parse_config(
        text, source=source, base_dir=Path(source).resolve().parent, setup_validator=setup_validator
    )


def parse_config(
    text: str,
    *,
    source: str = "<memory>",
    base_dir: Path | None = None,
    setup_validator: SetupValidator | None = None,
) -> Config:
    """Validate TOML ``text``; ``source`` names it in errors, ``base_dir`` anchors relative paths.

    Example::

        config = parse_config('[profiles.default]\\nmodel = "m"\\n', source="inline")
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(source, [ConfigIssue(path="", message=f"invalid TOML: {err}")]) from err
    if "source" in raw:
        raise ConfigError(source, [_unknown_key("", "source")])

    raw_profiles = raw.pop("profiles", {})
    if not isinstance(raw_profiles, dict):
        raise ConfigError(
            source,
            [ConfigIssue(path="profiles", message="expected a table of [profiles.NAME] tables")],
        )
    # Profiles are converted one by one so an error names the profile
    # (msgspec reports dict values as `[...]`).
    config = _convert(raw, Config, source, prefix="")
    profiles: dict[str, Profile] = {}
    for name, raw_profile in raw_profiles.items():
        if not isinstance(raw_profile, dict):
            raise ConfigError(
                source, [ConfigIssue(path=f"profiles.{name}", message="expected a table")]
            )
        profiles[name] = _convert(raw_profile, Profile, source, prefix=f"profiles.{name}")
    config = msgspec.structs.replace(config, profiles=profiles, source=source)
    config = _resolve_paths(config, base_dir or Path.cwd())

    issues = check_semantics(config)
    setup_validator = setup_validator or _default_setup_validator()
    for name, profile in config.profiles.items():
        where = f"profiles.{name}"
        # A profile already reported (e.g. unknown fields) would only be reported twice.
        if not any(i.path == where or i.path.startswith(where + ".") for i in issues):
            issues.extend(setup_validator(where, profile))
    if issues:
        raise ConfigError(source, issues)
    return config


def _convert(raw: Any, kind: type[Any], source: str, *, prefix: str) -> Any:
    try:
        return msgspec.convert(raw, kind, strict=True)
    except msgspec.ValidationError as err:
        raise ConfigError(source, [_translate(str(err), kind, prefix, raw)]) from err


def _join(prefix: str, path: str) -> str:
    path = path.lstrip(".")
    if not prefix:
        return path
    if not path:
        return prefix
    return f"{prefix}{path}" if path.startswith("[") else f"{prefix}.{path}"


# Regex constraints described in words rather than as the pattern itself.
_PATTERN_WORDS = {
    r"^sha256:[0-9a-f]{64}$": "a hash printed by `livesvc hash-key` (sha256: and 64 hex digits)",
    r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_.]*$": "an import path like `package.module:function`",
    r"^[A-Za-z0-9_.-]+$": "a name of letters, digits, `_`, `.` or `-`",
}


def _translate(message: str, kind: type[Any], prefix: str, raw: Any = None) -> ConfigIssue:
    """Turn msgspec's ``Expected `int`, got `str` - at `$.a.b``` into ``a.b: expected int, got str``."""
    match = _MSGSPEC_ERROR.match(message)
    assert match is not None  # the pattern matches any string
    what, path = match["what"], match["path"] or ""
    where = _join(prefix, path)
    if unknown := _UNKNOWN_FIELD.match(what):
        return _unknown_key(where, unknown["field"], _field_names_at(kind, path))
    if what.startswith("Invalid enum value"):
        choices = _literal_choices_at(kind, path)
        value = what.removeprefix("Invalid enum value").strip()
        if choices:
            return ConfigIssue(
                path=where, message=f"expected one of {', '.join(map(repr, choices))}, got {value}"
            )
    if what.startswith("Object missing required field"):
        field = what.split("`")[1]
        return ConfigIssue(path=_join(where, field), message="required key is missing")
    if expected := _EXPECTED.match(what):
        text = "expected " + expected["rest"].replace("`", "")
        secret_like = False
        for pattern, words in _PATTERN_WORDS.items():
            if text.endswith(f"matching regex {pattern!r}"):
                text = f"expected {words}"
                # A plain key pasted where its hash belongs must not be echoed.
                secret_like = pattern.startswith("^sha256")
        if (
            not secret_like
            and ", got " not in text
            and (value := _raw_at(raw, path)) is not _MISSING
        ):
            text += f", got {value!r}"
        return ConfigIssue(path=where, message=text)
    return ConfigIssue(path=where, message=what[:1].lower() + what[1:])


_MISSING = object()


def _raw_at(raw: Any, path: str) -> Any:
    """The value the file holds at a msgspec error path, or ``_MISSING``."""
    for name, index in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
        try:
            raw = raw[name] if name else raw[int(index)]
        except (KeyError, IndexError, TypeError):
            return _MISSING
    if "[...]" in path:
        return _MISSING
    return raw


def _unknown_key(where: str, field: str, known: list[str] | None = None) -> ConfigIssue:
    hint = ""
    if known:
        close = difflib.get_close_matches(field, known, n=1)
        hint = f" (did you mean `{close[0]}`?)" if close else f" (known keys: {', '.join(known)})"
    return ConfigIssue(path=_join(where, field), message=f"unknown key{hint}")


def _type_at(kind: Any, path: str) -> Any:
    """Follow a msgspec error path (``.a.b[0].c``) through struct annotations."""
    for part in re.findall(r"\.([A-Za-z0-9_]+)|\[(?:\d+|\.\.\.)\]", path):
        kind = _unwrap(kind)
        if part:  # attribute
            hints = _struct_hints(kind)
            if hints is None or part not in hints:
                return None
            kind = hints[part]
        else:  # element of a list or dict value
            args = get_args(kind)
            if not args:
                return None
            kind = args[-1]
    return _unwrap(kind)


def _unwrap(kind: Any) -> Any:
    """Strip ``Annotated`` and ``X | None`` down to the interesting type."""
    while True:
        origin = get_origin(kind)
        args = get_args(kind)
        if origin is Annotated:
            kind = args[0]
        elif args and type(None) in args and origin is not list and origin is not dict:
            rest = [a for a in args if a is not type(None)]
            if len(rest) != 1:
                return kind
            kind = rest[0]
        else:
            return kind


def _struct_hints(kind: Any) -> dict[str, Any] | None:
    if isinstance(kind, type) and issubclass(kind, msgspec.Struct):
        return get_type_hints(kind, include_extras=True)
    return None


def _field_names_at(kind: Any, path: str) -> list[str]:
    hints = _struct_hints(_type_at(kind, path))
    return sorted(h for h in hints or () if h != "source")


def _literal_choices_at(kind: Any, path: str) -> list[str]:
    target = _type_at(kind, path)
    if get_origin(target) is Literal:
        return [str(a) for a in get_args(target)]
    return []


def _resolve_paths(config: Config, base_dir: Path) -> Config:
    def resolve(value: str | None) -> str | None:
        if value is None:
            return None
        path = Path(value).expanduser()
        return str(path if path.is_absolute() else (base_dir / path).resolve())

    state_dir = resolve(config.service.state_dir)
    assert state_dir is not None
    replace = msgspec.structs.replace
    tls = config.gateway.tls
    return replace(
        config,
        service=replace(config.service, state_dir=state_dir),
        gateway=replace(
            config.gateway,
            tls=replace(
                tls,
                cert_file=resolve(tls.cert_file),
                key_file=resolve(tls.key_file),
                self_signed_dir=resolve(tls.self_signed_dir) or str(Path(state_dir) / "tls"),
            ),
        ),
        admin=replace(config.admin, token_file=resolve(config.admin.token_file)),
        upstream=replace(
            config.upstream,
            ca_file=resolve(config.upstream.ca_file),
            api_key_file=resolve(config.upstream.api_key_file),
            credentials_file=resolve(config.upstream.credentials_file),
        ),
        store=replace(
            config.store, path=resolve(config.store.path) or str(Path(state_dir) / "livesvc.db")
        ),
    )
