"""The conversation as text, kept to seed a new server session when the old one is lost.

When a resume is refused (or there was no handle yet), the server-side
conversation is gone. With ``context_loss="reseed"`` the session keeps this
bounded transcript of what it relayed and sends it as the new session's initial
history, so the model still knows what was said. What it keeps:

- the client's ``clientContent`` turns, ``realtimeInput.text`` and tool responses;
- the model's text parts, or its output transcription when it speaks (audio);
- the user's input transcription (what they said, as text);
- the model's tool calls.

What it cannot keep: audio and video themselves, thoughts, grounding. Turns enter
the history at ``turnComplete`` (or an interruption): a prompt still waiting for
its reply is not history, the ledger replays it on the new session instead.

Example:
    >>> from livesvc.wire import ClientContent, ClientMessage, Content, Part
    >>> from livesvc.wire import ServerContent, ServerMessage
    >>> t = Transcript(max_turns=10, max_bytes=1000)
    >>> t.client_message(ClientMessage(client_content=ClientContent(
    ...     turns=[Content(role="user", parts=[Part(text="hi")])], turn_complete=True)))
    >>> t.server_message(ServerMessage(server_content=ServerContent(
    ...     model_turn=Content(parts=[Part(text="hello")]), turn_complete=True)))
    >>> [(c.role, c.parts[0].text) for c in t.history()]
    [('user', 'hi'), ('model', 'hello')]
"""

from __future__ import annotations

from collections import deque

from livesvc.wire import ClientMessage, Content, Part, ServerMessage

__all__ = ["Transcript"]


def _size(content: Content) -> int:
    size = 0
    for part in content.parts or ():
        if part.text is not None:
            size += len(part.text)
        elif part.function_call is not None:
            size += 64 + len(repr(part.function_call.args))
        elif part.function_response is not None:
            size += 64 + len(repr(part.function_response.response))
    return size


class Transcript:
    """A bounded history of the conversation (oldest turns dropped first).

    Args:
        max_turns: at most this many turns (a user or model turn each).
        max_bytes: at most about this many characters of text.
    """

    def __init__(self, *, max_turns: int, max_bytes: int) -> None:
        self.max_turns = max_turns
        self.max_bytes = max_bytes
        self.dropped = 0  # turns dropped at a bound, for the owner to report
        self._turns: deque[tuple[Content, int]] = deque()
        self._bytes = 0
        # Since the last turn boundary: what the client sent, and what is being said.
        self._pending: list[Content] = []
        self._heard: list[str] = []  # the user's input transcription
        self._said: list[str] = []  # the model's text parts
        self._spoken: list[str] = []  # the model's output transcription

    def __len__(self) -> int:
        return len(self._turns)

    def history(self) -> list[Content]:
        """The turns up to the last turn boundary, oldest first."""
        return [content for content, _ in self._turns]

    def client_message(self, msg: ClientMessage) -> None:
        """``msg`` was written to the server."""
        if msg.client_content is not None:
            for turn in msg.client_content.turns or ():
                texts = [p for p in turn.parts or () if p.text is not None]
                if texts:
                    self._pending.append(Content(role=turn.role or "user", parts=texts))
        elif msg.realtime_input is not None and msg.realtime_input.text:
            self._pending.append(Content(role="user", parts=[Part(text=msg.realtime_input.text)]))
        elif msg.tool_response is not None and msg.tool_response.function_responses:
            parts = [Part(function_response=r) for r in msg.tool_response.function_responses]
            self._pending.append(Content(role="user", parts=parts))

    def server_message(self, msg: ServerMessage) -> None:
        """``msg`` came from the server."""
        if msg.tool_call is not None and msg.tool_call.function_calls:
            self._flush_model()
            parts = [Part(function_call=c) for c in msg.tool_call.function_calls]
            self._pending.append(Content(role="model", parts=parts))
            return
        content = msg.server_content
        if content is None:
            return
        if content.input_transcription is not None and content.input_transcription.text:
            self._heard.append(content.input_transcription.text)
        if content.model_turn is not None:
            for part in content.model_turn.parts or ():
                if part.text and not part.thought:
                    self._said.append(part.text)
        if content.output_transcription is not None and content.output_transcription.text:
            self._spoken.append(content.output_transcription.text)
        if content.turn_complete or content.interrupted:
            self._flush_model()
            self._commit()

    def forget_pending(self) -> None:
        """The server session is gone: what was not answered is replayed, not history."""
        self._pending.clear()
        self._heard.clear()
        self._said.clear()
        self._spoken.clear()

    def _flush_model(self) -> None:
        if self._heard:
            self._pending.append(Content(role="user", parts=[Part(text="".join(self._heard))]))
            self._heard.clear()
        words = self._said or self._spoken  # text replies win over their transcription
        if words:
            self._pending.append(Content(role="model", parts=[Part(text="".join(words))]))
        self._said.clear()
        self._spoken.clear()

    def _commit(self) -> None:
        for content in self._pending:
            size = _size(content)
            self._turns.append((content, size))
            self._bytes += size
        self._pending.clear()
        while self._turns and (len(self._turns) > self.max_turns or self._bytes > self.max_bytes):
            _, size = self._turns.popleft()
            self._bytes -= size
            self.dropped += 1
