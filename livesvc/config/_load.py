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
from livesvc.config._lines import key_lines, line_of, toml_error_line
from livesvc.config._schema import Config, Profile
from livesvc.config._semantics import check_semantics

__all__ = [
    "check_text",
    "load_config",
    "locate",
    "merge_issues",
    "parse_config",
    "read_source",
]

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
        ConfigError: the file is missing, is not TOML, or does not fit the schema;
            it lists every problem found, each with its line.

    Example::

        config = load_config("config/livesvc.toml")
        config.gateway.port   # 8443
    """
    source, text = read_source(path)
    config, issues = check_text(
        text, source=source, base_dir=Path(source).resolve().parent, setup_validator=setup_validator
    )
    if issues or config is None:
        raise ConfigError(source, issues)
    return config


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
    config, issues = check_text(
        text, source=source, base_dir=base_dir, setup_validator=setup_validator
    )
    if issues or config is None:
        raise ConfigError(source, issues)
    return config


def read_source(path: str | os.PathLike[str]) -> tuple[str, str]:
    """``(source, text)`` of a config file; a file that cannot be read is a ConfigError."""
    source = os.fspath(path)
    try:
        return source, Path(source).read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(
            source, [ConfigIssue(path="", message=f"cannot read: {err.strerror}")]
        ) from err
    except UnicodeDecodeError as err:
        raise ConfigError(source, [ConfigIssue(path="", message="not UTF-8 text")]) from err


def check_text(
    text: str,
    *,
    source: str,
    base_dir: Path | None = None,
    setup_validator: SetupValidator | None = None,
) -> tuple[Config | None, list[ConfigIssue]]:
    """Every problem in TOML ``text`` (with lines), and the config its usable keys make.

    Keys with a problem are left out of that config (their defaults apply), so the
    checks that span keys still run on the rest; the config is None only when the
    text is not TOML.
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        line = toml_error_line(str(err))
        return None, [ConfigIssue(path="", message=f"invalid TOML: {err}", line=line)]
    issues: list[ConfigIssue] = []
    usable = _walk(raw, Config, "", issues)
    try:
        config = msgspec.convert(usable, Config, strict=True)
    except msgspec.ValidationError as err:  # a schema shape _walk does not follow
        issues.append(_translate(str(err), Config, "", usable))
        return None, locate(issues, text)
    config = msgspec.structs.replace(config, source=source)
    config = _resolve_paths(config, base_dir or Path.cwd())

    issues = merge_issues(issues, check_semantics(config))
    setup_validator = setup_validator or _default_setup_validator()
    for name, profile in config.profiles.items():
        where = f"profiles.{name}"
        # A profile already reported (e.g. unknown fields) would only be reported twice.
        if not any(i.path == where or i.path.startswith(where + ".") for i in issues):
            issues.extend(setup_validator(where, profile))
    return config, locate(issues, text)


def locate(issues: list[ConfigIssue], text: str) -> list[ConfigIssue]:
    """``issues`` with the line of their key path in ``text`` filled in, in file order.

    Issues about keys the file does not write (a default that conflicts) come last.
    """
    lines = key_lines(text)
    located = [
        issue
        if issue.line is not None
        else msgspec.structs.replace(issue, line=line_of(lines, issue.path))
        for issue in issues
    ]
    return sorted(located, key=lambda issue: (issue.line is None, issue.line or 0))


def merge_issues(first: list[ConfigIssue], more: list[ConfigIssue]) -> list[ConfigIssue]:
    """``first`` plus the issues of ``more`` not at, under or above a path ``first`` names.

    A key left out for a schema problem would otherwise be reported again by the
    checks that saw its default instead.
    """
    named = [issue.path for issue in first if issue.path]
    return first + [issue for issue in more if not any(_related(issue.path, p) for p in named)]


def _related(a: str, b: str) -> bool:
    """True when one key path is the other or lies inside it."""
    if not a or not b:
        return False
    return a == b or a.startswith((b + ".", b + "[")) or b.startswith((a + ".", a + "["))


