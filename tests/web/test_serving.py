"""``python app.py`` as a user runs it: real server process, real signals."""

from __future__ import annotations

import signal
import sys

import pytest
from websockets.exceptions import ConnectionClosed

from darkroom.config import Config

SERVERS = ["gunicorn", "werkzeug"] if sys.platform != "win32" else ["werkzeug"]


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_shutdown_closes_every_client_with_1001_within_5s(start_app, server, sig):
    app = start_app("--server", server)
    clients = [app.ws() for _ in range(5)]
    clients[0].subscribe("jobs")
    took = app.terminate(sig)
    assert took < 5, app.output()
    assert app.proc.returncode == 0, app.output()
    for c in clients:
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                c.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001


def test_gunicorn_serves_events_and_answers_http_while_sockets_are_open(start_app):
    app = start_app()
    clients = [app.ws() for _ in range(40)]
    for c in clients:
        c.subscribe("system")
    for i in range(5):
        r = app.post("/websocket/broadcast", {"type": "custom_event", "channel": "system",
                                             "data": {"n": i}})
        assert r.status_code == 200
    for c in clients:
        assert [m["n"] for m in c.events(5, type_="custom_event")] == list(range(5))
    assert app.stats()["total_clients"] == 40
    assert "gunicorn" in app.output()


def test_config_layers_defaults_env_and_flags(tmp_path):
    default = Config.load([], env={})
    assert (default.host, default.port) == ("127.0.0.1", 5100)
    env = {"DARKROOM_PORT": "6000", "DARKROOM_HOST": "::1", "DARKROOM_DATA_DIR": str(tmp_path),
           "DARKROOM_ALLOWED_ORIGINS": "http://a.example, http://b.example"}
    from_env = Config.load([], env=env)
    assert (from_env.port, from_env.host, from_env.data_dir) == (6000, "::1", tmp_path)
    assert from_env.allowed_origins == ["http://a.example", "http://b.example"]
    flags = Config.load(["--port", "7000", "--data-dir", str(tmp_path / "x")], env=env)
    assert flags.port == 7000 and flags.data_dir == tmp_path / "x"


@pytest.mark.parametrize("server", SERVERS)
def test_sighup_restarts_in_place_with_1012_and_keeps_the_log(start_app, server):
    if not hasattr(signal, "SIGHUP"):
        pytest.skip("no SIGHUP on this platform")
    app = start_app("--server", server)
    c = app.ws()
    epoch = c.welcome["epoch"]
    app.post("/websocket/broadcast", {"type": "custom_event", "channel": "system", "data": {}})
    app.proc.send_signal(signal.SIGHUP)
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            c.recv(timeout=5)
    assert closed.value.rcvd.code == 1012
    app.wait_for(lambda: _reconnects(app), 15, "restarted server")
    again = app.ws()
    assert again.welcome["epoch"] == epoch and again.welcome["seq"] >= 1
    assert app.proc.poll() is None


def _reconnects(app) -> bool:
    try:
        app.ws().close()
        return True
    except Exception:
        return False
