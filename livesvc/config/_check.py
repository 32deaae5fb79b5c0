"""The full check behind ``livesvc check-config``, ``serve`` start-up and SIGHUP reloads."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from livesvc.config._errors import ConfigError, ConfigIssue
from livesvc.config._imports import check_tool_imports
from livesvc.config._load import SetupValidator, check_text, locate, merge_issues, read_source
from livesvc.config._schema import Config
from livesvc.config._secrets import SecretUnavailable, read_secret

__all__ = ["check_secrets", "load_checked"]


def check_secrets(config: Config, environ: Mapping[str, str] | None = None) -> list[ConfigIssue]:
    """One issue per referenced secret that cannot be read now (the value is never read out)."""
    issues: list[ConfigIssue] = []
    references = []
    if config.admin.enabled:
        references.append(("admin", config.admin.token_env, config.admin.token_file))
    upstream = config.upstream
    if upstream.backend != "emulator":
        references.append(("upstream", upstream.api_key_env, upstream.api_key_file))
        if upstream.credentials_file is not None and not os.path.isfile(upstream.credentials_file):
            issues.append(
                ConfigIssue(
                    path="upstream.credentials_file",
                    message=f"no such file: {upstream.credentials_file}",
                )
            )
    if config.cluster.node is not None:  # fleet
        references.append(("cluster", config.cluster.secret_env, config.cluster.secret_file))
    for section, env, file in references:
        try:
            read_secret(env=env, file=file, environ=environ)
        except SecretUnavailable as err:
            field = {"admin": "token_env", "cluster": "secret_env"}.get(section, "api_key_env")
            if env is None:
                field = field.replace("_env", "_file")
            issues.append(ConfigIssue(path=f"{section}.{field}", message=str(err)))
    if upstream.ca_file is not None and not os.path.isfile(upstream.ca_file):
        issues.append(
            ConfigIssue(path="upstream.ca_file", message=f"no such file: {upstream.ca_file}")
        )
    tls = config.gateway.tls
    if tls.mode == "files":
        for field in ("cert_file", "key_file"):
            path = getattr(tls, field)
            if path is not None and not os.path.isfile(path):
                issues.append(
                    ConfigIssue(path=f"gateway.tls.{field}", message=f"no such file: {path}")
                )
    return issues


def load_checked(
    path: str | os.PathLike[str],
    *,
    strict_secrets: bool,
    environ: Mapping[str, str] | None = None,
    setup_validator: SetupValidator | None = None,
) -> tuple[Config, list[ConfigIssue]]:
    """Load ``path``, import its tools, and look for its secrets. Blocking.

    With ``strict_secrets`` (``serve`` and reloads) a missing secret is an error;
    otherwise (``check-config`` on a build machine) it comes back as a warning.

    Returns:
        The config and the warnings.

    Raises:
        ConfigError: every error found, each with its line in the file.
    """
    source, text = read_source(path)
    config, errors = check_text(
        text,
        source=source,
        base_dir=Path(source).resolve().parent,
        setup_validator=setup_validator,
    )
    if config is None:  # not TOML: nothing else can be checked
        raise ConfigError(source, errors)
    # Imports and secrets are checked even when the file has other problems, so one
    # run reports everything; what an earlier problem already names is not repeated.
    errors = merge_issues(errors, check_tool_imports(config))
    secret_issues = check_secrets(config, environ)
    warnings: list[ConfigIssue] = []
    if strict_secrets:
        errors = merge_issues(errors, secret_issues)
    else:
        warnings = locate(merge_issues(errors, secret_issues)[len(errors) :], text)
    errors = locate(errors, text)
    if errors:
        raise ConfigError(source, errors)
    return config, warnings
