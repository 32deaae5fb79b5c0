"""The shape of a ``livesvc serve`` configuration file, as msgspec structs.

Every struct is frozen, keyword-only and rejects unknown keys, so a typo in a
TOML file is an error that names the key, not a silently ignored setting.
Durations are seconds (``*_seconds``) and sizes are bytes (``*_bytes``).
Secrets are never written inline: a config names the environment variable or
the file that holds them, or stores a hash (client keys, the admin token).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from livesvc.usage._budget import Budget

__all__ = [
    "AdminConfig",
    "BackoffConfig",
    "ClientKey",
    "CompressionConfig",
    "Config",
    "EmulatorUpstreamConfig",
    "GatewayConfig",
    "KeyTokensConfig",
    "LimitsConfig",
    "LoggingConfig",
    "Profile",
    "ResumptionConfig",
    "ServiceConfig",
    "StoreConfig",
    "ClusterConfig",  # fleet
    "SupervisionConfig",
    "TlsConfig",
    "ToolSpec",
    "UpstreamConfig",
]

Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]
Seconds = Annotated[float, msgspec.Meta(gt=0)]
NonNegativeSeconds = Annotated[float, msgspec.Meta(ge=0)]
PositiveInt = Annotated[int, msgspec.Meta(ge=1)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
# "sha256:" and 64 lower-case hex digits: what `livesvc hash-key` prints.
KeyHash = Annotated[str, msgspec.Meta(pattern=r"^sha256:[0-9a-f]{64}$")]
# "package.module:attribute", how a profile names a tool implemented in Python.
ImportPath = Annotated[
    str, msgspec.Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_.]*$")
]


class _Section(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """Base of every config section (frozen, keyword-only, unknown keys rejected)."""


class ServiceConfig(_Section, kw_only=True, frozen=True):
    """``[service]``: identity and where the daemon keeps its state."""

    name: Name = "livesvc"
    state_dir: str = ".livesvc"  # relative paths resolve against the config file's directory
    shutdown_timeout_seconds: Seconds = 20.0  # SIGTERM: how long running turns may drain
    # Gateway worker processes on one port (SO_REUSEPORT); 1 is the single-process daemon.
    workers: PositiveInt = 1


class LoggingConfig(_Section, kw_only=True, frozen=True):
    """``[logging]``: level and rendering (``auto`` is console on a TTY, else JSON)."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"


class TlsConfig(_Section, kw_only=True, frozen=True):
    """``[gateway.tls]``: ``off``, certificate ``files``, or a ``self-signed`` CA made at start-up."""

    mode: Literal["off", "files", "self-signed"] = "off"
    cert_file: str | None = None  # PEM chain, mode = "files"
    key_file: str | None = None  # PEM private key, mode = "files"
    self_signed_dir: str | None = None  # default: <state_dir>/tls


class KeyTokensConfig(_Section, kw_only=True, frozen=True):
    """``[gateway.keys.tokens]``: the ephemeral tokens one key may mint itself.

    Every key may mint (``POST /v1alpha/auth_tokens``) within ``[gateway.limits]``
    ``max_token_uses`` and ``token_mints_per_minute``; this table narrows that for
    one key. ``expireTime`` and ``newSessionExpireTime`` beyond its bounds are
    clamped to them; ``uses`` outside 1..``max_uses`` is a 400.
    """

    enabled: bool = True  # false: the key may not mint (403)
    max_uses: PositiveInt | None = None  # default: gateway.limits.max_token_uses
    per_minute: PositiveInt | None = None  # default: gateway.limits.token_mints_per_minute
    burst: PositiveInt | None = None  # mints at once; default: per_minute
    max_expire_seconds: Annotated[float, msgspec.Meta(gt=0, le=20 * 3600)] = 20 * 3600.0
    max_new_session_seconds: Annotated[float, msgspec.Meta(gt=0, le=20 * 3600)] = 20 * 3600.0


class ClientKey(_Section, kw_only=True, frozen=True):
    """``[[gateway.keys]]``: one client key, stored as a hash (``livesvc hash-key``)."""

    name: Name
    hash: KeyHash
    profile: Name | None = None  # default: gateway.default_profile
    max_sessions: PositiveInt | None = None  # default: gateway.limits.sessions_per_key
    tokens: KeyTokensConfig = KeyTokensConfig()  # ephemeral tokens it may mint
    # What the key may spend per UTC day (docs/usage.md); none: no limit.
    budget: Budget | None = None


