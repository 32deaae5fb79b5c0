"""A wire-faithful local Gemini Live API: ``livesvc emulator``, or in-process.

Serves the Live WebSocket endpoints of the Gemini API and Vertex AI, and the REST
calls Live clients need (model listing, ephemeral tokens), on one port, with a
deterministic model (``echo #N: T``), session resumption, ``goAway``, tool calls and
fault injection. See ``docs/emulator.md``.

Example::

    from livesvc.emulator import EmulatorConfig, open_emulator

    async with open_emulator(EmulatorConfig(reply_interval=0)) as emu:
        url = emu.live_url() + "?key=any"          # ws://127.0.0.1:PORT/ws/...
        await emu.faults.drop()                    # every live connection, no close frame
        print(emu.sessions())
"""

from livesvc.emulator._catalogue import DEFAULT_CATALOGUE as DEFAULT_CATALOGUE
from livesvc.emulator._catalogue import GEMINI as GEMINI
from livesvc.emulator._catalogue import TEXT_INPUT_ANY as TEXT_INPUT_ANY
from livesvc.emulator._catalogue import TEXT_INPUT_REALTIME as TEXT_INPUT_REALTIME
from livesvc.emulator._catalogue import VERTEX as VERTEX
from livesvc.emulator._catalogue import ModelSpec as ModelSpec
from livesvc.emulator._config import EmulatorConfig as EmulatorConfig
from livesvc.emulator._config import TlsFiles as TlsFiles
from livesvc.emulator._emulator import Emulator as Emulator
from livesvc.emulator._emulator import open_emulator as open_emulator
from livesvc.emulator._emulator import run_emulator as run_emulator
from livesvc.emulator._endpoints import live_path as live_path
from livesvc.emulator._faults import FaultRule as FaultRule
from livesvc.emulator._faults import Faults as Faults
from livesvc.emulator._faults import UnknownSessionError as UnknownSessionError
from livesvc.emulator._faults import parse_fault as parse_fault
from livesvc.emulator._registry import SessionInfo as SessionInfo
from livesvc.emulator._registry import SessionState as SessionState
from livesvc.emulator._tls import client_ssl_context as client_ssl_context
from livesvc.emulator._tls import write_self_signed as write_self_signed

__all__ = [
    "DEFAULT_CATALOGUE",
    "GEMINI",
    "TEXT_INPUT_ANY",
    "TEXT_INPUT_REALTIME",
    "VERTEX",
    "Emulator",
    "EmulatorConfig",
    "FaultRule",
    "Faults",
    "ModelSpec",
    "SessionInfo",
    "SessionState",
    "TlsFiles",
    "UnknownSessionError",
    "client_ssl_context",
    "live_path",
    "open_emulator",
    "parse_fault",
    "run_emulator",
    "write_self_signed",
]
