"""TLS for the emulator: a self-signed CA and server certificate, and SSL contexts.

The stock SDK always dials ``wss://`` (live-wire-protocol.md §1.3), so testing it
against the emulator needs TLS and a CA the client trusts.
"""

from __future__ import annotations

import datetime
import os
import ssl
from pathlib import Path

import trustme
from cryptography import x509

from livesvc._private import private_dir
from livesvc.emulator._config import TlsFiles

__all__ = ["client_ssl_context", "server_ssl_context", "write_self_signed"]

CA_FILE = "ca.pem"
CERT_FILE = "server.pem"
KEY_FILE = "server-key.pem"
_IDENTITIES = ("127.0.0.1", "localhost", "::1")
_RENEW_BEFORE = datetime.timedelta(days=1)


def write_self_signed(directory: str | os.PathLike[str]) -> TlsFiles:
    """Write (or reuse) a CA and a certificate for 127.0.0.1, ::1 and localhost.

    Files: ``ca.pem`` (what clients trust), ``server.pem`` and ``server-key.pem``.
    Existing files are reused while the certificate has more than a day left, so a
    client that trusts ``ca.pem`` keeps working across restarts. Blocking file I/O:
    call it through ``trio.to_thread.run_sync`` from async code.

    Example::

        tls = write_self_signed(".livesvc/tls")
        ctx = ssl.create_default_context(cafile=tls.ca_file)   # for the client
    """
    folder = Path(directory).absolute()
    files = TlsFiles(
        cert_file=str(folder / CERT_FILE),
        key_file=str(folder / KEY_FILE),
        ca_file=str(folder / CA_FILE),
    )
    if _reusable(files):
        return files
    private_dir(folder)
    ca = trustme.CA(organization_name="livesvc emulator")
    leaf = ca.issue_cert(*_IDENTITIES, organization_name="livesvc emulator")
    ca.cert_pem.write_to_path(files.ca_file or "")
    Path(files.cert_file).write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    key_path = Path(files.key_file)
    key_path.touch(mode=0o600, exist_ok=True)
    key_path.chmod(0o600)
    key_path.write_bytes(leaf.private_key_pem.bytes())
    return files


def server_ssl_context(tls: TlsFiles) -> ssl.SSLContext:
    """The server side context for ``tls`` (blocking: reads the files)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls.cert_file, tls.key_file)
    context.set_alpn_protocols(["http/1.1"])
    return context


def client_ssl_context(ca_file: str | os.PathLike[str]) -> ssl.SSLContext:
    """A client context that trusts ``ca_file`` (blocking: reads the file)."""
    return ssl.create_default_context(cafile=str(ca_file))


def _reusable(files: TlsFiles) -> bool:
    paths = [Path(files.cert_file), Path(files.key_file), Path(files.ca_file or "")]
    if not all(path.is_file() for path in paths):
        return False
    try:
        cert = x509.load_pem_x509_certificate(paths[0].read_bytes())
    except ValueError:
        return False
    left = cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    return left > _RENEW_BEFORE
