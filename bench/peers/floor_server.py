"""Reference floor: the least a Python server can do per delivery, one ``sendall`` per client.

Not a usable server. No framework, no locks, no per-client thread: a short
thread per accepted connection does the handshake (or answers the two bench
HTTP routes), then the socket joins a list; the publisher pre-encodes each
event's frame once and calls ``sendall`` on every subscriber in turn; one
watcher thread only notices clients that leave. Its CPU per delivery is what
the kernel's loopback TCP send costs on the machine plus a bare Python loop,
so the other servers' figures can be read against it.

Run by ``bench/fanout.py``: ``python bench/peers/floor_server.py --port P``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import selectors
import signal
import socket
import struct
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import benchlib  # noqa: E402

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_HEADER = 64 * 1024
IO_TIMEOUT = 10.0


def frame(payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65536:
        return struct.pack("!BBH", 0x81, 126, n) + payload
    return struct.pack("!BBQ", 0x81, 127, n) + payload


def read_client_frame(sock: socket.socket) -> bytes:
    """One small masked client frame (the subscribe request)."""
    head = _read_exact(sock, 2)
    n = head[1] & 0x7F
    if n == 126:
        n = struct.unpack("!H", _read_exact(sock, 2))[0]
    elif n == 127:
        n = struct.unpack("!Q", _read_exact(sock, 8))[0]
    if n > MAX_HEADER:
        raise ValueError("client frame too large")
    mask = _read_exact(sock, 4)
    data = _read_exact(sock, n)
    return bytes(b ^ mask[i & 3] for i, b in enumerate(data))


def _read_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("peer closed")
        buf += chunk
    return buf


class Floor:
    def __init__(self):
        self.subscribers: list[socket.socket] = []
        self.lock = threading.Lock()
        self.selector = selectors.DefaultSelector()

    # --- publishing ------------------------------------------------------------
    def emit(self, i: int) -> None:
        data = frame(benchlib.encode(benchlib.full_event(i)).encode())
        for sock in self.subscribers:
            try:
                sock.sendall(data)
            except OSError:
                self.drop(sock)

    # --- connections -----------------------------------------------------------
    def handle(self, sock: socket.socket) -> None:
        try:
            sock.settimeout(IO_TIMEOUT)
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = sock.recv(4096)
                if not chunk or len(head) > MAX_HEADER:
                    raise ConnectionError("bad request")
                head += chunk
            head, rest = head.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            method, path = lines[0].split(" ")[:2]
            headers = {k.strip().lower(): v.strip() for k, v in
                       (line.split(":", 1) for line in lines[1:] if ":" in line)}
            if path == "/bench/health":
                with self.lock:
                    self.respond(sock, {"clients": len(self.subscribers)})
            elif path == "/bench/burst" and method == "POST":
                length = int(headers.get("content-length", 0))
                body = rest + _read_exact(sock, length - len(rest)) if length > len(rest) else rest
                n, rate = benchlib.parse_burst_args(json.loads(body))
                benchlib.start_publisher(n, rate, self.emit)
                self.respond(sock, {"started": n})
            elif headers.get("upgrade", "").lower() == "websocket":
                self.upgrade(sock, headers["sec-websocket-key"])
                return
            else:
                sock.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            sock.close()
        except (OSError, ValueError, KeyError):
            sock.close()

    def respond(self, sock: socket.socket, obj: dict) -> None:
        body = json.dumps(obj).encode()
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

    def upgrade(self, sock: socket.socket, key: str) -> None:
        accept = base64.b64encode(hashlib.sha1(key.encode() + WS_GUID).digest())
        sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        sock.sendall(frame(benchlib.encode({"type": "connection_established"}).encode()))
        request = json.loads(read_client_frame(sock))
        if request.get("type") != "subscribe" or benchlib.CHANNEL not in request.get("channels", ()):
            raise ValueError("expected a subscribe request")
        sock.sendall(frame(benchlib.encode({"type": "subscription_confirmed",
                                            "channels": [benchlib.CHANNEL]}).encode()))
        sock.settimeout(None)
        with self.lock:
            self.subscribers = self.subscribers + [sock]
            self.selector.register(sock, selectors.EVENT_READ)

    def drop(self, sock: socket.socket) -> None:
        with self.lock:
            if sock not in self.subscribers:
                return
            self.subscribers = [s for s in self.subscribers if s is not sock]
            self.selector.unregister(sock)
        sock.close()

    def watch(self) -> None:
        """Notice clients that leave; whatever they send is discarded (epoll sees new sockets at once)."""
        while True:
            for key, _ in self.selector.select(timeout=1.0):
                sock = key.fileobj
                try:
                    data = sock.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    self.drop(sock)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    benchlib.raise_nofile()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    floor = Floor()
    threading.Thread(target=floor.watch, name="watcher", daemon=True).start()
    listener = socket.create_server(("127.0.0.1", args.port), backlog=2048)
    while True:
        sock, _ = listener.accept()
        threading.Thread(target=floor.handle, args=(sock,), daemon=True).start()


if __name__ == "__main__":
    main()
