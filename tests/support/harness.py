"""The test harness: real servers on free loopback ports, real WebSocket clients.

- ``live_server``: a fresh app per test, served in this process by the same
  Werkzeug threaded server Darkroom falls back to on Windows. Tests can call
  ``websocket_events.broadcast_*`` directly and watch the events arrive.
- ``start_app``: ``python app.py`` in a subprocess (gunicorn by default), for
  what only a real process shows: signals, restarts, crashes.
- ``Server.ws()``: a real WebSocket client (``websockets``' sync client) that
  reads JSON messages with a bounded wait.
- ``postgres_problem`` and ``PostgresDatabases``: a throwaway PostgreSQL
  database per test on the local server (127.0.0.1:5432, user postgres).
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Callable, Iterator, Optional

import pytest
import requests
from websockets.sync.client import connect

from darkroom.config import Config

ROOT = Path(__file__).resolve().parents[2]

IN_CI = bool(os.environ.get("CI"))
START_TIMEOUT = 40  # seconds ``python app.py`` has to answer (the tests' own timeout is 60)


@cache
def _port_range() -> range:
    """Where test servers listen: below the kernel's ephemeral range, and a slice of it
    for each pytest-xdist worker.

    ``bind(0)`` hands out ports of the ephemeral range, which every outgoing connection
    (thousands in a run) also draws from: one may take the port between the test asking
    for it and its server binding it. Below that range only servers bind, and with a
    slice each, two workers never get the same port.
    """
    try:
        ephemeral = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral = 32768
    low, high = 20000, max(ephemeral, 21000)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:]
    count = max(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1), 1)
    index = int(worker) % count if worker.isdigit() else 0
    size = (high - low) // count
    return range(low + index * size, low + (index + 1) * size)


def free_port() -> int:
    """A loopback port nobody listens on, for a server this test starts."""
    for _ in range(200):
        port = random.choice(_port_range())
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def need(condition: bool, reason: str) -> None:
    """Skip when a system dependency is missing, but fail in CI where it must exist."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI must provide it: see .ci/run)")
    pytest.skip(reason)


# The PostgreSQL the tests use: the local server CI runs too, with trust auth.
POSTGRES_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5"
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


@cache
def postgres_problem() -> Optional[str]:
    """Why the PostgreSQL tests cannot run here, or None when they can (asked once per run)."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install -r requirements-dev.txt)"
    try:
        with psycopg.connect(POSTGRES_ADMIN):
            pass
    except psycopg.Error as exc:
        return f"PostgreSQL is not reachable at 127.0.0.1:5432 as user postgres: {exc}".strip()
    return None


def _create_postgres_database() -> str:
    import psycopg
    from psycopg import sql

    name = f"darkroom_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name


def _drop_postgres_database(name: str) -> None:
    import psycopg
    from psycopg import sql

    # FORCE: an app a test did not dispose of (a crashed test) must not keep it alive.
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


class PostgresDatabases:
    """Fresh, empty PostgreSQL databases, one per test, each dropped after its test.

    ``CREATE DATABASE`` takes about half a second, so one background thread
    makes the next test's database while the current test runs, and drops used
    ones: a test waits only if its database is not ready yet.
    """

    def __init__(self):
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="test-postgres")
        self._next: Optional[Future] = None

    @contextmanager
    def database(self) -> Iterator[str]:
        """A database nobody has used, as a SQLAlchemy URL, for the ``with`` block."""
        ready = self._next or self._thread.submit(_create_postgres_database)
        self._next = self._thread.submit(_create_postgres_database)
        name = ready.result(timeout=60)
        try:
            yield POSTGRES_URL.format(name=name)
        finally:
            self._thread.submit(_drop_postgres_database, name)

    def close(self) -> None:
        """Drop the database made in advance and wait for every drop."""
        if self._next is not None:
            try:
                self._thread.submit(_drop_postgres_database, self._next.result(timeout=60))
            except Exception:
                pass  # it was never created
        self._thread.shutdown(wait=True)


class Client:
    """A WebSocket client that reads JSON messages with bounded waits."""

    def __init__(self, conn):
        self.conn = conn

    def send(self, message) -> None:
        self.conn.send(message if isinstance(message, str) else json.dumps(message))

    def recv(self, timeout: float = 5.0) -> dict:
        return json.loads(self.conn.recv(timeout=timeout))

    def recv_type(self, type_: str, timeout: float = 5.0) -> dict:
        """The next message of ``type_``, skipping others."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {type_} within {timeout}s")
            msg = self.recv(timeout=left)
            if msg.get("type") == type_:
                return msg

    def request(self, message: dict, reply_type: str, timeout: float = 5.0) -> dict:
        self.send(message)
        return self.recv_type(reply_type, timeout)

    def subscribe(self, *channels: str) -> dict:
        return self.request({"type": "subscribe", "channels": list(channels)},
                            "subscription_confirmed")

    def events(self, count: int, timeout: float = 10.0, type_: Optional[str] = None) -> list[dict]:
        """The next ``count`` events (messages that carry a ``seq``), only of ``type_`` if
        given: a whole app's monitor also speaks on "system" whenever its interval comes."""
        out: list[dict] = []
        deadline = time.monotonic() + timeout
        while len(out) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"got {len(out)} of {count} events")
            msg = self.recv(timeout=left)
            if ("seq" in msg and msg.get("type") != "connection_established"
                    and type_ in (None, msg.get("type"))):
                out.append(msg)
        return out

    def close(self) -> None:
        self.conn.close()


