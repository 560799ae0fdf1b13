"""LAN mode as a user starts it (``python app.py``): refusals at start, the terminal's pairing
link and QR code, and ``darkroom rotate-token`` against a running server.

Every server binds 127.0.0.1; the refused starts never bind at all.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys

import pytest
import requests
from harness import ROOT, free_port
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect


def run_app(*args: str, timeout: float = 15) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "app.py"), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("args", [["--host", "0.0.0.0"], ["--host", "192.168.1.20"], ["--host", "::"]])
def test_a_non_loopback_address_without_lan_is_refused(tmp_path, args):
    data = tmp_path / "data"
    done = run_app(*args, "--port", str(free_port()), "--data-dir", str(data))
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--lan" in lines[0] and "refusing" in lines[0], done.stderr
    assert not data.exists()  # refused before anything was made


def test_debug_with_lan_is_refused(tmp_path):
    data = tmp_path / "data"
    done = run_app("--lan", "--debug", "--host", "127.0.0.1", "--port", str(free_port()),
                   "--data-dir", str(data))
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--debug is refused with --lan" in lines[0], done.stderr
    assert not data.exists()


def test_rotate_token_makes_an_owner_only_token_without_printing_it(tmp_path):
    data = tmp_path / "data"
    done = run_app("rotate-token", "--data-dir", str(data))
    assert done.returncode == 0, done.stderr
    token = (data / "token").read_text().strip()
    assert (data / "token").stat().st_mode & 0o777 == 0o600
    assert token not in done.stdout + done.stderr
    assert run_app("rotate-token", "--data-dir", str(data)).returncode == 0
    assert (data / "token").read_text().strip() != token


def pairing_link(output: str) -> str:
    links = re.findall(r"http://\S+/pair\?code=\S+", output)
    assert links, output
    return links[-1]


def test_lan_start_warns_and_prints_a_pairing_link_and_qr_code(start_app, tmp_path):
    app = start_app("--lan", "--host", "127.0.0.1")
    out = app.output()
    assert "LAN mode" in out and "the phone view" in out and "approves, rejects" in out
    assert "event stream" in out
    assert "\u2588" in out or "\u2580" in out  # segno's compact terminal QR code
    link = pairing_link(out)
    assert link.startswith(f"http://127.0.0.1:{app.port}/pair?code=")
    token = (tmp_path / "data" / "token").read_text().strip()
    assert token not in out
    phone = requests.Session()
    assert phone.get(link, timeout=10).status_code == 200
    assert phone.get(app.url + "/websocket/stats", timeout=10).status_code == 200
    assert requests.get(link, timeout=10).status_code == 403  # once


def closed_code(ws) -> int:
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


def test_rotate_token_ends_every_session_of_a_running_server(start_app, tmp_path):
    data = tmp_path / "data"
    app = start_app("--lan", "--host", "127.0.0.1")
    old = (data / "token").read_text().strip()
    app.token = old
    phone = requests.Session()
    assert phone.get(pairing_link(app.output()), timeout=10).status_code == 200
    cookie = "; ".join(f"{c.name}={c.value}" for c in phone.cookies)
    with contextlib.ExitStack() as stack:
        clients = [app.ws().conn,  # Bearer header
                   stack.enter_context(connect(f"{app.ws_url}?token={old}", open_timeout=5)),
                   stack.enter_context(connect(app.ws_url, additional_headers={"Cookie": cookie},
                                               open_timeout=5))]
        for ws in clients[1:]:
            assert "connection_established" in ws.recv(timeout=5)

        done = run_app("rotate-token", "--data-dir", str(data))
        assert done.returncode == 0, done.stderr

        assert [closed_code(ws) for ws in clients] == [1008, 1008, 1008]
    new = (data / "token").read_text().strip()
    assert new != old
    bearer = {"Authorization": f"Bearer {old}"}
    assert requests.get(app.url + "/websocket/stats", headers=bearer, timeout=10).status_code == 401
    assert phone.get(app.url + "/websocket/stats", timeout=10).status_code == 401
    assert requests.get(app.url + "/websocket/stats", headers={"Authorization": f"Bearer {new}"},
                        timeout=10).status_code == 200
    out = app.output()
    assert "token rotated" in out
    assert old not in out and new not in out
