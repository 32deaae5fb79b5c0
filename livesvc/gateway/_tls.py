"""The gateway's TLS: certificate files from the config, or a self-signed CA made once.

The google-genai SDK always dials ``wss://`` on the Gemini API path, so a
local gateway needs TLS even for development. ``mode = "self-signed"`` reuses
the emulator's certificate writer (a CA and a certificate for 127.0.0.1, ::1
and localhost, kept across restarts while valid), so a client that trusts
``ca.pem`` keeps trusting the gateway.
"""

from __future__ import annotations

import ssl

from livesvc.config import TlsConfig
from livesvc.emulator import TlsFiles, write_self_signed

__all__ = ["server_ssl_context"]


def server_ssl_context(
    tls: TlsConfig, *, host: str = "127.0.0.1"
) -> tuple[ssl.SSLContext | None, str | None]:
    """The server-side context for ``[gateway.tls]``, and the CA path when self-signed. Blocking.

    Returns ``(None, None)`` for ``mode = "off"``. ``host`` is accepted for
    symmetry with the listen address; self-signed certificates cover loopback only.
    """
    if tls.mode == "off":
        return None, None
    if tls.mode == "files":
        assert tls.cert_file is not None  # checked by the config
        assert tls.key_file is not None
        files = TlsFiles(cert_file=tls.cert_file, key_file=tls.key_file)
    else:
        assert tls.self_signed_dir is not None  # filled in by load_config
        files = write_self_signed(tls.self_signed_dir)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    context.load_cert_chain(files.cert_file, files.key_file)
    return context, files.ca_file
