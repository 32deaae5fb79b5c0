"""``livesvc chat``: a small terminal client that talks to the gateway in the Live protocol.

Type a line, get the model's answer as it streams. The client asks for
session resumption and keeps the daemon's latest handle, so when the
connection drops (a daemon restart, say) it reconnects and resumes the same
conversation by itself.

Example::

    livesvc chat --url wss://127.0.0.1:8443 --ca .livesvc/tls/ca.pem --key dev-key
    > hello
    echo #1: hello
"""

from __future__ import annotations

import argparse
import math
import os
import ssl
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import trio
import trio_websocket

from livesvc.models import capabilities
from livesvc.session._dial import TlsHandshakeError, open_websocket_url
from livesvc.tools import ends_interaction
from livesvc.wire import (
    AudioTranscriptionConfig,
    ClientContent,
    ClientMessage,
    Content,
    GenerationConfig,
    Part,
    SessionResumptionConfig,
    Setup,
    WireDecodeError,
    decode_server,
    encode_client,
)

__all__ = ["ChatClient", "ChatError", "register"]

LIVE_PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
DEFAULT_CA = ".livesvc/tls/ca.pem"
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)
# A refused key or request will not get better by trying again.
_NO_RETRY = frozenset({1007, 1008})


class ChatError(Exception):
    """The conversation cannot go on (refused, or the daemon stayed away)."""


