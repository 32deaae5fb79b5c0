"""Bad token requests get 400 naming the field, on a real daemon (never a 500)."""

from __future__ import annotations

import httpx
import pytest
import trio

from livesvc.daemon._daemon import Daemon

from .e2e_support import ADMIN_TOKEN


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"uses": 10**30}, "uses"),
        ({"uses": -1}, "uses"),
        ({"uses": "many"}, "uses"),
        ({"expireTime": "tomorrow"}, "expireTime"),
        ({"expireTime": "99999-01-01T00:00:00Z"}, "expireTime"),
    ],
)
async def test_out_of_range_or_ill_typed_fields_answer_400(daemon: Daemon, body, field):
    with trio.fail_after(20):
        async with httpx.AsyncClient(base_url=daemon.admin_url or "") as http:
            bad = await http.post(
                "/v1alpha/auth_tokens",
                json=body,
                headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
            )
            good = await http.post(
                "/v1alpha/auth_tokens",
                json={"uses": 1},
                headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
            )
    assert bad.status_code == 400, bad.text
    assert field in bad.text
    assert good.status_code == 200  # the daemon is fine
