"""One server per data directory: an exclusive lock, and who holds it.

Two servers on one SQLite database and one in-process bus would run every job
twice and fight over the event log's ``seq``. A studio install, whose processes
share a database server and the Redis event stream, is the exception
(``exclusive``). The lock is an OS lock on
``<data_dir>/darkroom.lock`` (``flock`` on POSIX, ``msvcrt.locking`` on Windows),
so it goes away with the process however it ends; the file also says which
process holds it and where it serves, for the message the second one prints.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import time
from pathlib import Path
from typing import Optional

import psutil

LOCK_NAME = "darkroom.lock"
ORPHAN_WAIT = 10.0  # seconds to wait for the children of a holder that is gone


def exclusive(config) -> bool:
    """Whether this server must be alone on its data directory: unless it shares both the
    event stream (``redis_url``) and a database server with the others."""
    return not (config.redis_url and not config.database_url.startswith("sqlite"))


class AlreadyRunning(Exception):
    def __init__(self, data_dir: Path, holder: dict):
        self.holder = holder
        pid, url = holder.get("pid", "?"), holder.get("url", "an unknown address")
        super().__init__(f"another Darkroom (pid {pid}, {url}) is already using {data_dir}; "
                         "stop it, or give this one its own --data-dir")


class PortInUse(Exception):
    def __init__(self, host: str, port: int):
        super().__init__(f"{host}:{port} is already in use (another Darkroom?); "
                         "choose another port with --port")


class InstanceLock:
    """Held for the life of the process that serves ``data_dir``."""

    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / LOCK_NAME
        self._fd: Optional[int] = None

    def acquire(self, url: str, orphan_wait: float = ORPHAN_WAIT) -> None:
        """Take the lock or raise AlreadyRunning naming its holder.

        When the recorded holder is gone but the lock is still held, a child it
        forked (a gunicorn worker whose master was killed) is winding down:
        wait for it a little instead of refusing.
        """
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + orphan_wait
        while True:
            try:
                _lock(fd)
                break
            except OSError:
                holder = _read(fd)
                if psutil.pid_exists(holder.get("pid", -1)) or time.monotonic() > deadline:
                    os.close(fd)
                    raise AlreadyRunning(self.data_dir, holder) from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, json.dumps({"pid": os.getpid(), "url": url}).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None


def check_port_free(host: str, port: int) -> None:
    """Raise PortInUse if nobody else may bind ``host:port`` (TIME_WAIT does not count)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        if os.name != "nt":
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1)):
                raise PortInUse(host, port) from None
            raise


def _read(fd: int) -> dict:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return json.loads(os.read(fd, 4096) or b"{}")
    except (OSError, ValueError):
        return {}


if os.name == "nt":
    import msvcrt

    def _lock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
