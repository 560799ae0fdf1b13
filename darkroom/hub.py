"""The hub: who is connected, who listens to what, and one ordered fan-out.

``publish`` stamps an event with the next ``seq`` and hands it to one
dispatcher thread; it never touches a socket. The dispatcher serialises each
event once and writes the same frame bytes to every subscriber through its
``ClientSocket`` (see outbox.py), so a slow client only ever fills its own
bounded outbox. Events reach each client in ``seq`` order.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid
from collections import Counter
from typing import Any, Iterable, Optional

from wsproto.events import CloseConnection
from wsproto.utilities import LocalProtocolError

import websocket_events
from darkroom.frames import text_frame
from darkroom.outbox import ClientSocket, Flusher
from darkroom.protocol import utc_timestamp

log = logging.getLogger("darkroom.hub")

CLOSE_GOING_AWAY = 1001
CLOSE_SERVER_ERROR = 1011
CLOSE_TRY_AGAIN = 1013

_STOP = object()
_BATCH = 256  # events the dispatcher writes to a client in one go


def _encode(message: dict) -> bytes:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False,
                      default=str).encode()


class Client:
    """One connected WebSocket client, as the hub sees it."""

    def __init__(self, client_id: str, ws, sock: ClientSocket, remote: str):
        self.id = client_id
        self.ws = ws
        self.sock = sock
        self.remote = remote
        self.client_type = "unknown"
        self.client_name: Optional[str] = None
        self.connected_at = utc_timestamp()
        self.last_ping: Optional[str] = None
        self.channels: frozenset[str] = frozenset()
        self.end_reason: Optional[str] = None

    def send(self, message: dict) -> bool:
        """Send one reply (not an event) through the client's single write path."""
        return self.sock.write(text_frame(_encode(message)))

    def info(self) -> dict:
        return {
            "id": self.id,
            "client_type": self.client_type,
            "client_name": self.client_name,
            "connected_at": self.connected_at,
            "last_ping": self.last_ping,
            "subscriptions": sorted(self.channels),
        }


