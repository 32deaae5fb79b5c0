"""Checks that span keys: references between sections, and combinations that cannot work."""

from __future__ import annotations

import ipaddress
import re

import msgspec

from livesvc.config._errors import ConfigIssue
from livesvc.config._schema import Config, Profile
from livesvc.wire import GenerationConfig, Setup

__all__ = ["GENERATION_CONFIG_FIELDS", "OVERRIDABLE_FIELDS", "SETUP_FIELDS", "check_semantics"]


def _public_fields(struct: type[msgspec.Struct]) -> frozenset[str]:
    # Hidden `<field>_` attributes only carry snake_case spellings while decoding.
    return frozenset(f for f in struct.__struct_fields__ if not f.endswith("_"))


GENERATION_CONFIG_FIELDS = _public_fields(GenerationConfig)

# Live `setup` fields a profile may put in its free-form `setup` table.
SETUP_FIELDS = _public_fields(Setup) - {
    "model",
    "generation_config",
    "system_instruction",
    "tools",
    "session_resumption",
    "context_window_compression",
}

# Fields with a dedicated profile key: writing them under `setup` is a mistake.
_DEDICATED = {
    "model": "model",
    "generation_config": "generation_config",
    "system_instruction": "system_instruction",
    "tools": "tools",
    "session_resumption": "resumption",
    "context_window_compression": "compression",
}

OVERRIDABLE_FIELDS = frozenset(
    {"model", "generation_config", "system_instruction", "tools", "context_window_compression"}
    | SETUP_FIELDS
    | {f"generation_config.{name}" for name in GENERATION_CONFIG_FIELDS}
)


def check_semantics(config: Config) -> list[ConfigIssue]:
    """Return every cross-key problem in ``config`` (empty when it is usable)."""
    issues: list[ConfigIssue] = []
    issues += _check_profiles(config)
    issues += _check_gateway(config)
    issues += _check_admin(config)
    issues += _check_upstream(config)
    issues += _check_ports(config)
    issues += _check_store(config)
    issues += _check_cluster(config)  # fleet
    return issues


def _check_store(config: Config) -> list[ConfigIssue]:
    store = config.store
    if store.backend != "redis":
        return []
    if not store.redis_url:
        return [
            ConfigIssue(
                path="store.redis_url",
                message='expected a URL like "redis://127.0.0.1:6379/0" with backend = "redis"',
            )
        ]
    if config.service.workers > 1:
        return [
            ConfigIssue(
                path="store.backend",
                message='"redis" runs one process per node for now: set [service] workers = 1',
            )
        ]
    scheme, _, rest = store.redis_url.partition("://")
    if scheme not in ("redis", "rediss") or not rest:
        return [ConfigIssue(path="store.redis_url", message="expected a redis:// or rediss:// URL")]
    if "@" in rest:
        # Never echo the URL: it may hold a password.
        return [
            ConfigIssue(
                path="store.redis_url",
                message="a password in the URL is not accepted: secrets stay out of config files",
            )
        ]
    return []


# -- fleet (issue 14) ---------------------------------------------------------------
_NODE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


def _check_cluster(config: Config) -> list[ConfigIssue]:
    cluster = config.cluster
    if cluster.node is None:
        return []
    issues: list[ConfigIssue] = []
    if config.store.backend != "redis":
        issues.append(
            ConfigIssue(path="cluster.node", message='a fleet needs [store] backend = "redis"')
        )
    if not _NODE_NAME.fullmatch(cluster.node):
        issues.append(
            ConfigIssue(
                path="cluster.node",
                message="expected lowercase letters, digits and '-' (it is a field of handles)",
            )
        )
    host, sep, port = (cluster.address or "").rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        issues.append(
            ConfigIssue(path="cluster.address", message='expected "host:port" with a fleet')
        )
    if (cluster.secret_env is None) == (cluster.secret_file is None):
        issues.append(
            ConfigIssue(
                path="cluster.secret_env", message="set exactly one of secret_env, secret_file"
            )
        )
    if not 0 < cluster.lease_margin_seconds < cluster.lease_ttl_seconds or (
        cluster.lease_renew_seconds >= cluster.lease_ttl_seconds - cluster.lease_margin_seconds
    ):
        issues.append(
            ConfigIssue(
                path="cluster.lease_ttl_seconds",
                message="need 0 < margin < ttl and renew < ttl - margin",
            )
        )
    return issues


# -- end fleet -----------------------------------------------------------------------


def _check_profiles(config: Config) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    if not config.profiles:
        return [ConfigIssue(path="profiles", message="expected at least one [profiles.NAME] table")]
    for name, profile in config.profiles.items():
        issues += _check_profile(f"profiles.{name}", profile)
    return issues


