"""Every process's clients, through Redis: who is connected where, and reaching them.

Each process writes its client list to ``<prefix>:presence:<process>`` with an
expiry of ``presence_ttl`` seconds and refreshes it a few times per ttl (and
soon after a client comes, goes or subscribes), so a process that dies drops
out of the listing within the ttl. ``/websocket/clients`` and
``/websocket/stats`` read every process's list; a disconnect for a client of
another process goes to that process's control channel (Redis pub/sub), where
its listener closes the client.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from typing import Optional

import orjson
import redis

from darkroom.realtime.redis_log import Keys, connect, process_id

log = logging.getLogger("darkroom.presence")

_SETTLE = 0.2  # seconds to gather changes before writing the list again
_LISTEN_TIMEOUT = 0.5


class Presence:
    """A service (start/stop) of one process: its presence writer and control listener."""

    def __init__(self, url: str, keys: Keys, hub, ttl: float, process: Optional[str] = None):
        self.url = url
        self.keys = keys
        self.hub = hub
        self.ttl = max(float(ttl), 1.0)
        self.process = process or process_id()
        self.redis = connect(url)
        self._changed = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self.hub.membership_observers.append(self._changed.set)
        self._threads = [threading.Thread(target=self._write_loop, name="darkroom-presence",
                                          daemon=True),
                         threading.Thread(target=self._listen_loop, name="darkroom-control",
                                          daemon=True)]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._changed.set()
        for thread in self._threads:
            thread.join(timeout=2)
        try:
            self.redis.delete(self.keys.presence(self.process))
            self.redis.srem(self.keys.processes, self.process)
        except redis.RedisError:
            pass  # it expires by itself
        self.redis.close()

    # --- this process's list -------------------------------------------------------

    def local_clients(self) -> list[dict]:
        return [{**c.info(), "process": self.process} for c in self.hub.clients()]

    def _write(self) -> None:
        entry = orjson.dumps({"process": self.process, "at": time.time(),
                              "clients": self.local_clients()})
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(self.keys.presence(self.process), entry, ex=max(1, round(self.ttl)))
        pipe.sadd(self.keys.processes, self.process)
        pipe.execute()

    def _write_loop(self) -> None:
        every = self.ttl / 3
        while not self._stop.is_set():
            try:
                self._write()
            except redis.RedisError as exc:
                log.debug("presence not written", extra={"error": str(exc)[:200]})
            self._changed.wait(every)
            if not self._stop.is_set():
                self._stop.wait(_SETTLE)
            self._changed.clear()

    # --- everyone's lists ----------------------------------------------------------

    def processes(self) -> dict[str, list[dict]]:
        """Each live process's clients (this one's as they are now, the others' as listed)."""
        out = {self.process: self.local_clients()}
        try:
            names = sorted(n.decode() for n in self.redis.smembers(self.keys.processes))
            others = [n for n in names if n != self.process]
            entries = self.redis.mget([self.keys.presence(n) for n in others]) if others else []
        except redis.RedisError as exc:
            log.warning("presence unreadable", extra={"error": str(exc)[:200]})
            return out
        gone = []
        for name, entry in zip(others, entries, strict=True):
            if entry is None:
                gone.append(name)
            else:
                out[name] = orjson.loads(entry)["clients"]
        if gone:
            try:
                self.redis.srem(self.keys.processes, *gone)
            except redis.RedisError:
                pass
        return out

    def clients(self) -> list[dict]:
        return [client for listed in self.processes().values() for client in listed]

    def totals(self) -> dict:
        """What ``/websocket/stats`` reports for the whole install, next to this process's."""
        listed = self.processes()
        every = [client for clients in listed.values() for client in clients]
        return {
            "total_clients": len(every),
            "clients_by_type": dict(Counter(c["client_type"] for c in every)),
            "process": self.process,
            "processes": [{"process": name, "total_clients": len(clients),
                           "clients_by_type": dict(Counter(c["client_type"] for c in clients))}
                          for name, clients in sorted(listed.items())],
        }

    # --- reaching a client of another process ------------------------------------

    def disconnect_elsewhere(self, client_id: str) -> Optional[str]:
        """Ask the process listing ``client_id`` to close it; its name, or None if nobody has it."""
        for name, clients in self.processes().items():
            if name != self.process and any(c["id"] == client_id for c in clients):
                message = orjson.dumps({"disconnect": client_id})
                if self.redis.publish(self.keys.control(name), message):
                    return name
        return None

    def _listen_loop(self) -> None:
        while not self._stop.is_set():
            client = connect(self.url, timeout=_LISTEN_TIMEOUT + 2)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(self.keys.control(self.process))
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=_LISTEN_TIMEOUT)
                    if message is not None:
                        self._on_control(message["data"])
            except redis.RedisError:
                self._stop.wait(1.0)
            finally:
                pubsub.close()
                client.close()

    def _on_control(self, data: bytes) -> None:
        try:
            client_id = orjson.loads(data)["disconnect"]
        except (ValueError, KeyError, TypeError):
            log.warning("unreadable control message ignored")
            return
        client = self.hub.get(client_id) if isinstance(client_id, str) else None
        if client is not None:
            self.hub.close(client, 1000, "Disconnected by the server")