class LimitsConfig(_Section, kw_only=True, frozen=True):
    """``[gateway.limits]``: per-client limits; breaking one closes only that client."""

    max_frame_bytes: PositiveInt = 8 * 1024 * 1024
    # What one session may hold of conversation messages the upstream has not
    # yet confirmed (an unfinished turn, messages waiting for a resume); past it
    # the client is closed with 4004 (see docs/daemon.md, "Close codes").
    session_memory_bytes: PositiveInt = 16 * 1024 * 1024
    # Connections that have not become a Live WebSocket yet (TCP, TLS or HTTP
    # pending), beyond max_clients; the oldest is shed when they are all taken.
    max_pending_connections: PositiveInt = 256
    # Bytes a client may send before its setup is accepted (credential checked,
    # session opened): an unauthenticated peer holds at most this; 1009 past it.
    pre_setup_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 64 * 1024
    # Ephemeral tokens a client key may mint itself (POST /v1alpha/auth_tokens).
    token_mints_per_minute: PositiveInt = 10
    max_token_uses: PositiveInt = 100
    messages_per_second: Annotated[float, msgspec.Meta(gt=0)] = 200.0
    message_burst: PositiveInt = 400
    sessions_per_key: PositiveInt = 16
    max_clients: PositiveInt = 1000
    setup_timeout_seconds: Seconds = 10.0  # from the upgrade to the client's `setup`
    client_send_timeout_seconds: Seconds = 10.0  # a client not reading this long is cut off


class UsageConfig(_Section, kw_only=True, frozen=True):
    """``[gateway.usage]``: metering and budgets (docs/usage.md)."""

    enabled: bool = True
    # Usage is written to the store this often (a kill -9 loses at most this much).
    flush_seconds: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 5.0
    # A running session past its key's budget is warned, then closed (4002) at the
    # first turn boundary after this many seconds; never in the middle of a turn.
    budget_grace_seconds: NonNegativeSeconds = 60.0


class GatewayConfig(_Section, kw_only=True, frozen=True):
    """``[gateway]``: the Live WebSocket front door for client apps."""

    host: str = "127.0.0.1"
    port: Port = 8443
    tls: TlsConfig = TlsConfig()
    keys: list[ClientKey] = []
    default_profile: Name = "default"
    grace_period_seconds: NonNegativeSeconds = 60.0  # upstream kept after a client leaves
    limits: LimitsConfig = LimitsConfig()
    usage: UsageConfig = UsageConfig()


