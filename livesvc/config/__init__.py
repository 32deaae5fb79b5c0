"""The daemon's configuration: TOML files read into frozen msgspec structs.

Errors name the file, the line, the key path, what was expected and a likely
fix, and every problem in the file is reported at once::

    from livesvc.config import ConfigError, load_config

    try:
        config = load_config("config/livesvc.toml")
    except ConfigError as err:
        print(err)  # config/livesvc.toml:23: gateway.port: expected int, got str (...)
        err.issues  # one ConfigIssue(path, message, line, hint) per problem

Secrets are never inline: client keys and the admin token are stored as
``sha256:`` hashes (:func:`hash_key`), and upstream credentials are named by
environment variable or file (:func:`read_secret`).
"""

from __future__ import annotations

from livesvc.config._check import check_secrets as check_secrets
from livesvc.config._check import load_checked as load_checked
from livesvc.config._errors import ConfigError as ConfigError
from livesvc.config._errors import ConfigIssue as ConfigIssue
from livesvc.config._imports import check_tool_imports as check_tool_imports
from livesvc.config._imports import resolve_import as resolve_import
from livesvc.config._load import SetupValidator as SetupValidator
from livesvc.config._load import load_config as load_config
from livesvc.config._load import parse_config as parse_config
from livesvc.config._schema import AdminConfig as AdminConfig
from livesvc.config._schema import BackoffConfig as BackoffConfig
from livesvc.config._schema import ClientKey as ClientKey
from livesvc.config._schema import ClusterConfig as ClusterConfig  # fleet
from livesvc.config._schema import CompressionConfig as CompressionConfig
from livesvc.config._schema import Config as Config
from livesvc.config._schema import EmulatorUpstreamConfig as EmulatorUpstreamConfig
from livesvc.config._schema import GatewayConfig as GatewayConfig
from livesvc.config._schema import KeyTokensConfig as KeyTokensConfig
from livesvc.config._schema import LimitsConfig as LimitsConfig
from livesvc.config._schema import LoggingConfig as LoggingConfig
from livesvc.config._schema import Profile as Profile
from livesvc.config._schema import ResumptionConfig as ResumptionConfig
from livesvc.config._schema import ServiceConfig as ServiceConfig
from livesvc.config._schema import StoreConfig as StoreConfig
from livesvc.config._schema import SupervisionConfig as SupervisionConfig
from livesvc.config._schema import TlsConfig as TlsConfig
from livesvc.config._schema import ToolSpec as ToolSpec
from livesvc.config._schema import UpstreamConfig as UpstreamConfig
from livesvc.config._secrets import SecretUnavailable as SecretUnavailable
from livesvc.config._secrets import generate_key as generate_key
from livesvc.config._secrets import hash_key as hash_key
from livesvc.config._secrets import key_matches as key_matches
from livesvc.config._secrets import read_secret as read_secret
from livesvc.config._semantics import GENERATION_CONFIG_FIELDS as GENERATION_CONFIG_FIELDS
from livesvc.config._semantics import OVERRIDABLE_FIELDS as OVERRIDABLE_FIELDS
from livesvc.config._semantics import SETUP_FIELDS as SETUP_FIELDS

__all__ = [
    "GENERATION_CONFIG_FIELDS",
    "OVERRIDABLE_FIELDS",
    "SETUP_FIELDS",
    "AdminConfig",
    "BackoffConfig",
    "ClientKey",
    "KeyTokensConfig",
    "CompressionConfig",
    "Config",
    "ConfigError",
    "ConfigIssue",
    "EmulatorUpstreamConfig",
    "GatewayConfig",
    "LimitsConfig",
    "LoggingConfig",
    "Profile",
    "ResumptionConfig",
    "SecretUnavailable",
    "ServiceConfig",
    "SetupValidator",
    "StoreConfig",
    "ClusterConfig",  # fleet
    "SupervisionConfig",
    "TlsConfig",
    "ToolSpec",
    "UpstreamConfig",
    "check_secrets",
    "check_tool_imports",
    "generate_key",
    "hash_key",
    "key_matches",
    "load_checked",
    "load_config",
    "parse_config",
    "read_secret",
    "resolve_import",
]
