"""One server per data directory, and a port already taken: one clear line, exit 1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

from harness import ROOT, free_port


def run_app(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "app.py"), *args], cwd=ROOT,
                          env={**os.environ, "DARKROOM_WORKERS": "1", **(env or {})},
                          capture_output=True, text=True, timeout=30)


def test_a_second_server_on_the_same_data_directory_exits_naming_the_first(start_app, tmp_path):
    first = start_app(data_dir=tmp_path / "data")
    second = run_app("--port", str(free_port()), "--data-dir", str(tmp_path / "data"))
    assert second.returncode == 1
    message = second.stderr.strip()
    assert f"pid {first.proc.pid}" in message and f"127.0.0.1:{first.port}" in message
    assert "Traceback" not in message and len(message.splitlines()) == 1
    assert first.get("/websocket/stats").status_code == 200  # the first one is untouched


def test_the_lock_goes_with_the_process(start_app, tmp_path):
    first = start_app(data_dir=tmp_path / "data")
    first.terminate()
    again = start_app(data_dir=tmp_path / "data")
    assert again.get("/websocket/stats").status_code == 200


def test_a_port_in_use_is_one_line_not_a_traceback(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_app("--port", str(port), "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 1
    assert result.stderr.strip() == (f"darkroom: 127.0.0.1:{port} is already in use "
                                     "(another Darkroom?); choose another port with --port")


def test_after_the_master_is_killed_a_restart_waits_for_its_orphaned_worker(start_app, tmp_path):
    first = start_app(data_dir=tmp_path / "data")
    first.proc.send_signal(signal.SIGKILL)  # the worker lives on until it notices
    first.proc.wait(timeout=10)
    again = start_app(data_dir=tmp_path / "data")
    assert again.get("/websocket/stats").status_code == 200
