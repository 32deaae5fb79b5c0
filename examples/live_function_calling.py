"""Function calling with registered Python tools (the seeds' ``14_live_function_calling``).

``@livesvc.tool`` functions are declared to the model and answered by the
session itself: async tools run as tasks, sync ones in worker threads, each with
a timeout; an exception becomes an error response, so the model never waits
forever. The emulator calls a function when a turn's whole text is
``name(arg=value)``; Google decides from the conversation. Run::

    .venv/bin/python examples/live_function_calling.py
    GEMINI_API_KEY=... .venv/bin/python examples/live_function_calling.py --google
"""

from __future__ import annotations

import trio
from _common import backend, parser

import livesvc
from livesvc.tools import ends_interaction

PRICES = {"AAPL": 178.5, "GOOG": 141.2}


@livesvc.tool(timeout=5)
async def get_stock_price(symbol: str) -> dict[str, object]:
    """Current stock price for a ticker symbol."""
    await trio.sleep(0.05)  # pretend to call a quote service
    if symbol.upper() not in PRICES:
        raise KeyError(f"unknown symbol {symbol}")
    return {"symbol": symbol.upper(), "price": PRICES[symbol.upper()], "currency": "USD"}


@livesvc.tool
def convert_currency(amount: float, to: str) -> dict[str, object]:
    """Convert an amount of US dollars to another currency (runs in a worker thread)."""
    rate = {"EUR": 0.92, "GBP": 0.79}.get(to.upper(), 1.0)
    return {"amount": round(amount * rate, 2), "currency": to.upper()}


async def main() -> None:
    args = parser(__doc__ or "").parse_args()
    async with backend(args) as where:
        if where.emulator is not None:
            prompts = [
                "get_stock_price(symbol=AAPL)",
                "convert_currency(amount=178.5, to=EUR)",
                "get_stock_price(symbol=XYZ)",
            ]
        else:
            prompts = ["What's Apple's stock price?", "And in euros?"]

        def on_tool_call(call: object) -> None:  # only for calls no registered tool handles
            print(f"[unhandled tool call: {call}]")

        async with livesvc.open_session(
            model=where.model,
            response_modalities=["AUDIO"],
            output_audio_transcription=True,
            tools=[get_stock_price, convert_currency],
            on_tool_call=on_tool_call,
            **where.options,
        ) as session:
            async with session.events() as events:
                for prompt in prompts:
                    print(f"you> {prompt}")
                    await session.send_text(prompt)
                    pieces: list[str] = []
                    async for event in events:
                        if isinstance(event, livesvc.ToolCallReceived):
                            for fc in event.call.function_calls or []:
                                print(f"[tool call {fc.name}({fc.args})]")
                        elif isinstance(event, livesvc.MessageReceived):
                            pieces.append(livesvc.extract_text(event.message) or "")
                            content = event.message.server_content
                            if content is not None and content.turn_complete:
                                # Gemini 3.8 may speak more than once for one request
                                # (a filler while a NON_BLOCKING tool runs, then the
                                # answer): the turn ends with the interaction.
                                print(f"model> {''.join(pieces)}")
                                pieces.clear()
                                if ends_interaction(content):
                                    break
            stats = session.stats
            print(f"[tools: {stats['tools_completed']} completed, {stats['tools_failed']} failed]")


if __name__ == "__main__":
    trio.run(main)
