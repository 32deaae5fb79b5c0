"""The outbound ledger keeps conversation-changing messages until the server's state covers them."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from livesvc.session._errors import DeliveryFailed, LedgerFull
from livesvc.session._ledger import OutboundLedger


def test_sequence_numbers_are_consecutive() -> None:
    """Every message gets the next sequence number."""
    ledger: OutboundLedger[str] = OutboundLedger()
    assert [ledger.append(m).seq for m in "abc"] == [1, 2, 3]
    assert ledger.last_seq == 3


def test_resumable_update_covers_only_what_was_written_on_its_connection() -> None:
    """An update on connection 2 covers what was written on 2, not what still waits for a replay."""
    ledger: OutboundLedger[str] = OutboundLedger()
    a, b, _c = (ledger.append(m) for m in "abc")
    ledger.mark_written(a, generation=1, conn_index=1)
    ledger.mark_written(b, generation=1, conn_index=2)
    # The link drops; on connection 2 only `a` is replayed, answered, then an update arrives.
    ledger.mark_written(a, generation=2, conn_index=1)
    ledger.turn_completed(generation=2)
    assert ledger.cover(generation=2) == 1
    assert [e.message for e in ledger.unwritten(2)] == ["b", "c"]


def test_unwritten_lists_the_replay_in_order_and_each_entry_once() -> None:
    """After a resume, what the handle does not cover is replayed in order, exactly once."""
    ledger: OutboundLedger[str] = OutboundLedger()
    entries = [ledger.append(m) for m in "abcd"]
    for i, entry in enumerate(entries[:3], start=1):
        ledger.mark_written(entry, generation=1, conn_index=i)
    ledger.turn_completed(generation=1)
    ledger.cover(generation=1)  # a, b, c are in the handle
    late = ledger.append("e")
    ledger.mark_written(late, generation=1, conn_index=4)
    # Connection 1 drops. Connection 2 must get d (never written) and e (not covered).
    replay = ledger.unwritten(2)
    assert [e.message for e in replay] == ["d", "e"]
    for i, entry in enumerate(replay, start=1):
        ledger.mark_written(entry, generation=2, conn_index=i)
    assert ledger.unwritten(2) == []
    assert not ledger.needs_write(late.seq, 2)
    assert ledger.needs_write(late.seq, 3)


def test_an_update_without_a_turn_complete_covers_nothing() -> None:
    """An update that arrives right after a write (e.g. just after setupComplete) is no proof."""
    ledger: OutboundLedger[str] = OutboundLedger()
    a = ledger.append("a")
    ledger.mark_written(a, generation=1, conn_index=1)
    assert ledger.cover(generation=1) == 0
    ledger.turn_completed(generation=1)
    assert ledger.cover(generation=1) == 1


def test_written_mid_reply_waits_for_its_own_turn_complete() -> None:
    """The turnComplete ending the reply in progress does not acknowledge a message written during it."""
    ledger: OutboundLedger[str] = OutboundLedger()
    a = ledger.append("a")
    ledger.mark_written(a, generation=1, conn_index=1, skip_turns=1)
    ledger.turn_completed(generation=1)  # ends the earlier reply
    assert ledger.cover(generation=1) == 0
    ledger.turn_completed(generation=1)  # ends the reply to `a`
    assert ledger.cover(generation=1) == 1


def test_turn_complete_on_another_connection_does_not_count() -> None:
    """Acknowledgements are per connection: a replayed entry needs a new one."""
    ledger: OutboundLedger[str] = OutboundLedger()
    a = ledger.append("a")
    ledger.mark_written(a, generation=1, conn_index=1)
    ledger.turn_completed(generation=2)
    assert ledger.cover(generation=1) == 0
    ledger.turn_completed(generation=1)
    ledger.mark_written(a, generation=2, conn_index=1)  # replayed: acknowledgement starts over
    assert ledger.cover(generation=2) == 0


def test_transparent_index_covers_up_to_and_including_the_index() -> None:
    """lastConsumedClientMessageIndex covers the frames at or before it on that connection."""
    ledger: OutboundLedger[str] = OutboundLedger()
    entries = [ledger.append(m) for m in "abc"]
    for i, entry in enumerate(entries, start=5):
        ledger.mark_written(entry, generation=1, conn_index=i)
    assert ledger.cover_through_index(generation=1, index=6) == 2
    assert [e.message for e in ledger] == ["c"]


def test_without_resumption_entries_leave_when_written() -> None:
    """With resumption off nothing would ever cover an entry, so writing it is the end."""
    ledger: OutboundLedger[str] = OutboundLedger(keep_until_covered=False)
    entry = ledger.append("a")
    ledger.mark_written(entry, generation=1, conn_index=1)
    assert len(ledger) == 0
    assert entry.is_written


def test_abandon_written_keeps_what_the_old_session_never_saw() -> None:
    """A fresh session drops what the old one received and still sends the rest."""
    ledger: OutboundLedger[str] = OutboundLedger()
    a, _b = ledger.append("a"), ledger.append("b")
    ledger.mark_written(a, generation=1, conn_index=1)
    assert [e.message for e in ledger.abandon_written()] == ["a"]
    assert [e.message for e in ledger.unwritten(2)] == ["b"]


async def test_waiter_returns_once_written() -> None:
    """A sender waiting for its message wakes up when the connection writes it."""
    ledger: OutboundLedger[str] = OutboundLedger()
    entry = ledger.append("a")
    done: list[str] = []

    async def wait() -> None:
        await entry.written()
        done.append("written")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(wait)
        await trio.testing.wait_all_tasks_blocked()
        assert done == []
        ledger.mark_written(entry, generation=1, conn_index=1)
    assert done == ["written"]


async def test_fail_all_raises_in_waiters_and_reports_everything_undelivered() -> None:
    """When the session ends, a waiting sender gets DeliveryFailed and nothing is dropped silently."""
    ledger: OutboundLedger[str] = OutboundLedger()
    written = ledger.append("a")
    ledger.mark_written(written, generation=1, conn_index=1)
    pending = ledger.append("b")
    lost = ledger.fail_all("bad key")
    assert [e.message for e in lost] == ["a", "b"]
    with pytest.raises(DeliveryFailed, match="message 2 not delivered: bad key") as info:
        await pending.written()
    assert info.value.seq == 2
    await written.written()  # already written before the failure: no error
    assert len(ledger) == 0


def test_an_append_past_the_entry_bound_is_refused_and_keeps_nothing() -> None:
    """At max_entries, append raises LedgerFull; no sequence number is used; room comes back."""
    ledger: OutboundLedger[str] = OutboundLedger(max_entries=2)
    a, _b = ledger.append("a"), ledger.append("b")
    with pytest.raises(LedgerFull, match="2 messages") as info:
        ledger.append("c")
    assert isinstance(info.value, DeliveryFailed)
    assert (info.value.entries, info.value.max_entries) == (2, 2)
    assert (len(ledger), ledger.last_seq, ledger.refused) == (2, 2, 1)
    ledger.mark_written(a, generation=1, conn_index=1)
    ledger.turn_completed(generation=1)
    assert ledger.cover(generation=1) == 1  # the server acknowledged `a`
    assert ledger.append("c").seq == 3


def test_an_append_past_the_byte_bound_is_refused_and_bytes_follow_removals() -> None:
    """Sizes add up; every way out of the ledger gives the bytes back."""
    ledger: OutboundLedger[str] = OutboundLedger(max_bytes=100)
    a = ledger.append("a", size=60)
    ledger.append("b", size=40)
    assert ledger.bytes == 100
    with pytest.raises(LedgerFull) as info:
        ledger.append("c", size=1)
    assert (info.value.bytes, info.value.max_bytes) == (100, 100)
    ledger.mark_written(a, generation=1, conn_index=1)
    assert [e.message for e in ledger.abandon_written()] == ["a"]
    assert ledger.bytes == 40
    c = ledger.append("c", size=60)
    ledger.mark_written(c, generation=2, conn_index=1)
    assert ledger.cover_through_index(generation=2, index=1) == 1
    assert ledger.bytes == 40
    ledger.fail_all("closed")
    assert ledger.bytes == 0
    unkept: OutboundLedger[str] = OutboundLedger(keep_until_covered=False, max_bytes=10)
    d = unkept.append("d", size=10)
    unkept.mark_written(d, generation=1, conn_index=1)  # resumption off: gone once written
    assert (len(unkept), unkept.bytes) == (0, 0)
