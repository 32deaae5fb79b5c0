"""The session's mailboxes: batches, waits for room, and their overflow policies."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from livesvc.gateway._mailbox import Mailbox, Outbox, Posted


async def test_a_batch_is_everything_queued_in_order():
    box = Mailbox[str](capacity=8)
    for item in "abc":
        box.post(item)
    assert await box.take_batch() == ["a", "b", "c"]


async def test_post_never_waits_sheds_droppable_oldest_first_and_keeps_the_rest():
    box = Mailbox[str](capacity=2)
    box.post("audio1", droppable=True)
    box.post("text1")
    assert box.post("audio2", droppable=True) == 1  # audio1 went
    assert box.post("text2") == 1  # audio2 went; text is never shed
    assert box.post("text3") == 0  # past the bound, but kept
    assert await box.take_batch() == ["text1", "text2", "text3"]
    assert box.shed == 2


async def test_send_waits_for_room_and_fails_once_closed(autojump_clock):
    box = Mailbox[int](capacity=1)
    await box.send(1)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(box.send, 2)
        await trio.sleep(5)
        assert len(box) == 1  # the second sender waits
        assert await box.take_batch() == [1]
    assert await box.take_batch() == [2]
    assert box.close() == []
    with pytest.raises(trio.ClosedResourceError):
        await box.send(3)
    assert await box.take_batch() == []


def test_the_outbox_drops_old_audio_then_refuses_a_frame_that_may_not_be_dropped():
    outbox = Outbox(max_frames=2, max_bytes=1000)
    assert outbox.post(b"a1", droppable=True) == (Posted.QUEUED, 0)
    assert outbox.post(b"t1", droppable=False) == (Posted.QUEUED, 0)
    assert outbox.post(b"t2", droppable=False) == (Posted.QUEUED, 1)  # a1 dropped
    assert outbox.post(b"a2", droppable=True) == (Posted.QUEUED, 1)  # a2 itself dropped
    assert outbox.post(b"t3", droppable=False) == (Posted.FULL, 0)
    assert outbox.take_all() == [b"t1", b"t2"]
    assert outbox.dropped == 2


def test_the_outbox_bounds_bytes_too():
    outbox = Outbox(max_frames=100, max_bytes=10)
    assert outbox.post(b"x" * 8, droppable=True) == (Posted.QUEUED, 0)
    assert outbox.post(b"y" * 8, droppable=False) == (Posted.QUEUED, 1)
    assert outbox.post(b"z" * 8, droppable=False) == (Posted.FULL, 0)