class Hub:
    """Registry, channel index and dispatcher of one server process."""

    def __init__(self, config):
        self.config = config
        self.epoch = uuid.uuid4().hex[:16]
        self.close_code = CLOSE_GOING_AWAY
        self.flusher = Flusher(config.stall_timeout, self._on_stalled)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._seq = 0
        self._seq_lock = threading.Lock()
        self._lock = threading.Lock()
        self._clients: dict[str, Client] = {}
        self._index: dict[str, tuple[Client, ...]] = {}
        self._dispatcher: Optional[threading.Thread] = None
        self._started_at = time.monotonic()
        self._running = False
        self.published: Counter[str] = Counter()
        self.delivered = 0
        self.disconnected: Counter[str] = Counter()
        self.high_water = 0

    # --- lifecycle -------------------------------------------------------------

    def start(self) -> None:
        self._running = True
        self._started_at = time.monotonic()
        self.flusher.start()
        self._dispatcher = threading.Thread(target=self._dispatch_loop,
                                            name="darkroom-dispatcher", daemon=True)
        self._dispatcher.start()
        websocket_events.attach(self)

    def stop(self) -> None:
        """Deliver what is queued, close every client with ``close_code``, stop threads."""
        websocket_events.detach(self)
        if not self._running:
            return
        self._running = False
        self._queue.put(_STOP)
        if self._dispatcher:
            self._dispatcher.join(timeout=2)
        for client in self.clients():
            self.close(client, self.close_code, "Server shutting down")
        deadline = time.monotonic() + self.config.close_linger + 1.5
        while self._clients and time.monotonic() < deadline:
            time.sleep(0.02)
        self.flusher.stop()
        log.info("hub stopped", extra={"published": sum(self.published.values()),
                                       "delivered": self.delivered})

    # --- publishing --------------------------------------------------------------

    @property
    def seq(self) -> int:
        return self._seq

    def publish(self, name: str, channel: str, payload: dict,
                source: Optional[str] = None) -> int:
        """Queue an event for every subscriber of ``channel``; return its ``seq``. Never blocks."""
        timestamp = utc_timestamp()
        with self._seq_lock:
            self._seq += 1
            seq = self._seq
            self._queue.put((seq, name, channel, timestamp, payload, source))
        return seq

    def _dispatch_loop(self) -> None:
        get, get_nowait = self._queue.get, self._queue.get_nowait
        while True:
            batch = [get()]
            while len(batch) < _BATCH:
                try:
                    batch.append(get_nowait())
                except queue.Empty:
                    break
            stop = _STOP in batch
            try:
                self._deliver([self._frame(item) for item in batch if item is not _STOP])
            except Exception:
                log.exception("dispatcher failed to deliver a batch")
            if stop:
                return

    def _frame(self, item) -> tuple[str, bytes]:
        seq, name, channel, timestamp, payload, source = item
        message = {"type": name, "timestamp": timestamp, "channel": channel, "seq": seq}
        message.update(payload)
        if source:
            message["source"] = source
        self.published[channel] += 1
        return channel, text_frame(_encode(message))

    def _deliver(self, frames: list[tuple[str, bytes]]) -> None:
        index = self._index
        delivered = 0
        if len(frames) == 1:
            channel, frame = frames[0]
            for client in index.get(channel, ()):
                if client.sock.write(frame):
                    delivered += 1
        else:
            per_client: dict[Client, list[bytes]] = {}
            for channel, frame in frames:
                for client in index.get(channel, ()):
                    per_client.setdefault(client, []).append(frame)
            for client, parts in per_client.items():
                if client.sock.write(b"".join(parts)):
                    delivered += len(parts)
        self.delivered += delivered

    # --- clients -----------------------------------------------------------------

    def connect(self, ws, sock: ClientSocket, remote: str) -> Client:
        client = Client(uuid.uuid4().hex, ws, sock, remote)
        sock.owner = client
        with self._lock:
            self._clients[client.id] = client
        log.info("client connected", extra={"client_id": client.id, "remote": remote})
        return client

    def clients(self) -> list[Client]:
        return list(self._clients.values())

    def client_count(self) -> int:
        return len(self._clients)

    def get(self, client_id: str) -> Optional[Client]:
        return self._clients.get(client_id)

    def set_channels(self, client: Client, channels: Iterable[str]) -> frozenset[str]:
        """Replace the client's subscriptions; return what it holds now."""
        with self._lock:
            if client.id not in self._clients:
                return client.channels
            client.channels = frozenset(channels)
            self._rebuild_index()
        return client.channels

    def _rebuild_index(self) -> None:
        index: dict[str, list[Client]] = {}
        for client in self._clients.values():
            for channel in client.channels:
                index.setdefault(channel, []).append(client)
        self._index = {channel: tuple(members) for channel, members in index.items()}

    def close(self, client: Client, code: int, reason: str) -> None:
        """Start closing ``client`` with ``code``; its handler thread finishes the teardown."""
        ws = client.ws
        try:
            data = ws.ws.send(CloseConnection(code, reason))
        except LocalProtocolError:
            data = b""  # a close handshake is already under way
        if data:
            client.sock.close_with(data)
        else:
            client.sock.stop_accepting()
        ws.connected = False
        ws.event.set()

    def kick(self, client: Client, reason: str, code: int = CLOSE_TRY_AGAIN) -> None:
        if client.end_reason is None:
            client.end_reason = reason
            log.warning("disconnecting client", extra={"client_id": client.id, "reason": reason,
                                                        "pending": client.sock.pending()})
            self.close(client, code, f"Client too {reason}" if reason == "slow" else reason)

    def _on_stalled(self, sock: ClientSocket) -> None:
        owner = sock.owner
        if owner is not None and owner.end_reason is None:
            self.kick(owner, "slow")
        else:
            sock.shutdown()  # even the close frame could not be delivered

    def on_overflow(self, sock: ClientSocket) -> None:
        owner = sock.owner
        if owner is not None:
            self.kick(owner, "slow")

    def disconnect(self, client: Client) -> None:
        """Forget ``client`` and release its socket and threads (runs in its handler thread)."""
        with self._lock:
            self._clients.pop(client.id, None)
            if client.channels:
                self._rebuild_index()
        reason = client.end_reason or self._end_reason(client.ws)
        self.disconnected[reason] += 1
        self.high_water = max(self.high_water, client.sock.high_water)
        sock = client.sock
        if client.ws.connected:
            self.close(client, CLOSE_SERVER_ERROR, "Unexpected server error")
        if sock.wait_drained(self.config.close_linger):
            sock.reader_done.wait(1.0)
        sock.shutdown()
        thread = getattr(client.ws, "thread", None)
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2)
        log.info("client disconnected", extra={"client_id": client.id, "reason": reason})

    def _end_reason(self, ws) -> str:
        limit = self.config.max_message_size
        if limit and ws.incoming_message_len > limit:
            return "too_big"
        if not ws.pong_received and ws.close_reason == 1005:
            return "dead"
        if ws.close_reason == 1005:
            return "gone"
        return "closed"

    # --- introspection -----------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        clients = self.clients()
        by_type = Counter(c.client_type for c in clients)
        channels = sorted(ch for ch, members in self._index.items() if members)
        high_water = max([self.high_water] + [c.sock.high_water for c in clients])
        return {
            "total_clients": len(clients),
            "clients_by_type": dict(by_type),
            "active_channels": channels,
            "channel_count": len(channels),
            "events_published": dict(self.published),
            "events_published_total": sum(self.published.values()),
            "messages_delivered": self.delivered,
            "disconnected": {key: self.disconnected.get(key, 0)
                             for key in ("slow", "dead", "too_big", "closed", "gone")},
            "outbox_high_water_bytes": high_water,
            "uptime_seconds": round(time.monotonic() - self._started_at, 3),
            "seq": self._seq,
            "epoch": self.epoch,
        }