class AdminConfig(_Section, kw_only=True, frozen=True):
    """``[admin]``: the admin HTTP API (loopback by default), guarded by a bearer token."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: Port = 8081
    token_hash: KeyHash | None = None
    token_env: str | None = None
    token_file: str | None = None


class EmulatorUpstreamConfig(_Section, kw_only=True, frozen=True):
    """``[upstream.emulator]``: the embedded emulator (backend = "emulator").

    It listens on loopback with a key only the daemon knows. Its connections
    last ``session_lifetime_seconds`` (Google: about 10 minutes; 0 for no limit)
    and end with a ``goAway`` that the daemon hands over invisibly.
    """

    host: str = "127.0.0.1"
    port: Port = 0  # 0: any free port
    reply_interval_seconds: NonNegativeSeconds = 0.02
    session_lifetime_seconds: NonNegativeSeconds = 600.0
    go_away_notice_seconds: NonNegativeSeconds = 50.0


class UpstreamConfig(_Section, kw_only=True, frozen=True):
    """``[upstream]``: where sessions go, and the credential (by reference only)."""

    backend: Literal["emulator", "gemini", "vertex"] = "emulator"
    api_version: str | None = None  # default: the backend's own default
    base_url: str | None = None
    ca_file: str | None = None  # extra CA bundle for the upstream's TLS
    api_key_env: str | None = None
    api_key_file: str | None = None
    credentials_file: str | None = None  # Vertex service-account JSON (else ADC)
    project: str | None = None
    location: str | None = None
    # How long a new session waits for its first upstream connection before its
    # client is told the upstream is unreachable (1011).
    connect_timeout_seconds: Seconds = 10.0
    emulator: EmulatorUpstreamConfig = EmulatorUpstreamConfig()


class StoreConfig(_Section, kw_only=True, frozen=True):
    """``[store]``: where resumption handles, session records and tokens live.

    ``sqlite`` (the default) is one file for one host; ``redis`` is shared by a fleet.
    """

    backend: Literal["sqlite", "redis"] = "sqlite"
    path: str | None = None  # sqlite: default <state_dir>/livesvc.db
    redis_url: str | None = None  # redis: "redis://HOST:PORT/DB" (no password in the URL)
    redis_prefix: str = "livesvc:"  # redis: every key starts with it
    timeout_seconds: Seconds = 5.0
    synchronous: Literal["full", "normal"] = "full"
    handle_ttl_seconds: Seconds = 7200.0  # Google's handles live 2 hours
    keep_closed_sessions_seconds: Seconds = 7 * 24 * 3600.0


# -- fleet (issue 14) -------------------------------------------------------------------
class ClusterConfig(_Section, kw_only=True, frozen=True):
    """``[cluster]``: this node in a fleet sharing the Redis store (docs/fleet.md).

    ``node`` names the node (it leads its handles: ``lsh.<node>.<random>``);
    ``address`` is where the other nodes reach its cluster endpoint (``host:port``);
    the shared secret (``secret_env`` or ``secret_file``) authenticates node-to-node calls.
    """

    node: str | None = None  # set: the fleet is on (requires [store] backend = "redis")
    address: str | None = None  # host:port other nodes use; also where it listens
    secret_env: str | None = None
    secret_file: str | None = None
    lease_ttl_seconds: Seconds = 10.0
    lease_renew_seconds: Seconds = 2.0
    lease_margin_seconds: Seconds = 3.0


# -- end fleet ---------------------------------------------------------------------------


class BackoffConfig(_Section, kw_only=True, frozen=True):
    """``[supervision.backoff]``: restart delays, ``initial * factor**attempt`` capped at ``max``."""

    initial_seconds: NonNegativeSeconds = 0.5
    factor: Annotated[float, msgspec.Meta(ge=1)] = 2.0
    max_seconds: NonNegativeSeconds = 30.0
    jitter: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.1
    reset_after_seconds: Seconds = 60.0


class SupervisionConfig(_Section, kw_only=True, frozen=True):
    """``[supervision]``: OTP intensity and period, and restart backoff."""

    intensity: Annotated[int, msgspec.Meta(ge=0)] = 3
    period_seconds: Seconds = 30.0
    backoff: BackoffConfig = BackoffConfig()


class ToolSpec(_Section, kw_only=True, frozen=True):
    """``[[profiles.NAME.tools]]``: a tool the daemon runs, by Python import path."""

    function: ImportPath
    name: str | None = None  # default: the callable's __name__
    description: str | None = None  # default: the callable's docstring
    timeout_seconds: Seconds = 30.0
    # Unset: the model's default (NON_BLOCKING on Gemini 3.8, BLOCKING before).
    behavior: Literal["BLOCKING", "NON_BLOCKING"] | None = None
    scheduling: Literal["SILENT", "WHEN_IDLE", "INTERRUPT"] | None = None


class ResumptionConfig(_Section, kw_only=True, frozen=True):
    """``[profiles.NAME.resumption]``: upstream session resumption."""

    enabled: bool = True
    transparent: bool = False  # Vertex only


class CompressionConfig(_Section, kw_only=True, frozen=True):
    """``[profiles.NAME.compression]``: context window compression (sliding window)."""

    trigger_tokens: PositiveInt
    target_tokens: PositiveInt | None = None  # default: trigger_tokens / 2 (Google's default)


class Profile(_Section, kw_only=True, frozen=True):
    """``[profiles.NAME]``: what a client's session is, and what the client may change.

    ``generation_config`` and ``setup`` are Live ``setup`` fields in snake_case
    (``setup`` holds any other top-level field, e.g. ``output_audio_transcription = {}``).
    ``client_overridable`` lists the setup fields a client may set itself, as
    paths like ``generation_config.temperature``; every other field is locked to
    the profile. ``tools`` in that list lets clients add their own function
    declarations, whose calls are forwarded to the client.
    """

    model: str
    system_instruction: str | None = None
    generation_config: dict[str, Any] = {}
    tools: list[ToolSpec] = []
    builtin_tools: list[Literal["google_search", "code_execution", "url_context"]] = []
    resumption: ResumptionConfig = ResumptionConfig()
    compression: CompressionConfig | None = None
    setup: dict[str, Any] = {}
    client_overridable: list[str] = []
    # When the upstream loses the conversation (a resume refused, no handle yet):
    # "fail" closes the client with 4001, "reseed" restores it from the transcript,
    # "continue" goes on with an empty context. docs/daemon.md, "Context loss".
    context_loss: Literal["fail", "reseed", "continue"] = "fail"


class Config(_Section, kw_only=True, frozen=True):
    """A whole configuration file. ``source`` is the file it was read from.

    Paths inside are absolute once :func:`livesvc.config.load_config` returns.
    """

    service: ServiceConfig = ServiceConfig()
    logging: LoggingConfig = LoggingConfig()
    gateway: GatewayConfig = GatewayConfig()
    admin: AdminConfig = AdminConfig()
    upstream: UpstreamConfig = UpstreamConfig()
    store: StoreConfig = StoreConfig()
    cluster: ClusterConfig = ClusterConfig()  # fleet (issue 14)
    supervision: SupervisionConfig = SupervisionConfig()
    profiles: dict[str, Profile] = {}
    source: str = "<memory>"
