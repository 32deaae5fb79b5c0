"""Build a session configuration from a client's raw ``setup`` (the gateway's path).

A gateway receives a ``Setup`` from its client and opens its own upstream
session with it. The client's resumption settings are the gateway's business
(the upstream handle must never reach the client), so ``session_resumption``
is taken from the options, not from the client's setup.

Example::

    setup = decode_client(first_frame).setup
    config = config_from_setup(setup, auth=upstream_auth, base_url=upstream_url)
    async with open_session(config=config, on_message=relay) as upstream:
        ...
"""

from __future__ import annotations

from typing import Any

from livesvc.models import normalize_model_name
from livesvc.session._config import SessionConfig
from livesvc.session._errors import SessionConfigError
from livesvc.wire import Setup

__all__ = ["config_from_setup"]


def config_from_setup(setup: Setup, **options: Any) -> SessionConfig:
    """A :class:`SessionConfig` that sends ``setup`` upstream, validated like any other.

    Args:
        setup: the client's setup; its model and every field but
            ``session_resumption`` are used.
        **options: any other :class:`SessionConfig` option (credentials,
            ``base_url``, ``session_resumption``, ``resume_handle``, policies);
            an option given here wins over the setup's field.

    Raises:
        SessionConfigError: the setup names no model.
    """
    if not setup.model:
        raise SessionConfigError("setup.model: the client's setup names no model", field="model")
    mapped: dict[str, Any] = {
        "model": normalize_model_name(setup.model),
        "generation_config": setup.generation_config,
        "system_instruction": setup.system_instruction,
        "tools": list(setup.tools or ()),
        "tool_config": setup.tool_config,
        "realtime_input_config": setup.realtime_input_config,
        "context_window_compression": setup.context_window_compression,
        "input_audio_transcription": setup.input_audio_transcription or False,
        "output_audio_transcription": setup.output_audio_transcription or False,
        "proactivity": setup.proactivity,
        "safety_settings": list(setup.safety_settings or ()),
        "explicit_vad_signal": setup.explicit_vad_signal,
    }
    # Fields without an option of their own travel as overrides.
    rest = Setup(
        history_config=setup.history_config, avatar_config=setup.avatar_config, labels=setup.labels
    )
    if rest != Setup():
        mapped["setup_overrides"] = rest
    mapped.update(options)
    return SessionConfig(**mapped)
