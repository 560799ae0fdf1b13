"""The Autobahn TestSuite's protocol cases (framing, pings, fragmentation, UTF-8, close,
limits: 1-7 and 10), run by kosoku against our WebSocket stack on the Werkzeug server,
where flask-sock races the close echo (shared/research/security.md, P5)."""

from __future__ import annotations

import asyncio

import pytest
from echo_route import ECHO_PATH, add_echo_route
from harness import free_port

from app import create_app
from darkroom.config import Config
from darkroom.web.serving import WerkzeugServer

kosoku = pytest.importorskip("kosoku")
pytestmark = pytest.mark.slow

CASES = ["1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "10.*"]
PASSING = {"OK", "NON-STRICT", "INFORMATIONAL"}


def test_every_autobahn_protocol_case_passes(tmp_path):
    config = Config(data_dir=tmp_path / "data", port=free_port(), hot_folder=False,
                    max_message_size=1 << 24)
    app = create_app(config, with_pipeline=False)
    add_echo_route(app)
    server = WerkzeugServer(app, config)
    server.start_background()
    try:
        try:
            results = asyncio.run(kosoku.run_fuzzingclient(
                f"ws://127.0.0.1:{config.port}{ECHO_PATH}", cases=CASES, concurrency=4))
        except kosoku.FailureError as failure:
            results = failure.results
    finally:
        server.shutdown()
    assert len(results) >= 240
    failed = [(r.case_id, r.behavior.value, r.behavior_close.value) for r in results
              if r.behavior.value not in PASSING or r.behavior_close.value not in PASSING]
    assert failed == []