def _check_profile(where: str, profile: Profile) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    if not profile.model.strip():
        issues.append(
            ConfigIssue(path=f"{where}.model", message="expected a model name, got an empty string")
        )
    if profile.compression is not None:
        target = profile.compression.target_tokens
        if target is not None and target >= profile.compression.trigger_tokens:
            issues.append(
                ConfigIssue(
                    path=f"{where}.compression.target_tokens",
                    message=f"expected less than trigger_tokens ({profile.compression.trigger_tokens}), got {target}",
                )
            )
    for key in profile.generation_config:
        if key not in GENERATION_CONFIG_FIELDS:
            issues.append(
                ConfigIssue(
                    path=f"{where}.generation_config.{key}",
                    message=f"unknown generation config field (known: {', '.join(sorted(GENERATION_CONFIG_FIELDS))})",
                )
            )
    for key in profile.setup:
        if key in _DEDICATED:
            issues.append(
                ConfigIssue(
                    path=f"{where}.setup.{key}",
                    message=f"set this with `{where}.{_DEDICATED[key]}` instead",
                )
            )
        elif key not in SETUP_FIELDS:
            issues.append(
                ConfigIssue(
                    path=f"{where}.setup.{key}",
                    message=f"unknown setup field (known: {', '.join(sorted(SETUP_FIELDS))})",
                )
            )
    for i, field in enumerate(profile.client_overridable):
        if field not in OVERRIDABLE_FIELDS:
            issues.append(
                ConfigIssue(
                    path=f"{where}.client_overridable[{i}]",
                    message=f"expected a setup field path such as `generation_config.temperature` or `system_instruction`, got {field!r}",
                )
            )
    seen: dict[str, int] = {}
    for i, tool in enumerate(profile.tools):
        tool_name = tool.name or tool.function.rpartition(":")[2].rpartition(".")[2]
        if tool_name in seen:
            issues.append(
                ConfigIssue(
                    path=f"{where}.tools[{i}]",
                    message=f"duplicate tool name {tool_name!r} (also tools[{seen[tool_name]}])",
                )
            )
        seen.setdefault(tool_name, i)
        if tool.scheduling is not None and tool.behavior != "NON_BLOCKING":
            issues.append(
                ConfigIssue(
                    path=f"{where}.tools[{i}].scheduling",
                    message='only applies to behavior = "NON_BLOCKING"',
                )
            )
    return issues


def _check_gateway(config: Config) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    gateway = config.gateway
    if config.profiles and gateway.default_profile not in config.profiles:
        issues.append(
            ConfigIssue(
                path="gateway.default_profile",
                message=f"expected one of the profiles ({', '.join(sorted(config.profiles))}), got {gateway.default_profile!r}",
            )
        )
    names: dict[str, int] = {}
    hashes: dict[str, int] = {}
    for i, key in enumerate(gateway.keys):
        where = f"gateway.keys[{i}]"
        if key.name in names:
            issues.append(
                ConfigIssue(
                    path=f"{where}.name",
                    message=f"duplicate key name (also keys[{names[key.name]}])",
                )
            )
        if key.hash in hashes:
            issues.append(
                ConfigIssue(
                    path=f"{where}.hash",
                    message=f"duplicate key hash (also keys[{hashes[key.hash]}])",
                )
            )
        names.setdefault(key.name, i)
        hashes.setdefault(key.hash, i)
        if config.profiles and key.profile is not None and key.profile not in config.profiles:
            issues.append(
                ConfigIssue(
                    path=f"{where}.profile",
                    message=f"expected one of the profiles ({', '.join(sorted(config.profiles))}), got {key.profile!r}",
                )
            )
    tls = gateway.tls
    if tls.mode == "files":
        for field in ("cert_file", "key_file"):
            if getattr(tls, field) is None:
                issues.append(
                    ConfigIssue(path=f"gateway.tls.{field}", message='required when mode = "files"')
                )
    elif tls.cert_file is not None or tls.key_file is not None:
        issues.append(
            ConfigIssue(
                path="gateway.tls.mode",
                message=f'expected "files" when cert_file/key_file are set, got {tls.mode!r}',
            )
        )
    return issues


def _check_admin(config: Config) -> list[ConfigIssue]:
    admin = config.admin
    if not admin.enabled:
        return []
    given = [f for f in ("token_hash", "token_env", "token_file") if getattr(admin, f) is not None]
    if len(given) != 1:
        return [
            ConfigIssue(
                path="admin",
                message=f"expected exactly one of token_hash, token_env, token_file, got {len(given)}"
                + (f" ({', '.join(given)})" if given else ""),
            )
        ]
    return []


def _check_upstream(config: Config) -> list[ConfigIssue]:
    upstream = config.upstream
    issues: list[ConfigIssue] = []
    if upstream.api_key_env is not None and upstream.api_key_file is not None:
        issues.append(
            ConfigIssue(path="upstream", message="expected api_key_env or api_key_file, not both")
        )
    if upstream.backend == "gemini":
        if upstream.api_key_env is None and upstream.api_key_file is None:
            issues.append(
                ConfigIssue(
                    path="upstream.api_key_env",
                    message='backend "gemini" needs api_key_env (an environment variable name) or api_key_file',
                )
            )
        for field in ("project", "location", "credentials_file"):
            if getattr(upstream, field) is not None:
                issues.append(
                    ConfigIssue(
                        path=f"upstream.{field}", message='only applies to backend "vertex"'
                    )
                )
    elif upstream.backend == "vertex":
        has_key = upstream.api_key_env is not None or upstream.api_key_file is not None
        if not has_key and (upstream.project is None or upstream.location is None):
            issues.append(
                ConfigIssue(
                    path="upstream",
                    message='backend "vertex" needs project and location (or api_key_env / api_key_file for express mode)',
                )
            )
    if upstream.base_url is not None and not upstream.base_url.startswith(
        ("https://", "http://", "wss://", "ws://")
    ):
        issues.append(
            ConfigIssue(
                path="upstream.base_url",
                message=f"expected an http(s):// or ws(s):// URL, got {upstream.base_url!r}",
            )
        )
    return issues


def _same_host(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a == b


def _check_ports(config: Config) -> list[ConfigIssue]:
    gateway, admin = config.gateway, config.admin
    if (
        admin.enabled
        and gateway.port != 0
        and gateway.port == admin.port
        and _same_host(gateway.host, admin.host)
    ):
        return [
            ConfigIssue(
                path="admin.port",
                message=f"expected a port other than gateway.port ({gateway.port})",
            )
        ]
    return []
