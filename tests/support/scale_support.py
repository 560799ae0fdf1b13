"""Studio-scale test support: web processes on one Redis stream, and a private Redis.

- ``WebProcess``: a real Darkroom web process (gunicorn, as ``python app.py``
  serves) started from this file, with one test-only route,
  ``POST /test/publish {count, channel?, type?, tag?, interval?}``: a server-side
  publisher (``hub.publish``, no receipt, as the pipeline publishes) that returns
  as soon as the events are handed over (or, with ``interval``, publishes them
  from a thread at that pace).
- ``RedisServer``: a private ``redis-server`` on a free port with AOF on, which a
  test may kill and restart on the same data.
- ``redis_problem()``: why the shared Redis at 127.0.0.1:6379 cannot be used.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Optional

import requests
from harness import ROOT, Server, free_port, kill_group

SHARED_REDIS = "redis://127.0.0.1:6379/0"


def redis_problem(url: str = SHARED_REDIS) -> Optional[str]:
    try:
        import redis
    except ImportError:
        return "the redis package is not installed"
    try:
        redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        return f"Redis is not reachable at {url}: {exc}"
    return None


def delete_prefix(url: str, prefix: str) -> None:
    """Remove every key of one test's install (``{prefix}:...``)."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5)
    keys = list(client.scan_iter(match="{" + prefix + "}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


class RedisServer:
    """A redis-server of the test's own: AOF with fsync on every write, in ``directory``."""

    def __init__(self, directory: Path, appendfsync: str = "always"):
        self.directory = directory
        self.port = free_port()
        self.appendfsync = appendfsync
        self.proc: Optional[subprocess.Popen] = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        log = open(self.directory / "redis.log", "ab")
        self.proc = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port),
             "--bind", "127.0.0.1", "--appendonly", "yes", "--appendfsync", self.appendfsync,
             "--save", "", "--dir", str(self.directory)],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 15
        while redis_problem(self.url) is not None:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start: "
                                   f"{(self.directory / 'redis.log').read_text()[-2000:]}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no goodbye, no final fsync (AOF ``always`` must not need one)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None


class WebProcess(Server):
    """One web process of a studio install (this file as ``__main__``, under gunicorn)."""

    def __init__(self, env: dict, data_dir: Path, log_path: Path, port: Optional[int] = None):
        self.port = port or free_port()
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--port", str(self.port),
             "--data-dir", str(data_dir)],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True)  # its own process group: see discard()

    def ready(self, timeout: float = 45) -> "WebProcess":
        """Wait until it answers HTTP (start several, then wait for each: they start in parallel)."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"web process exited {self.proc.returncode}:\n{self.output()}")
            try:
                if self.get("/websocket/stats", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"web process did not start:\n{self.output()}")
            time.sleep(0.1)
        return self

    def publish(self, count: int, tag: str = "", channel: str = "system",
                interval: float = 0.0) -> dict:
        answer = self.post("/test/publish", {"count": count, "tag": tag, "channel": channel,
                                             "interval": interval})
        assert answer.status_code == 200, answer.text
        return answer.json()

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0,
                 what: str | Callable[[], str] = "condition") -> None:
        """As ``Server.wait_for``; a timeout's message ends with the process's last log lines."""
        try:
            super().wait_for(predicate, timeout, what)
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}; its log ends:\n{self.output()[-3000:]}") from None

    def output(self) -> str:
        if not self._log.closed:  # after kill() too: a failing test's message shows the log
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def terminate(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def discard(self) -> None:
        """SIGKILL the whole process group (gunicorn's master and workers) at the end of a
        test: nothing of its stop is asserted there, and a clean one waits for the bus to
        drain (up to 2 s and Redis' timeout when the test left Redis down), 1-4 s a process.
        A clean stop is tested where it is the point (tests/web/test_serving.py,
        tests/realtime/test_external_events.py)."""
        kill_group(self.proc)
        self._log.close()

    def kill(self) -> None:
        """SIGTERM (a clean stop), SIGKILL if it takes more than 10 s."""
        self.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._log.close()


def _app_with_publisher(config):
    """The app as ``python app.py`` builds it (hub only), plus the test-only publisher route."""
    from flask import jsonify, request

    from app import create_app

    app = create_app(config, with_pipeline=False)
    hub = app.extensions["darkroom"].hub

    def publish_many(count: int, channel: str, name: str, tag: str, interval: float) -> None:
        for n in range(count):
            hub.publish(name, channel, {"tag": tag, "n": n})
            if interval:
                time.sleep(interval)

    def publish():
        body = request.get_json()
        args = (int(body["count"]), body.get("channel") or "system", body.get("type") or "note",
                str(body.get("tag", "")), float(body.get("interval") or 0))
        started = time.monotonic()
        if args[4]:
            threading.Thread(target=publish_many, args=args, daemon=True).start()
        else:
            publish_many(*args)
        return jsonify({"success": True, "queued": args[0],
                        "seconds": round(time.monotonic() - started, 4)})

    app.add_url_rule("/test/publish", "test_publish", publish, methods=["POST"])
    return app


def main(argv: list[str]) -> int:
    from darkroom import logs
    from darkroom.config import Config
    from darkroom.web import serving

    config = Config.load(argv)
    logs.configure(config.log_level)
    return serving.serve(lambda: _app_with_publisher(config), config)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    sys.exit(main(sys.argv[1:]))
