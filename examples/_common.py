"""Shared plumbing of the examples: where to connect, and which model to use.

Every example runs with one command against an in-process emulator (the
default), a running emulator or gateway (``--url``), or Google (``--google``,
with ``GEMINI_API_KEY`` set)::

    .venv/bin/python examples/live_text_chat.py
    .venv/bin/python examples/live_text_chat.py --url ws://127.0.0.1:8080
    .venv/bin/python examples/live_text_chat.py --url wss://127.0.0.1:8443 --ca .livesvc/tls/ca.pem
    GEMINI_API_KEY=... .venv/bin/python examples/live_text_chat.py --google
"""

from __future__ import annotations

import argparse
import os
import ssl
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from livesvc.auth import ApiKey
from livesvc.emulator import Emulator, EmulatorConfig, open_emulator
from livesvc.logs import configure_logging
from livesvc.models import resolve


def parser(description: str) -> argparse.ArgumentParser:
    """The command line every example shares."""
    # Raw: the docstring's run commands keep their lines in --help.
    p = argparse.ArgumentParser(
        description=description,
        epilog=(
            "TLS: a wss:// or https:// --url needs its CA trusted. The daemon of\n"
            "`make run` writes its self-signed CA to .livesvc/tls/ca.pem and\n"
            "`make emulator` the emulator's: pass it with --ca. Without --url an\n"
            "in-process emulator (plain ws://) is used and no CA is needed."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--url", help="a running emulator or gateway (ws://, wss://, http://, https://)"
    )
    where.add_argument(
        "--google", action="store_true", help="talk to Google (needs GEMINI_API_KEY)"
    )
    p.add_argument("--api-key", help="the key for --url (default: GEMINI_API_KEY, else 'emulator')")
    p.add_argument("--ca", help="CA certificate to trust for a wss:// --url (e.g. the daemon's)")
    p.add_argument("--model", help="the Live model (default: resolve('audio'))")
    p.add_argument("--verbose", action="store_true", help="log the session's events")
    return p


@dataclass
class Backend:
    """Where the example connects: session options plus, in-process, the emulator itself."""

    options: dict[str, Any] = field(default_factory=dict)
    emulator: Emulator | None = None
    model: str = ""


@asynccontextmanager
async def backend(args: argparse.Namespace) -> AsyncIterator[Backend]:
    """Connect as the command line says; start an in-process emulator by default."""
    configure_logging("info" if args.verbose else "warning", json=False)
    if args.google:
        key = os.environ.get("GEMINI_API_KEY") or os.environ.get("GOOGLE_API_KEY")
        if not key:
            sys.exit("--google needs GEMINI_API_KEY")
        found = Backend(options={"api_key": key})
        found.model = args.model or await resolve("audio", auth=ApiKey(key))
        yield found
        return
    if args.url:
        key = args.api_key or os.environ.get("GEMINI_API_KEY") or "emulator"
        found = Backend(options={"api_key": key, "base_url": args.url})
        context = ssl.create_default_context(cafile=args.ca) if args.ca else None
        if context is not None:
            found.options["ssl_context"] = context
        async with httpx.AsyncClient(verify=context or True) as http:
            found.model = args.model or await resolve(
                "audio", auth=ApiKey(key), base_url=args.url, http_client=http
            )
        yield found
        return
    # Quick replies and short speech, so the examples finish in a second or two.
    async with open_emulator(EmulatorConfig(reply_interval=0.01, audio_ms_per_char=20)) as emu:
        found = Backend(options={"api_key": "emulator", "base_url": emu.url}, emulator=emu)
        found.model = args.model or await resolve(
            "audio", auth=ApiKey("emulator"), base_url=emu.url
        )
        print(f"[in-process emulator at {emu.url}, model {found.model}]")
        yield found