def register(subparsers: Any) -> None:
    """Add ``chat`` to the ``livesvc`` command line."""
    parser = subparsers.add_parser(
        "chat",
        help="talk to a running daemon from the terminal",
        description=(
            "Talk to a running livesvc gateway in the Live protocol: type a line, read the\n"
            "model's answer as it streams (text, or the transcription of an audio answer).\n"
            "The client asks for session resumption and, when the connection drops (a\n"
            "daemon restart, say), reconnects and resumes the same conversation by itself."
        ),
        epilog=(
            "examples:\n"
            "  livesvc chat --key dev-key                     # `make run` in another terminal\n"
            '  livesvc chat --url wss://gw.example.com:8443 --ca ca.pem --key "$LIVESVC_KEY"'
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--url", default="wss://127.0.0.1:8443", help="gateway URL (default: %(default)s)"
    )
    parser.add_argument(
        "--key", default=os.environ.get("LIVESVC_KEY"), help="client key (default: $LIVESVC_KEY)"
    )
    parser.add_argument(
        "--ca", default=None, help=f"CA certificate to trust (default: {DEFAULT_CA} when present)"
    )
    parser.add_argument("--model", default="gemini-3.8-live", help="model to ask for")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    if not args.key:
        print("chat: give --key (or set LIVESVC_KEY)", file=sys.stderr)
        return 2
    ca = args.ca or (DEFAULT_CA if Path(DEFAULT_CA).is_file() else None)
    context = None
    if args.url.startswith(("wss://", "https://")):
        context = ssl.create_default_context(cafile=ca)
    client = ChatClient(args.url, args.key, ssl_context=context, model=args.model)
    try:
        return trio.run(client.run_terminal)
    except KeyboardInterrupt:
        return 0


def _print(text: str) -> None:
    print(text, end="", flush=True)


class ChatClient:
    """A conversation with the gateway that survives reconnects.

    Example::

        client = ChatClient("wss://127.0.0.1:8443", "dev-key", ssl_context=ctx)
        lines_send, lines = trio.open_memory_channel(0)
        await client.converse(lines, on_text=print)   # until /quit or the end of lines
    """

    def __init__(
        self,
        url: str,
        key: str,
        *,
        ssl_context: ssl.SSLContext | None = None,
        model: str = "gemini-3.8-live",
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
        resume_wait: float = 3.0,
    ) -> None:
        base = url.rstrip("/").replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        self._url = base + LIVE_PATH
        self._key = key
        self._ssl = ssl_context
        self._model = model
        self._delays = retry_delays
        self._resume_wait = resume_wait
        self.handle: str | None = None
        self.session_id: str | None = None
        self.connections = 0
        # A question whose answer has not ended, and whether it reached the wire.
        self._pending: str | None = None
        self._sent = False

    async def run_terminal(self) -> int:
        """Read lines from stdin and print the answers, until EOF or ``/quit``."""
        send, lines = trio.open_memory_channel[str](0)
        prompt = "> " if sys.stdin.isatty() else ""

        async def read_stdin() -> None:
            stdin = trio.wrap_file(sys.stdin)
            async with send:
                while line := await stdin.readline():
                    if line.strip():
                        await send.send(line.strip())

        def on_text(text: str) -> None:
            _print(text + (prompt if text == "\n" else ""))

        def on_notice(notice: str) -> None:
            _print(f"[{notice}]\n" + (prompt if notice.startswith("connected") else ""))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(read_stdin)
            try:
                await self.converse(lines, on_text=on_text, on_notice=on_notice)
            except ChatError as err:
                _print(f"[{err}]\n")
                return 1
            finally:
                nursery.cancel_scope.cancel()
        return 0

    async def converse(
        self,
        lines: trio.MemoryReceiveChannel[str],
        *,
        on_text: Callable[[str], None],
        on_notice: Callable[[str], None] = lambda _: None,
    ) -> None:
        """Ask each line, stream each answer to ``on_text``, reconnect and resume on drops.

        Returns at the end of ``lines`` or on ``/quit``.

        Raises:
            ChatError: the gateway refused (1007/1008), its TLS certificate is not
                trusted (at once: the message says to pass ``--ca``), or it stayed
                away after every retry.
        """
        attempt = 0
        while True:
            try:
                async with open_websocket_url(
                    self._url,
                    ssl_context=self._ssl,
                    extra_headers=[(b"x-goog-api-key", self._key.encode())],
                ) as ws:
                    await self._setup(ws)
                    attempt = 0
                    on_notice(f"connected, session {self.session_id}")
                    if self._pending is not None:
                        await self._finish_pending(ws, on_text, on_notice)
                    async for line in lines:
                        if line == "/quit":
                            return
                        self._pending, self._sent = line, False
                        await self._ask(ws, line, on_text)
                    return
            except trio_websocket.ConnectionClosed as closed:
                code = closed.reason.code if closed.reason is not None else None
                reason = (closed.reason.reason or "") if closed.reason is not None else ""
                if code in _NO_RETRY:
                    raise ChatError(f"refused ({code}): {reason}") from None
                problem = f"connection closed ({code}) {reason}".strip()
            except TlsHandshakeError as err:
                if not err.retryable:  # an untrusted certificate stays untrusted
                    raise ChatError(
                        f"{err.problem}; give the CA that signed it with --ca FILE"
                    ) from None
                problem = f"cannot connect: {err.problem}"
            except (OSError, trio_websocket.HandshakeError) as err:
                problem = f"cannot connect: {str(err) or type(err).__name__}"
            if attempt >= len(self._delays):
                raise ChatError(f"gave up after {attempt} retries: {problem}")
            delay = self._delays[attempt]
            attempt += 1
            on_notice(f"{problem}; retrying in {delay:g}s")
            await trio.sleep(delay)

    async def _setup(self, ws: trio_websocket.WebSocketConnection) -> None:
        caps = capabilities(self._model)
        if caps is None or "TEXT" in caps.response_modalities:
            generation = GenerationConfig(response_modalities=["TEXT"])
            transcription = None
        else:
            # Audio-only models (3.1, 3.8): ask for audio, print its transcription.
            generation = GenerationConfig(response_modalities=["AUDIO"])
            transcription = AudioTranscriptionConfig()
        setup = Setup(
            model=self._model,
            generation_config=generation,
            output_audio_transcription=transcription,
            session_resumption=SessionResumptionConfig(handle=self.handle),
        )
        await ws.send_message(encode_client(setup))
        first = decode_server(await ws.get_message())
        if first.setup_complete is not None:
            self.session_id = first.setup_complete.session_id
        self.connections += 1

    async def _finish_pending(
        self,
        ws: trio_websocket.WebSocketConnection,
        on_text: Callable[[str], None],
        on_notice: Callable[[str], None],
    ) -> None:
        """After a reconnect: ask again what never left, or read the rest of a sent answer."""
        question = self._pending
        assert question is not None
        if not self._sent:
            await self._ask(ws, question, on_text)
            return
        # If the question reached the gateway, it kept the answer while we were
        # away and sends it now; if nothing comes, the question was lost: ask again.
        if not await self._read_answer(ws, on_text, start_within=self._resume_wait):
            on_notice(f"asking {question!r} again")
            await self._ask(ws, question, on_text)

    async def _ask(
        self, ws: trio_websocket.WebSocketConnection, text: str, on_text: Callable[[str], None]
    ) -> None:
        turn = ClientContent(
            turns=[Content(role="user", parts=[Part(text=text)])], turn_complete=True
        )
        await ws.send_message(encode_client(ClientMessage(client_content=turn)))
        self._sent = True
        await self._read_answer(ws, on_text)

    async def _read_answer(
        self,
        ws: trio_websocket.WebSocketConnection,
        on_text: Callable[[str], None],
        *,
        start_within: float = math.inf,
    ) -> bool:
        """Print one answer; False when no model output starts within ``start_within`` seconds.

        The answer ends with the interaction: on Gemini 3.8 a ``turnComplete``
        with ``interactionStatus: IN_PROGRESS`` ends one utterance (a filler while
        the model works), and only ``IDLE`` ends the answer.
        """
        deadline = trio.current_time() + start_within
        while True:
            with trio.move_on_at(deadline):
                try:
                    message = decode_server(await ws.get_message())
                except WireDecodeError:
                    continue  # a frame this client does not understand is not fatal
                update = message.session_resumption_update
                if update is not None and update.resumable and update.new_handle:
                    self.handle = update.new_handle
                content = message.server_content
                if content is None:
                    continue
                deadline = math.inf  # the answer has started
                for part in content.model_turn.parts or () if content.model_turn else ():
                    if part.text and not part.thought:
                        on_text(part.text)
                spoken = content.output_transcription
                if spoken is not None and spoken.text:
                    on_text(spoken.text)
                if ends_interaction(content):
                    on_text("\n")
                    self._pending = None
                    return True
                continue
            return False
