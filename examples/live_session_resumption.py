"""Session resumption: survive a dropped connection, then resume after a restart (the seeds' ``13``).

Part 1: the session is cut (in-process: the emulator drops the TCP connection)
and resumes by itself with its latest handle; the conversation continues.
Part 2: the handle is saved, the session closed, and a brand-new session
resumes it, as a restarted process would. With the emulator, the reply number
(``echo #N``) shows the context carried over. Run::

    .venv/bin/python examples/live_session_resumption.py
"""

from __future__ import annotations

import trio
from _common import backend, parser

import livesvc


async def ask(session: livesvc.Session, text: str) -> None:
    print(f"you> {text}")
    async with session.events() as events:
        await session.send_text(text)
        pieces: list[str] = []
        async for event in events:
            if isinstance(event, livesvc.MessageReceived):
                pieces.append(livesvc.extract_text(event.message) or "")
                content = event.message.server_content
                if content is not None and content.turn_complete:
                    break
    print(f"model> {''.join(pieces)}")
    await session.wait_settled()  # the latest handle now covers this turn


async def main() -> None:
    args = parser(__doc__ or "").parse_args()
    common = {"response_modalities": ["AUDIO"], "output_audio_transcription": True}

    def on_disconnect(event: livesvc.Disconnected) -> None:
        print(f"[disconnected: code={event.code} {event.reason!r}, will retry: {event.will_retry}]")

    def on_connect(event: livesvc.Connected) -> None:
        print(f"[connected #{event.connection}, resumed: {event.resumed}]")

    async with backend(args) as where:
        async with livesvc.open_session(
            model=where.model,
            on_connect=on_connect,
            on_disconnect=on_disconnect,
            **common,
            **where.options,
        ) as session:
            await ask(session, "Remember: my name is Alice.")
            if where.emulator is not None:
                print("[the emulator drops the connection]")
                await where.emulator.faults.drop()
            await ask(session, "Still there?")
            handle = session.session_handle
            print(f"[saved handle {handle[:8] if handle else None}...; closing]")

        async with livesvc.open_session(
            model=where.model,
            resume_handle=handle,
            on_connect=on_connect,
            **common,
            **where.options,
        ) as resumed:
            await ask(resumed, "What's my name?")
            print(
                f"[stats: {resumed.stats['connections']} connection(s), {resumed.stats['resumes']} resume(s)]"
            )


if __name__ == "__main__":
    trio.run(main)
