"""Admin API pieces for worker processes: async probes (a master asks its workers) and the release route."""

import functools

import httpx
import msgspec
import trio

from livesvc.admin import Readiness, serve_admin
from livesvc.config import hash_key
from livesvc.gateway._gateway import Handover

from .test_admin_api import TOKEN, FakeDaemon


class AsyncDaemon(FakeDaemon):
    """A master-like control: its probes are coroutines."""

    async def readiness(self) -> Readiness:  # type: ignore[override]
        await trio.lowlevel.checkpoint()
        return Readiness(ready=self.ready, checks={"worker_0": self.ready})

    async def metrics_exposition(self) -> tuple[bytes, str]:  # type: ignore[override]
        await trio.lowlevel.checkpoint()
        return b'livesvc_up{worker="0"} 1\n', "text/plain; version=0.0.4"


async def serve(nursery: trio.Nursery, daemon, **kwargs) -> str:
    return await nursery.start(
        functools.partial(serve_admin, daemon, port=0, token_hash=hash_key(TOKEN), **kwargs)
    )


async def test_async_readiness_and_metrics_are_awaited(nursery: trio.Nursery):
    daemon = AsyncDaemon()
    url = await serve(nursery, daemon)
    headers = {"authorization": f"Bearer {TOKEN}"}
    with trio.fail_after(10):
        async with httpx.AsyncClient(base_url=url) as http:
            ready = await http.get("/readyz")
            daemon.ready = False
            not_ready = await http.get("/readyz")
            metrics = await http.get("/metrics", headers=headers)
    assert (ready.status_code, ready.json()) == (200, {"ready": True, "checks": {"worker_0": True}})
    assert not_ready.status_code == 503
    assert metrics.text == 'livesvc_up{worker="0"} 1\n'


async def test_the_release_route_hands_the_session_to_the_claimant(nursery: trio.Nursery):
    asked: list[tuple[str, str]] = []

    async def release(session_id: str, claimant: str) -> Handover:
        asked.append((session_id, claimant))
        return Handover(released=True, frames=[b'{"serverContent":{}}'])

    url = await serve(nursery, FakeDaemon(), release=release)
    headers = {"authorization": f"Bearer {TOKEN}"}
    with trio.fail_after(10):
        async with httpx.AsyncClient(base_url=url) as http:
            answer = await http.post(
                "/internal/sessions/ls_1/release", json={"claimant": "1.ab"}, headers=headers
            )
            refused = await http.post("/internal/sessions/ls_1/release", json={"claimant": "1.ab"})
            bad = await http.post("/internal/sessions/ls_1/release", json={}, headers=headers)
    assert answer.status_code == 200
    handover = msgspec.json.decode(answer.content, type=Handover)
    assert handover == Handover(released=True, frames=[b'{"serverContent":{}}'])
    assert asked == [("ls_1", "1.ab")]
    assert refused.status_code == 401  # the internal token is required
    assert bad.status_code == 400


async def test_without_a_release_handler_there_is_no_release_route(nursery: trio.Nursery):
    url = await serve(nursery, FakeDaemon())
    with trio.fail_after(10):
        async with httpx.AsyncClient(base_url=url) as http:
            answer = await http.post(
                "/internal/sessions/ls_1/release",
                json={"claimant": "1.ab"},
                headers={"authorization": f"Bearer {TOKEN}"},
            )
    assert answer.status_code == 404
