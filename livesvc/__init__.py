"""livesvc: keeps Gemini Live API sessions alive and correct.

A supervised session library on trio, a Live gateway daemon (``livesvc serve``)
and a wire-faithful local Live API (``livesvc emulator``).
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
