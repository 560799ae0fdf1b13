"""deploy/nginx/darkroom.conf, live: a real web process behind a real nginx running that
very file, reached only through nginx, with every transport a client uses.

The file is templated as little as a test needs: Darkroom's port 5100 becomes a free
port, the studio's LAN ``listen`` line goes (this machine has no such address) and the
upstream keeps web process 1 (``127.0.1.1``). nginx runs as the current user in a
temporary prefix. Without nginx (or without 127.0.1.1 on loopback) the tests skip; in
CI they fail (``.ci/run`` installs nginx).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests
from harness import ROOT, AppProcess, app_env, free_port, need

CONF = ROOT / "deploy" / "nginx" / "darkroom.conf"
PORT = ":5100"
LAN_LISTEN = "# the studio address"
WEB_1 = "127.0.1.1"

WRAPPER = """\
{user}worker_processes 1;
events {{ worker_connections 512; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    include {prefix}/darkroom.conf;
}}
"""


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None)


def render(conf: str, port: int) -> str:
    """The deploy file on ``port``, with only web process 1 upstream and loopback listening."""
    lines = conf.splitlines()
    lan = [line for line in lines if LAN_LISTEN in line]
    upstreams = [line for line in lines if line.strip().startswith("server 127.0.1.")]
    assert len(lan) == 1 and upstreams and WEB_1 + PORT in upstreams[0], \
        "the deploy file changed shape: update this test's templating"
    kept = [line for line in lines if line not in lan and line not in upstreams[1:]]
    return "\n".join(kept).replace(PORT, f":{port}") + "\n"


def shared_port() -> int:
    """A port free on both 127.0.0.1 (nginx) and 127.0.1.1 (the web process)."""
    for _ in range(20):
        port = free_port()
        with socket.socket() as probe:
            try:
                probe.bind((WEB_1, port))
            except OSError as exc:
                if exc.errno == 99:  # EADDRNOTAVAIL: not Linux's 127.0.0.0/8 loopback
                    need(False, f"{WEB_1} is not a loopback address on this machine")
                continue
        return port
    raise RuntimeError("no port free on both loopback addresses")


class Nginx:
    def __init__(self, binary: str, prefix: Path, port: int):
        (prefix / "tmp").mkdir(parents=True)
        (prefix / "darkroom.conf").write_text(render(CONF.read_text(), port))
        # As root nginx would run its workers as "nobody", who cannot use this prefix.
        user = "user root;\n" if os.geteuid() == 0 else ""
        (prefix / "nginx.conf").write_text(WRAPPER.format(prefix=prefix, user=user))
        self.error_log = prefix / "error.log"
        self.argv = [binary, "-p", str(prefix), "-e", str(self.error_log), "-c",
                     str(prefix / "nginx.conf"),
                     "-g", f"daemon off; pid {prefix}/nginx.pid; error_log {self.error_log};"]
        check = subprocess.run([*self.argv, "-t"], capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, f"nginx -t refused the deploy file:\n{check.stderr}"
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited {self.proc.returncode}:\n{self.log()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"nginx did not listen:\n{self.log()}") from None
                time.sleep(0.05)

    def log(self) -> str:
        return self.error_log.read_text(errors="replace") if self.error_log.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    """The web process, as its clients reach it: every helper of the server talks to nginx.

    One for the module (starting both takes seconds on a loaded machine; each test
    uses fresh clients). nginx starts first; the web process's own readiness check
    then already goes through it (502 until the process is up behind it).
    """
    binary = nginx_binary()
    need(binary is not None, "nginx is not installed (Debian: apt-get install nginx)")
    tmp = tmp_path_factory.mktemp("nginx")
    port = shared_port()
    nginx = Nginx(binary, tmp / "nginx", port)
    app = None
    try:
        app = AppProcess(["--lan", "--host", WEB_1, "--port", str(port), "--data-dir", str(tmp / "data")],
                         app_env(tmp), port, tmp / "app.log")
        app.token = (tmp / "data" / "token").read_text().strip()
        yield app
    finally:
        if app is not None:
            app.kill()
        nginx.stop()


def broadcast(server, n: int) -> int:
    r = server.post("/websocket/broadcast", {"type": "tick", "channel": "jobs", "data": {"n": n}})
    assert r.status_code == 200, r.text
    return r.json()["seq"]


def test_http_api_through_nginx_keeps_the_token_and_host_checks(proxied):
    r = proxied.get("/api/sessions")
    assert r.status_code == 200, r.text
    assert "sessions" in r.json()
    # Every request reaches Darkroom from loopback, and still needs the token.
    bare = requests.get(proxied.url + "/api/sessions", timeout=10)
    assert bare.status_code == 401 and bare.json()["code"] == "unauthorized"
    # The Host is the client's: a DNS-rebinding name is refused behind the proxy too.
    rebound = proxied.get("/api/sessions", headers={"Host": f"attacker.example:{proxied.port}"})
    assert rebound.status_code == 403 and rebound.json()["code"] == "forbidden_host"


def test_websocket_subscribe_and_broadcast_through_nginx(proxied):
    # As a browser opens it: the page's own Origin, which must match the forwarded Host.
    ws = proxied.ws(origin=f"http://127.0.0.1:{proxied.port}")
    try:
        ws.subscribe("jobs")
        seq = broadcast(proxied, 1)
        [event] = ws.events(1)
        assert event["type"] == "tick" and event["n"] == 1 and event["seq"] == seq
    finally:
        ws.close()


class SseReader:
    """``GET /events`` read as it arrives, one SSE record at a time (lines up to a blank one)."""

    def __init__(self, server, channels: str):
        self.response = requests.get(server.url + "/events", params={"channels": channels},
                                     headers={"Authorization": f"Bearer {server.token}",
                                              "Accept": "text/event-stream"},
                                     stream=True, timeout=(5, 10))
        self.lines = self.response.iter_lines(chunk_size=1)

    def record(self) -> dict:
        fields: dict[str, str] = {}
        for line in self.lines:
            if not line:
                if "data" in fields:
                    return {**fields, "data": json.loads(fields["data"])}
                fields = {}
                continue
            name, _, value = line.decode().partition(":")
            if name:
                fields[name] = value.lstrip(" ")
        raise ConnectionError("the stream ended")

    def until(self, event: str) -> dict:
        while (record := self.record()).get("event") != event:
            pass
        return record


def test_sse_stream_delivers_each_event_through_nginx_unbuffered(proxied):
    sse = SseReader(proxied, "jobs")
    try:
        assert sse.response.status_code == 200
        assert sse.response.headers["Content-Type"].startswith("text/event-stream")
        sse.until("subscription_confirmed")
        for n in (1, 2):  # each one small: a buffering proxy would sit on it (10 s read timeout)
            seq = broadcast(proxied, n)
            record = sse.until("tick")
            assert record["data"]["n"] == n and record["data"]["seq"] == seq
    finally:
        sse.response.close()


def poll(server, client_id: str, wait: float) -> dict:
    r = server.get("/ws/poll", params={"client_id": client_id, "wait": wait}, timeout=wait + 10)
    assert r.status_code == 200, r.text
    return r.json()


def test_long_poll_is_held_and_answered_through_nginx(proxied):
    shake = proxied.post("/ws/handshake", {"client_type": "lightroom", "client_name": "test"})
    assert shake.status_code == 200, shake.text
    client_id = shake.json()["client_id"]
    sub = proxied.post("/ws/send", {"client_id": client_id,
                                    "message": {"type": "subscribe", "channels": ["jobs"]}})
    assert sub.json()["reply"]["type"] == "subscription_confirmed", sub.text
    out: list[dict] = []
    thread = threading.Thread(target=lambda: out.append(poll(proxied, client_id, 25)), daemon=True)
    thread.start()
    seq = broadcast(proxied, 7)
    thread.join(timeout=15)  # well before the poll's own 25 s
    assert not thread.is_alive(), "the held poll was not answered when the event arrived"
    events = [m for m in out[0]["messages"] if m.get("channel") == "jobs"]
    assert [(m["n"], m["seq"]) for m in events] == [(7, seq)]
