"""Multi-turn text chat over a Live session (the seeds' ``11_live_text_chat``).

Current Live models answer in audio, so the text comes from the output
transcription; ``extract_text`` falls back to it. Run::

    .venv/bin/python examples/live_text_chat.py                       # in-process emulator
    .venv/bin/python examples/live_text_chat.py "Hi" "What is 2+2?"   # your own prompts
"""

from __future__ import annotations

import trio
from _common import backend, parser

import livesvc

DEFAULT_PROMPTS = ["What is machine learning?", "Say it in five words.", "Thanks!"]


async def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("prompts", nargs="*", help="the user turns (default: three canned ones)")
    args = p.parse_args()
    async with (
        backend(args) as where,
        livesvc.open_session(
            model=where.model,
            response_modalities=["AUDIO"],
            output_audio_transcription=True,
            system_instruction="You are a helpful assistant. Keep answers short.",
            **where.options,
        ) as session,
    ):
        async with session.events() as events:
            for prompt in args.prompts or DEFAULT_PROMPTS:
                print(f"you> {prompt}")
                await session.send_text(prompt)
                print("model> ", end="", flush=True)
                async for event in events:
                    if isinstance(event, livesvc.MessageReceived):
                        text = livesvc.extract_text(event.message)
                        if text:
                            print(text, end="", flush=True)
                        content = event.message.server_content
                        if content is not None and content.turn_complete:
                            print()
                            break
        usage = session.usage
        if usage is not None:
            print(f"[tokens: prompt {usage.prompt_tokens}, output {usage.output_tokens}]")


if __name__ == "__main__":
    trio.run(main)
