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
    url = f"ws://127.0.0.1:{config.port}{ECHO_PATH}"
    try:
        results = _run(url, CASES, concurrency=4)
        assert len(results) >= 240
        failed = _failed(results)
        if failed:
            # simple-websocket sends the pong for a ping after it has handed over a
            # message completed in the same read (its _handle_events), so on a loaded
            # machine cases 5.6-5.8 can see the echo first. Each failed case runs again
            # alone: a protocol bug fails both times.
            failed = _failed(_run(url, [case for case, _, _ in failed], concurrency=1))
    finally:
        server.shutdown()
    assert failed == []


def _run(url: str, cases: list[str], concurrency: int) -> list:
    try:
        return asyncio.run(kosoku.run_fuzzingclient(url, cases=cases, concurrency=concurrency))
    except kosoku.FailureError as failure:
        return failure.results


def _failed(results: list) -> list[tuple[str, str, str]]:
    return [(r.case_id, r.behavior.value, r.behavior_close.value) for r in results
            if r.behavior.value not in PASSING or r.behavior_close.value not in PASSING]
