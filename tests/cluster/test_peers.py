"""Node-to-node calls: signed with the cluster secret, refused otherwise; a gone owner is claimed."""

from __future__ import annotations

import functools

import httpx
import pytest
import trio

from livesvc.cluster import FleetPeers, NodeInfo, serve_cluster
from livesvc.cluster._auth import MAX_SKEW_SECONDS, sign, verify
from livesvc.cluster._peers import RELEASE_PATH
from livesvc.gateway._gateway import Handover

from ..real_servers import free_port

SECRET = "cluster-secret-for-tests"
BODY = b'{"session_id":"ls_1","claimant":"node-b.2"}'


def test_a_signed_request_verifies_and_any_change_breaks_it():
    headers = sign(SECRET, "POST", RELEASE_PATH, BODY, now=1000.0)
    assert SECRET not in "".join(headers.values())  # the secret never travels
    assert verify(SECRET, "POST", RELEASE_PATH, BODY, headers, now=1000.0)
    assert not verify("other-secret", "POST", RELEASE_PATH, BODY, headers, now=1000.0)
    assert not verify(SECRET, "POST", RELEASE_PATH, BODY + b" ", headers, now=1000.0)
    assert not verify(SECRET, "POST", "/cluster/v1/other", BODY, headers, now=1000.0)
    assert not verify(SECRET, "POST", RELEASE_PATH, BODY, {}, now=1000.0)


def test_an_old_signature_is_refused_as_a_replay():
    headers = sign(SECRET, "POST", RELEASE_PATH, BODY, now=1000.0)
    assert verify(SECRET, "POST", RELEASE_PATH, BODY, headers, now=1000.0 + MAX_SKEW_SECONDS)
    assert not verify(SECRET, "POST", RELEASE_PATH, BODY, headers, now=1001.0 + MAX_SKEW_SECONDS)


class Leases:
    """The lease table as FleetPeers reads it: node -> holder."""

    def __init__(self, held: dict[str, NodeInfo]) -> None:
        self.held = held

    async def holder(self, node: str) -> NodeInfo | None:
        return self.held.get(node)


async def test_an_owner_without_a_lease_or_with_a_newer_incarnation_is_gone():
    holder = NodeInfo(node="node-a", address="127.0.0.1:1", token="t", incarnation="new")
    peers = FleetPeers(Leases({"node-a": holder}), secret=SECRET)  # type: ignore[arg-type]
    assert (await peers.release("node-b.x", "ls_1", "node-c.1")).owner_gone
    assert (await peers.release("node-a.old", "ls_1", "node-c.1")).owner_gone
    assert (await peers.release("no-dot", "ls_1", "node-c.1")).owner_gone


async def test_a_live_owner_is_asked_over_its_signed_endpoint(nursery: trio.Nursery):
    asked: list[tuple[str, str]] = []

    async def release(session_id: str, claimant: str) -> Handover:
        asked.append((session_id, claimant))
        return Handover(released=True, frames=[b"frame"])

    port = free_port()
    await nursery.start(
        functools.partial(serve_cluster, release, secret=SECRET, host="127.0.0.1", port=port)
    )
    holder = NodeInfo(node="node-a", address=f"127.0.0.1:{port}", token="t", incarnation="i1")
    peers = FleetPeers(Leases({"node-a": holder}), secret=SECRET)  # type: ignore[arg-type]
    handover = await peers.release("node-a.i1", "ls_1", "node-b.2")
    assert handover == Handover(released=True, frames=[b"frame"])
    assert asked == [("ls_1", "node-b.2")]
    # A caller without the secret is refused, and the owner is not asked.
    impostor = FleetPeers(Leases({"node-a": holder}), secret="wrong")  # type: ignore[arg-type]
    with pytest.raises(httpx.HTTPStatusError) as info:
        await impostor.release("node-a.i1", "ls_1", "node-x.9")
    assert info.value.response.status_code == 403
    assert asked == [("ls_1", "node-b.2")]
    nursery.cancel_scope.cancel()