class Server:
    """Base of both server fixtures: URLs, HTTP helpers and WebSocket clients."""

    host = "127.0.0.1"
    port: int
    token: Optional[str] = None  # LAN mode: sent as a Bearer token by the HTTP helpers and ws()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws"

    def _auth(self, kw: dict) -> dict:
        """The LAN token (``server.token``), when a test set one, as a Bearer header."""
        if self.token:
            kw["headers"] = {"Authorization": f"Bearer {self.token}", **(kw.get("headers") or {})}
        return kw

    def get(self, path: str, **kw) -> requests.Response:
        kw.setdefault("timeout", 10)
        return requests.get(self.url + path, **self._auth(kw))

    @staticmethod
    def _json(json_body, kw: dict) -> dict:
        """A write is JSON even without a body (the server answers 415 otherwise)."""
        if json_body is None and "data" not in kw and "json" not in kw:
            kw["data"] = b""
            kw["headers"] = {"Content-Type": "application/json", **(kw.get("headers") or {})}
        elif json_body is not None:
            kw["json"] = json_body
        return kw

    def post(self, path: str, json_body=None, **kw) -> requests.Response:
        kw.setdefault("timeout", 10)
        return requests.post(self.url + path, **self._auth(self._json(json_body, kw)))

    def patch(self, path: str, json_body=None, **kw) -> requests.Response:
        kw.setdefault("timeout", 10)
        return requests.patch(self.url + path, **self._auth(self._json(json_body, kw)))

    def ws(self, welcome: bool = True, **kw) -> Client:
        """Open a client; by default consume ``connection_established``."""
        kw.setdefault("open_timeout", 5)
        kw.setdefault("max_size", 2**24)
        kw.setdefault("legacy", True)  # a plain connection object, closed by the test
        if self.token:
            kw.setdefault("additional_headers", {"Authorization": f"Bearer {self.token}"})
        client = Client(connect(self.ws_url, **kw))
        if welcome:
            msg = client.recv()
            assert msg["type"] == "connection_established", msg
            client.welcome = msg
        return client

    def stats(self) -> dict:
        return self.get("/websocket/stats").json()["stats"]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0,
                 what: str | Callable[[], str] = "condition") -> None:
        """Poll ``predicate``; ``what`` (or what it returns, when the wait fails) names it."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                label = what() if callable(what) else what
                raise TimeoutError(f"{label} not reached within {timeout}s")
            time.sleep(0.02)


class LiveServer(Server):
    """A fresh app served in this process on a free loopback port."""

    def __init__(self, config: Config, with_pipeline: bool = True):
        self.config = config
        self.port = config.port
        # Imported here so that tests of pure modules never depend on the whole app importing.
        from app import create_app
        from darkroom.web.serving import WerkzeugServer

        self.app = create_app(config, with_pipeline=with_pipeline)
        self.runtime = self.app.extensions["darkroom"]
        self.hub = self.runtime.hub
        self.server = WerkzeugServer(self.app, config)
        self.server.start_background()

    def stop(self, close_code: int = 1001) -> None:
        self.server.shutdown(close_code)


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the process group ``proc`` leads (started in a session of its own)."""
    try:  # the group outlives a master that already exited while a worker is left
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


def app_env(tmp_path: Path, database_url: Optional[str] = None) -> dict:
    """The environment ``python app.py`` gets in a test: the test's own folders and
    database, two workers, no hot folder, and never the developer's database."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DARKROOM_DATABASE_URL")}
    if database_url:
        env["DARKROOM_DATABASE_URL"] = database_url
    return {**env, "DARKROOM_WORKERS": "2", "DARKROOM_HOT_FOLDER": "0",
            "DARKROOM_EXPORT_DIRS": str(tmp_path / "exports"), "DARKROOM_IMPORT_ROOTS": str(tmp_path)}


class AppProcess(Server):
    """``python app.py`` in a subprocess, as a user starts it."""

    def __init__(self, args: list[str], env: dict, port: int, log_path: Path):
        self.port = port
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py"), *args],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,  # a process group of its own: see kill()
        )
        # Generous: on a loaded machine (CI, parallel tests) importing the app alone can take 10 s.
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"app.py exited {self.proc.returncode}:\n{self.output()}")
            try:
                # 401: up, in LAN mode (the test reads the token from the data directory);
                # 403: up behind a proxy whose Host it refuses (the test says so, at once).
                if self.get("/websocket/stats", timeout=1).status_code in (200, 401, 403):
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                output = self.output()
                self.kill()
                raise RuntimeError(f"app.py did not start within {START_TIMEOUT} s:\n{output}")
            time.sleep(0.1)

    def output(self) -> str:
        if not self.log.closed:  # after kill() too: a failing test's message shows the log
            self.log.flush()
        return self.log_path.read_text(errors="replace")

    def terminate(self, sig: int = signal.SIGTERM, timeout: float = 10) -> float:
        """Send ``sig`` and wait for exit; return how long it took."""
        t0 = time.monotonic()
        self.proc.send_signal(sig)
        self.proc.wait(timeout=timeout)
        return time.monotonic() - t0

    def kill(self) -> None:
        """SIGKILL the server's whole process group: the master and its workers. SIGKILL to
        the master alone left gunicorn's worker running on (developing the rest of an import,
        1-2 s of CPU) until it noticed, beside the next tests. A test that means to orphan the
        worker signals ``proc`` itself (tests/web/test_instance.py)."""
        kill_group(self.proc)
        self.log.close()
