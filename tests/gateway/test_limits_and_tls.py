"""Per-client limits on a virtual clock, and the self-signed TLS material."""

import ssl
from pathlib import Path

import trio

from livesvc.config import TlsConfig
from livesvc.gateway._limits import RateLimiter, SessionQuota
from livesvc.gateway._tls import server_ssl_context


async def test_rate_limiter_allows_a_burst_then_the_rate(autojump_clock):
    limiter = RateLimiter(rate=10, burst=3)
    assert [limiter.allow() for _ in range(4)] == [True, True, True, False]
    await trio.sleep(0.1)  # one token back
    assert trio.current_time() == 0.1
    assert [limiter.allow() for _ in range(2)] == [True, False]
    await trio.sleep(10)  # refills only up to the burst
    assert [limiter.allow() for _ in range(4)] == [True, True, True, False]


def test_session_quota_per_principal():
    quota = SessionQuota()
    assert quota.try_acquire("key:a", 2)
    assert quota.try_acquire("key:a", 2)
    assert not quota.try_acquire("key:a", 2)
    assert quota.try_acquire("key:b", 2)
    quota.release("key:a")
    assert quota.held("key:a") == 1
    assert quota.try_acquire("key:a", 2)


def test_self_signed_material_is_made_once_and_trusted_by_its_ca(tmp_path: Path):
    tls = TlsConfig(mode="self-signed", self_signed_dir=str(tmp_path / "tls"))
    context, ca_path = server_ssl_context(tls)
    assert context is not None
    assert ca_path is not None
    ca_before = Path(ca_path).read_bytes()
    _, again = server_ssl_context(tls)
    assert again == ca_path
    assert Path(ca_path).read_bytes() == ca_before  # a restart keeps the CA clients trust
    client = ssl.create_default_context(cafile=ca_path)
    assert client.cert_store_stats()["x509_ca"] == 1


def test_tls_off_has_no_context():
    assert server_ssl_context(TlsConfig(mode="off")) == (None, None)
