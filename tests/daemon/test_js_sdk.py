"""The stock JavaScript SDK (@google/genai, Node) mints a token with a client key and talks (issue 15)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import trio

from livesvc.daemon._daemon import Daemon

from .e2e_support import KEY

JS = Path(__file__).resolve().parent.parent / "js"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(
    NODE is None or not (JS / "node_modules" / "@google" / "genai").is_dir(),
    reason="needs node and `npm ci` in tests/js (the Makefile's test target runs it where node exists)",
)


async def test_node_sdk_mints_with_a_client_key_and_connects_with_the_token(daemon: Daemon):
    assert daemon.gateway_url is not None
    assert daemon.ca_file is not None
    env = {
        **os.environ,
        "GATEWAY": daemon.gateway_url.replace("wss://", "https://"),
        "KEY": KEY,
        "NODE_EXTRA_CA_CERTS": daemon.ca_file,
    }
    with trio.fail_after(60):
        done = await trio.run_process(
            [NODE or "node", str(JS / "mint_and_connect.mjs")],
            env=env,
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    result = json.loads(done.stdout.decode().strip().splitlines()[-1])
    assert result == {"token": True, "reply": "echo #1: hello from node"}
