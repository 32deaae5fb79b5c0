import io
import json

import structlog

from livesvc.logs import configure_logging, get_logger, redact_text


def test_json_lines_carry_bound_context_and_redact_secrets():
    out = io.StringIO()
    configure_logging("info", json=True, stream=out)
    log = get_logger("t")
    with structlog.contextvars.bound_contextvars(session_id="s1"):
        log.info("session.connected", api_key="SECRET", url="wss://h/ws?key=SECRET2&a=1")
    log.debug("hidden.at.info")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == 1
    event = lines[0]
    assert event["event"] == "session.connected"
    assert event["session_id"] == "s1"
    assert event["api_key"] == "<redacted>"
    assert "SECRET" not in out.getvalue()
    assert event["level"] == "info"


def test_stdlib_logs_are_bridged_as_json():
    import logging

    out = io.StringIO()
    configure_logging("info", json=True, stream=out)
    logging.getLogger("trio-websocket").warning("handshake failed")
    event = json.loads(out.getvalue().splitlines()[-1])
    assert event["event"] == "handshake failed"
    assert event["logger"] == "trio-websocket"


def test_redact_text_keeps_other_parameters():
    assert redact_text("/ws?access_token=abc&x=1") == "/ws?access_token=<redacted>&x=1"
