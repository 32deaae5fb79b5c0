"""The embedded emulator's settings, one definition for the daemon and the master."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from livesvc.config import Config

if TYPE_CHECKING:
    from livesvc.emulator import EmulatorConfig

__all__ = ["embedded_emulator_config"]


def embedded_emulator_config(config: Config, *, api_key: str, port: int) -> EmulatorConfig:
    """The emulator ``[upstream] backend = "emulator"`` runs, keeping sessions under state_dir.

    Its sessions live in ``state_dir`` (``emulator-sessions.db``), so restarting
    the daemon, even with kill -9, keeps every conversation a client can resume.
    """
    from livesvc.emulator import EmulatorConfig  # the emulator loads only when embedded

    settings = config.upstream.emulator
    lifetime = settings.session_lifetime_seconds or None  # 0: connections never age
    return EmulatorConfig(
        host=settings.host,
        port=port,
        api_keys=(api_key,),
        reply_interval=settings.reply_interval_seconds,
        session_lifetime=lifetime,
        go_away_notice=min(settings.go_away_notice_seconds, lifetime or math.inf),
        state_dir=str(config.service.state_dir),
    )
