"""Mailboxes: every overflow policy, drop counters, clone-per-incarnation."""

from __future__ import annotations

import pytest
import trio

from supervisors import (
    Backoff,
    ChildSpec,
    Mailbox,
    MailboxFull,
    Overflow,
    Supervisor,
)


def drain(mailbox: Mailbox[int]) -> list[int]:
    out = []
    with mailbox.receiver() as inbox:
        while True:
            try:
                out.append(inbox.receive_nowait())
            except trio.WouldBlock:
                return out


class TestOverflowPolicies:
    async def test_block_waits_for_room(self, autojump_clock):
        box = Mailbox[int]("m", 2)
        done_at = []

        async def producer():
            for n in range(3):
                await box.send(n)
            done_at.append(trio.current_time())

        async with trio.open_nursery() as nursery:
            nursery.start_soon(producer)
            await trio.sleep(5)
            assert done_at == []  # the third send is still blocked
            with box.receiver() as inbox:
                assert await inbox.receive() == 0
        assert done_at == [5.0]
        assert drain(box) == [1, 2]
        assert box.stats().dropped == 0
        assert box.stats().sent == 3

    async def test_block_send_nowait_raises_would_block(self):
        box = Mailbox[int]("m", 1)
        box.send_nowait(1)
        with pytest.raises(trio.WouldBlock):
            box.send_nowait(2)
        assert box.stats().dropped == 0

    async def test_drop_oldest_keeps_the_newest(self, logs):
        box = Mailbox[int]("audio", 3, overflow=Overflow.DROP_OLDEST)
        for n in range(10):
            await box.send(n)
        assert drain(box) == [7, 8, 9]
        stats = box.stats()
        assert (stats.sent, stats.dropped, stats.buffered) == (10, 7, 0)
        # Logged on the 1st, 2nd and 4th drop only.
        assert [e["dropped"] for e in logs if e["event"] == "mailbox.overflow"] == [1, 2, 4]
        assert logs[0] == {
            "event": "mailbox.overflow",
            "log_level": "warning",
            "mailbox": "audio",
            "overflow": "drop_oldest",
            "capacity": 3,
            "dropped": 1,
        }

    async def test_drop_newest_keeps_the_oldest(self):
        box = Mailbox[int]("m", 3, overflow=Overflow.DROP_NEWEST)
        for n in range(10):
            box.send_nowait(n)
        assert drain(box) == [0, 1, 2]
        assert box.stats().dropped == 7
        assert box.stats().sent == 3

    async def test_fail_raises_to_the_sender(self):
        box = Mailbox[int]("m", 2, overflow=Overflow.FAIL)
        await box.send(1)
        await box.send(2)
        with pytest.raises(MailboxFull) as info:
            await box.send(3)
        assert (info.value.mailbox, info.value.capacity) == ("m", 2)
        with pytest.raises(MailboxFull):
            box.send_nowait(4)
        assert drain(box) == [1, 2]
        assert box.stats().dropped == 2

    async def test_non_blocking_policies_never_block(self, autojump_clock):
        box = Mailbox[int]("m", 1, overflow=Overflow.DROP_NEWEST)
        with trio.fail_after(1):
            for n in range(100):
                await box.send(n)
        assert trio.current_time() == 0

    def test_capacity_zero_only_blocks(self):
        Mailbox[int]("rendezvous", 0)
        with pytest.raises(ValueError, match="capacity"):
            Mailbox[int]("m", 0, overflow=Overflow.DROP_OLDEST)
        with pytest.raises(ValueError, match="capacity"):
            Mailbox[int]("m", -1)

    async def test_closing_ends_readers_after_the_buffer(self):
        box = Mailbox[int]("m", 5)
        reader = box.receiver()
        box.send_nowait(1)
        box.close()
        assert [m async for m in reader] == [1]
        with pytest.raises(trio.ClosedResourceError):
            await box.send(2)


class TestSender:
    async def test_a_sender_sends_with_the_policy_but_cannot_close(self):
        box = Mailbox[int]("m", 1, overflow=Overflow.DROP_NEWEST)
        out = box.sender()
        await out.send(1)
        out.send_nowait(2)
        assert (out.name, out.stats().sent, out.stats().dropped) == ("m", 1, 1)
        assert not hasattr(out, "close")
        assert drain(box) == [1]


class TestCloneRule:
    async def test_a_crashing_reader_never_closes_the_mailbox(self, autojump_clock):
        """Incarnation 1 dies on "boom"; what was sent meanwhile reaches incarnation 2."""
        box = Mailbox[str]("inbox", 10)
        seen: list[tuple[int, str]] = []

        async def actor(ctx, *, task_status=trio.TASK_STATUS_IGNORED):
            async with box.receiver() as inbox:
                task_status.started()
                async for msg in inbox:
                    if msg == "boom":
                        raise RuntimeError("boom")
                    seen.append((ctx.incarnation, msg))

        sup = Supervisor(
            "s",
            [ChildSpec(id="actor", start=actor, backoff=Backoff(first=3, jitter=0))],
            intensity=5,
        )
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            await box.send("a")
            await box.send("boom")
            await box.send("b")  # buffered while the actor is down
            await trio.sleep(1)
            await box.send("c")
            await trio.sleep(5)
            await sup.stop()
        assert seen == [(1, "a"), (2, "b"), (2, "c")]
        assert box.stats().dropped == 0
