"""Durable daemon state in SQLite: session records, daemon resumption handles, minted tokens.

The store is an actor with one connection and one writer thread; other actors
hold a :class:`Store` and await its methods, which never block the event loop::

    send, receive = open_store_channel()
    async with trio.open_nursery() as nursery:
        await nursery.start(StoreServer(receive, path="live.db").run)
        store = Store(send)
        handle = await store.issue_handle("s1", now=time.time())

The database is in WAL mode and every call commits before it returns, so a
``kill -9`` loses nothing that a call has returned from. Gateway sessions do
not call it on their relay path: they submit records to a :class:`SessionWriter`
(write-behind, coalesced per session, many sessions per transaction) and wait
only where durability matters, through its :class:`Ticket`.
"""

from __future__ import annotations

from livesvc.store._records import RecordStatus as RecordStatus
from livesvc.store._records import SessionRecord as SessionRecord
from livesvc.store._records import TokenRecord as TokenRecord
from livesvc.store._store import Store as Store
from livesvc.store._store import StoreError as StoreError
from livesvc.store._store import StoreServer as StoreServer
from livesvc.store._store import StoreTimeout as StoreTimeout
from livesvc.store._store import open_store_channel as open_store_channel
from livesvc.store._usage import UsageRow as UsageRow
from livesvc.store._writer import SessionWriter as SessionWriter
from livesvc.store._writer import Ticket as Ticket

__all__ = [
    "SessionRecord",
    "RecordStatus",
    "SessionWriter",
    "Store",
    "StoreError",
    "StoreServer",
    "StoreTimeout",
    "Ticket",
    "TokenRecord",
    "UsageRow",
    "open_store_channel",
]
