"""nginx as a WebSocket reverse proxy on loopback: the floor of what the machine can do.

The Debian package is installed on demand (``apt-get install -y nginx``, only when
``nginx`` is missing and we are root); the server runs in the foreground from a
generated config in the suite's temporary directory, with every path (pid, logs,
temp files) inside it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import trio

__all__ = ["ensure_nginx", "free_port", "nginx_argv", "write_config"]

READY_TIMEOUT = 10.0


def free_port() -> int:
    """A port free on 127.0.0.1 now (nginx cannot bind port 0 and report it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _install() -> str | None:
    """Install nginx with apt-get; None when it worked, else why not (blocking)."""
    if os.geteuid() != 0:
        return "nginx is not installed and installing it needs root"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        done = subprocess.run(
            ["apt-get", "install", "-y", "-q", "nginx"],
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"apt-get install nginx failed: {exc}"
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
        return f"apt-get install nginx failed: {' '.join(tail)}"
    return None


async def ensure_nginx() -> tuple[str | None, str | None]:
    """The nginx binary, installing it if needed; ``(path, None)`` or ``(None, why not)``."""
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if found:
        return found, None
    print("nginx missing: apt-get install -y nginx ...", flush=True)
    why = await trio.to_thread.run_sync(_install)
    if why is not None:
        return None, why
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None
    )
    return (found, None) if found else (None, "nginx installed but not found on PATH")


def write_config(
    directory: Path, *, listen_port: int, upstream_port: int | list[int], workers: int = 1
) -> Path:
    """An nginx.conf that proxies WebSockets from ``listen_port`` to ``upstream_port``.

    Several upstream ports are used round-robin, one connection at a time.
    """
    ports = upstream_port if isinstance(upstream_port, list) else [upstream_port]
    servers = " ".join(f"server 127.0.0.1:{port};" for port in ports)
    directory.mkdir(parents=True, exist_ok=True)
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (directory / sub).mkdir(exist_ok=True)
    conf = directory / "nginx.conf"
    conf.write_text(
        f"""daemon off;
master_process on;
worker_processes {workers};
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    client_body_temp_path {directory}/client_body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    upstream live {{ {servers} }}
    server {{
        listen 127.0.0.1:{listen_port};
        location / {{
            proxy_pass http://live;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_buffering off;
            proxy_read_timeout 3600s;
            proxy_send_timeout 3600s;
        }}
    }}
}}
"""
    )
    return conf


def nginx_argv(binary: str, conf: Path) -> list[str]:
    """Run nginx in the foreground with ``conf`` (prefix in the config's directory)."""
    return [binary, "-p", str(conf.parent), "-c", str(conf), "-e", str(conf.parent / "error.log")]