def _walk(raw: Any, kind: Any, where: str, issues: list[ConfigIssue]) -> Any:
    """Check ``raw`` against ``kind`` key by key, appending an issue per problem.

    Returns what of ``raw`` is usable (bad keys left out), or ``_MISSING`` when
    nothing is. msgspec alone stops at the first error; walking the structs lets
    one run report them all.
    """
    target = _unwrap(kind)
    if _struct_hints(target) is not None and isinstance(raw, dict):
        return _walk_struct(raw, target, where, issues)
    origin, args = get_origin(target), get_args(target)
    if origin is list and isinstance(raw, list) and _struct_hints(_unwrap(args[0])) is not None:
        items = [_walk(item, args[0], f"{where}[{i}]", issues) for i, item in enumerate(raw)]
        # Leave the whole list out rather than shift the indexes later checks report.
        return _MISSING if any(item is _MISSING for item in items) else items
    if origin is dict and isinstance(raw, dict) and _struct_hints(_unwrap(args[1])) is not None:
        values = {
            key: _walk(value, args[1], _join(where, key), issues) for key, value in raw.items()
        }
        return {key: value for key, value in values.items() if value is not _MISSING}
    try:
        msgspec.convert(raw, kind, strict=True)
    except msgspec.ValidationError as err:
        issues.append(_translate(str(err), kind, where, raw))
        return _MISSING
    return raw


def _walk_struct(
    raw: dict[str, Any], kind: type[msgspec.Struct], where: str, issues: list[ConfigIssue]
) -> Any:
    hints = _struct_hints(kind)
    assert hints is not None
    known = sorted(h for h in hints if h != "source")
    usable: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            issues.append(_unknown_key(where, key, known if where or key != "source" else None))
            continue
        checked = _walk(value, hints[key], _join(where, key), issues)
        if checked is not _MISSING:
            usable[key] = checked
    complete = True
    for field in msgspec.structs.fields(kind):
        if field.required and field.name not in raw:
            issues.append(
                ConfigIssue(path=_join(where, field.name), message="required key is missing")
            )
        if field.required and field.name not in usable:
            if field.type is str:  # unconstrained: a placeholder passes the schema
                usable[field.name] = ""  # keeps e.g. a profile's name known to the other checks
            else:
                complete = False
    return usable if complete else _MISSING


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
    value = _raw_at(raw, path)
    if what.startswith("Invalid enum value"):
        choices = _literal_choices_at(kind, path)
        shown = what.removeprefix("Invalid enum value").strip()
        if choices:
            close = difflib.get_close_matches(str(value), choices, n=1)
            return ConfigIssue(
                path=where,
                message=f"expected one of {', '.join(map(repr, choices))}, got {shown}",
                hint=f"did you mean {close[0]!r}?" if close else None,
            )
    if what.startswith("Object missing required field"):
        field = what.split("`")[1]
        return ConfigIssue(path=_join(where, field), message="required key is missing")
    if expected := _EXPECTED.match(what):
        text = "expected " + expected["rest"].replace("`", "")
        text = text.replace("expected object", "expected a table")
        secret_like = False
        hint = None
        for pattern, words in _PATTERN_WORDS.items():
            if text.endswith(f"matching regex {pattern!r}"):
                text = f"expected {words}"
                # A plain key pasted where its hash belongs must not be echoed.
                secret_like = pattern.startswith("^sha256")
        if not secret_like and ", got " not in text and value is not _MISSING:
            text += f", got {value!r}"
        if text.startswith(("expected int", "expected float")) and _is_number(value):
            hint = f"write the number without quotes: {value.strip()}"
        return ConfigIssue(path=where, message=text, hint=hint)
    return ConfigIssue(path=where, message=what[:1].lower() + what[1:])


def _is_number(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        float(value.strip())
    except ValueError:
        return False
    return True


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
    hint = None
    if known:
        close = difflib.get_close_matches(field, known, n=1)
        hint = f"did you mean `{close[0]}`?" if close else f"known keys: {', '.join(known)}"
    return ConfigIssue(path=_join(where, field), message="unknown key", hint=hint)


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
