"""[logging] picks the level and the rendering; JSON lines carry the event name and context."""

import io
import json

import structlog

from livesvc.config import LoggingConfig
from livesvc.daemon._logging import apply_logging
from livesvc.logs import get_logger


def test_json_format_and_level_from_config():
    out = io.StringIO()
    apply_logging(LoggingConfig(level="warning", format="json"), stream=out)
    log = get_logger("t")
    with structlog.contextvars.bound_contextvars(session_id="s1", actor="gateway"):
        log.info("hidden.below.warning")
        log.warning("gateway.client_rejected", token="auth_tokens/secret")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == 1
    assert lines[0]["event"] == "gateway.client_rejected"
    assert (lines[0]["session_id"], lines[0]["actor"]) == ("s1", "gateway")
    assert "secret" not in out.getvalue()


def test_console_format_is_not_json():
    out = io.StringIO()
    apply_logging(LoggingConfig(level="info", format="console"), stream=out)
    get_logger("t").info("daemon.started", port=1)
    assert "daemon.started" in out.getvalue()
    assert not out.getvalue().lstrip().startswith("{")
