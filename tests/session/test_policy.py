"""Reconnect and keepalive tuning: first retry fast, rate limits slower, bad values rejected."""

from __future__ import annotations

import random

import pytest

from livesvc.session._policy import KeepalivePolicy, ReconnectPolicy
from supervisors import Backoff


def test_default_first_retry_is_fast_and_rate_limits_wait_longer() -> None:
    """A transient drop is retried within ~20 ms (so a resume fits the 100 ms budget,
    jittered so that many sessions do not redial in lockstep); a rate limit waits seconds."""
    policy = ReconnectPolicy()
    rng = random.Random(1)
    firsts = [policy.delay(0, rate_limited=False, rng=rng) for _ in range(200)]
    assert 0.016 <= min(firsts) < max(firsts) <= 0.024
    assert 0.4 <= policy.delay(1, rate_limited=False, rng=rng) <= 0.6
    assert policy.delay(0, rate_limited=True, rng=rng) >= 1.6
    assert policy.delay(3, rate_limited=True, rng=rng) > policy.delay(
        3, rate_limited=False, rng=rng
    )


def test_exact_delays_without_jitter() -> None:
    """Without jitter the schedule is exactly first, base, base*factor, ... up to max."""
    policy = ReconnectPolicy(backoff=Backoff(first=0, base=1, factor=2, max=5, jitter=0))
    rng = random.Random(0)
    assert [policy.delay(n, rate_limited=False, rng=rng) for n in range(5)] == [0, 1, 2, 4, 5]


@pytest.mark.parametrize(
    "kw", [{"max_attempts": 0}, {"connect_timeout": -1}, {"handover_margin": -0.5}]
)
def test_invalid_reconnect_policy(kw: dict[str, float]) -> None:
    """Nonsense values fail at construction."""
    with pytest.raises(ValueError, match="ReconnectPolicy"):
        ReconnectPolicy(**kw)  # type: ignore[arg-type]


def test_invalid_keepalive_policy() -> None:
    """A zero ping interval or timeout is rejected."""
    with pytest.raises(ValueError, match="KeepalivePolicy"):
        KeepalivePolicy(interval=0)
