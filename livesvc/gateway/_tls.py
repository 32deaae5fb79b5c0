"""The gateway's TLS: certificate files from the config, or a self-signed CA made once.

The google-genai SDK always dials ``wss://`` on the Gemini API path, so a
local gateway needs TLS even for development. ``mode = "self-signed"`` writes a
CA and a leaf certificate for 127.0.0.1, ::1 and localhost (plus the listen
host) into a directory once, and reuses them afterwards, so a client that
trusts ``ca.pem`` keeps trusting the gateway across restarts.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import trustme

from livesvc.config import TlsConfig

__all__ = ["SelfSigned", "ensure_self_signed", "server_ssl_context"]


class SelfSigned:
    """Paths of the self-signed material in ``directory``."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.ca = self.directory / "ca.pem"
        self.cert = self.directory / "cert.pem"
        self.key = self.directory / "key.pem"


def ensure_self_signed(directory: str | os.PathLike[str], host: str = "127.0.0.1") -> SelfSigned:
    """Create the CA, certificate and key in ``directory`` unless they are already there. Blocking.

    The key file is written with mode 0600.
    """
    paths = SelfSigned(directory)
    if paths.ca.is_file() and paths.cert.is_file() and paths.key.is_file():
        return paths
    paths.directory.mkdir(parents=True, exist_ok=True)
    names = ["127.0.0.1", "::1", "localhost"]
    if host not in names and host not in ("0.0.0.0", "::"):
        names.append(host)
    ca = trustme.CA(organization_name="livesvc development CA")
    leaf = ca.issue_cert(*names)
    ca.cert_pem.write_to_path(str(paths.ca))
    # The chain (leaf, then CA) so clients that only know the CA can verify.
    paths.cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    fd = os.open(paths.key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as key_file:
        key_file.write(leaf.private_key_pem.bytes())
    return paths


def server_ssl_context(
    tls: TlsConfig, *, host: str = "127.0.0.1"
) -> tuple[ssl.SSLContext | None, str | None]:
    """The server-side context for ``[gateway.tls]``, and the CA path for self-signed. Blocking.

    Returns ``(None, None)`` for ``mode = "off"``.
    """
    if tls.mode == "off":
        return None, None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if tls.mode == "files":
        assert tls.cert_file is not None
        assert tls.key_file is not None
        context.load_cert_chain(tls.cert_file, tls.key_file)
        return context, None
    assert tls.self_signed_dir is not None  # filled in by load_config
    paths = ensure_self_signed(tls.self_signed_dir, host)
    context.load_cert_chain(str(paths.cert), str(paths.key))
    return context, str(paths.ca)
