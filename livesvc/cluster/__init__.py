"""The fleet: several ``livesvc serve`` nodes sharing a Redis store (docs/fleet.md).

Each node holds a lease (:class:`NodeLease`) while it lives and fences itself
when it cannot renew it, so two nodes never serve one session.
"""

from __future__ import annotations

from livesvc.cluster._lease import LeaseBackend as LeaseBackend
from livesvc.cluster._lease import LeaseLost as LeaseLost
from livesvc.cluster._lease import LeaseSettings as LeaseSettings
from livesvc.cluster._lease import LeaseTaken as LeaseTaken
from livesvc.cluster._lease import NodeInfo as NodeInfo
from livesvc.cluster._lease import NodeLease as NodeLease
from livesvc.cluster._peers import FleetPeers as FleetPeers
from livesvc.cluster._peers import serve_cluster as serve_cluster
from livesvc.cluster._redis_leases import RedisLeases as RedisLeases

__all__ = [
    "LeaseBackend",
    "LeaseLost",
    "LeaseSettings",
    "LeaseTaken",
    "NodeInfo",
    "NodeLease",
    "FleetPeers",
    "RedisLeases",
    "serve_cluster",
]
