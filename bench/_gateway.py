"""Our gateway as a benchmark contender: ``livesvc serve`` with a generated config.

The daemon relays to the benchmark's upstream (the emulator in its own process)
as if it were Google (``backend = "gemini"`` with a ``base_url``), authenticates
the load's clients with a bench key, and keeps its usual defaults otherwise:
resumption on, SQLite store, JSON logs at info. Client limits are raised so the
load itself is never rate limited; the grace period is 0 so a departed client's
upstream session does not linger into the next run.
``workers = N`` (the ``gateway-workers`` contender) runs N worker processes on
the one port, behind one master.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from bench._load import DEFAULT_MODEL

__all__ = [
    "CLIENT_KEY",
    "READY",
    "UPSTREAM_KEY",
    "UPSTREAM_KEY_ENV",
    "gateway_argv",
    "gateway_available",
    "wait_ready",
    "write_config",
]

CLIENT_KEY = "bench-client-key"
UPSTREAM_KEY = "bench-upstream-key"
UPSTREAM_KEY_ENV = "LIVESVC_BENCH_UPSTREAM_KEY"
READY = r'"gateway\.listening".*?"url": ?"(wss?://[^"]+)"|gateway\.listening.*?url=(wss?://\S+)'


def gateway_available() -> str | None:
    """None when ``livesvc serve`` can run here, else why not."""
    for module in ("livesvc.daemon._daemon", "livesvc.gateway._gateway"):
        if importlib.util.find_spec(module) is None:
            return f"gateway not available yet ({module} missing)"
    return None


def write_config(
    directory: Path,
    *,
    upstream_url: str,
    port: int,
    admin_port: int,
    max_sessions: int = 5000,
    log_level: str = "info",
    store_path: Path | None = None,
    workers: int = 1,
    metering: bool = True,
) -> Path:
    """A ``livesvc serve`` config for the benchmark, written into ``directory``."""
    from livesvc.config import hash_key

    directory.mkdir(parents=True, exist_ok=True)
    base_url = upstream_url.replace("ws://", "http://").replace("wss://", "https://")
    config = directory / "livesvc-bench.toml"
    store_line = f'\npath = "{store_path}"' if store_path is not None else ""
    # Only when off: a baseline tree that predates [gateway.usage] still reads the file.
    usage_section = "" if metering else "[gateway.usage]\nenabled = false\n"
    config.write_text(
        f"""[service]
name = "livesvc-bench"
state_dir = "{directory / "state"}"
shutdown_timeout_seconds = 2
workers = {workers}

[logging]
level = "{log_level}"
format = "json"

[gateway]
host = "127.0.0.1"
port = {port}
default_profile = "bench"
grace_period_seconds = 1

[gateway.tls]
mode = "off"

[[gateway.keys]]
name = "bench"
hash = "{hash_key(CLIENT_KEY)}"
profile = "bench"
max_sessions = {max_sessions}

{usage_section}
[gateway.limits]
messages_per_second = 1000
message_burst = 2000
sessions_per_key = {max_sessions}
max_clients = {max_sessions}
setup_timeout_seconds = 10

[admin]
enabled = true
host = "127.0.0.1"
port = {admin_port}
token_hash = "{hash_key("bench-admin-token")}"

[upstream]
backend = "gemini"
base_url = "{base_url}"
api_key_env = "{UPSTREAM_KEY_ENV}"

[store]
synchronous = "normal"{store_line}

[profiles.bench]
model = "{DEFAULT_MODEL}"
generation_config = {{ response_modalities = ["AUDIO"] }}
client_overridable = [
    "generation_config.response_modalities",
    "input_audio_transcription",
    "output_audio_transcription",
    "realtime_input_config",
    "tools",
]

[profiles.bench.resumption]
enabled = true
"""
    )
    return config


async def wait_ready(admin_port: int, within: float = 60.0) -> None:
    """Wait until the daemon's ``/readyz`` says ready (with workers: every worker is).

    The gateway port answers as soon as one worker listens, so a port check is
    not enough with ``workers`` > 1.
    """
    import httpx
    import trio

    with trio.fail_after(within):
        async with httpx.AsyncClient(timeout=2.0) as http:
            while True:
                try:
                    answer = await http.get(f"http://127.0.0.1:{admin_port}/readyz")
                    if answer.status_code == 200:
                        return
                except httpx.TransportError:
                    pass  # not listening yet
                await trio.sleep(0.1)


def gateway_argv(config: Path) -> list[str]:
    """``livesvc serve --config FILE`` with this interpreter."""
    return [sys.executable, "-m", "livesvc", "serve", "--config", str(config)]
