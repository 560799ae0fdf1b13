"""Minimal asyncio raw-frame WebSocket load client for ``bench/fanout.py``.

One process holds N connections. It speaks just enough RFC 6455 (no
extensions, so no deflate; masked client frames; answers pings) and counts
frames without decoding them; it JSON-decodes the first event of every
connection (publish time of the burst) and one event in ``--sample-every``
for latency (receive time minus the event's monotonic ``t``). Keeping the
client this thin is what lets one core receive 200k+ messages/s, so the
server, not the client, sets the numbers.

Protocols:
- ``json`` (Darkroom and the plain peers): read ``connection_established``,
  send ``{"type":"subscribe","channels":["jobs"]}``, wait for
  ``subscription_confirmed``; every later text frame is an event.
- ``socketio``: Engine.IO 4 over WebSocket: read the ``0{...}`` open
  packet, send ``40``, wait for ``40{...}``; events are ``42[...]``; a ``2``
  ping is answered with ``3``.

Talks to the harness with JSON lines: prints ``{"ready": ...}`` once every
connection is ready, then ``{"result": ...}`` once every connection has its
``--expect`` events or ``--timeout`` passed. With ``--expect 0`` it holds the
connections idle until a line arrives on stdin or ``--hold`` seconds pass.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import resource
import struct
import sys
import time

OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 1, 2, 8, 9, 10
CONNECT_CONCURRENCY = 64


def client_frame(opcode: int, payload: bytes) -> bytes:
    """A masked, final client frame."""
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    masked = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
    return header + mask + masked


class Conn(asyncio.Protocol):
    """One WebSocket connection: handshake, protocol setup, then counting."""

    def __init__(self, client: "LoadClient"):
        self.client = client
        self.proto = client.proto
        self.transport = None
        self.buf = b""
        self.upgraded = False
        self.ready = asyncio.get_running_loop().create_future()
        self.stage = 0          # protocol setup messages seen
        self.counting = False
        self.count = 0
        self.bytes = 0
        self.first_t = None
        self.last_recv = 0.0
        self.close_code = None
        self.lost = False

    # --- transport callbacks ---------------------------------------------------------
    def connection_made(self, transport) -> None:
        self.transport = transport
        c = self.client
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write((
            f"GET {c.path} HTTP/1.1\r\nHost: 127.0.0.1:{c.port}\r\n"
            f"Origin: http://127.0.0.1:{c.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())

    def connection_lost(self, exc) -> None:
        self.lost = True
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"lost before ready (close {self.close_code})"))
        self.client.conn_finished(self)

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.buf = buf
                return
            status = buf[:buf.find(b"\r\n")]
            if b" 101 " not in status:
                self.ready.set_exception(ConnectionError(status.decode(errors="replace")))
                self.transport.close()
                return
            self.upgraded = True
            buf = buf[end + 4:]
        pos, n = 0, len(buf)
        counted = 0
        while n - pos >= 2:
            b1 = buf[pos + 1] & 0x7F
            if b1 < 126:
                start = pos + 2
            elif b1 == 126:
                if n - pos < 4:
                    break
                b1 = (buf[pos + 2] << 8) | buf[pos + 3]
                start = pos + 4
            else:
                if n - pos < 10:
                    break
                b1 = int.from_bytes(buf[pos + 2:pos + 10], "big")
                start = pos + 10
            end = start + b1
            if end > n:
                break
            op = buf[pos] & 0x0F
            if op == OP_TEXT and self.counting:
                if self.proto == "json" or buf[start:start + 2] == b"42":
                    counted += 1
                    self.bytes += b1
                    if self.first_t is None or (self.count + counted) % self.client.sample_every == 0:
                        self.sample(buf[start:end], counted)
                elif buf[start:end] == b"2":
                    self.transport.write(client_frame(OP_TEXT, b"3"))
            elif op == OP_TEXT or op == OP_BINARY:
                self.setup(buf[start:end])
            elif op == OP_PING:
                self.transport.write(client_frame(OP_PONG, buf[start:end]))
            elif op == OP_CLOSE:
                self.close_code = int.from_bytes(buf[start:start + 2], "big") if b1 >= 2 else 1005
                self.transport.write(client_frame(OP_CLOSE, buf[start:start + 2]))
                self.transport.close()
            pos = end
        self.buf = buf[pos:] if pos < n else b""
        if counted:
            self.count += counted
            self.last_recv = time.monotonic()
            self.client.progress(self, counted)

    # --- protocol ----------------------------------------------------------------
    def setup(self, payload: bytes) -> None:
        """Walk the protocol's handshake messages until the connection receives events."""
        text = payload.decode()
        if self.proto == "json":
            kind = json.loads(text).get("type")
            if kind == "connection_established":
                self.send_text(json.dumps({"type": "subscribe", "channels": ["jobs"]}))
            elif kind == "subscription_confirmed":
                self.become_ready()
        elif text.startswith("0{"):
            self.send_text("40")
        elif text.startswith("40"):
            self.become_ready()
        elif text == "2":
            self.send_text("3")

    def become_ready(self) -> None:
        self.counting = True
        if not self.ready.done():
            self.ready.set_result(None)

    def send_text(self, text: str) -> None:
        self.transport.write(client_frame(OP_TEXT, text.encode()))

    def sample(self, payload: bytes, counted: int) -> None:
        now = time.monotonic()
        if self.proto == "json":
            event = json.loads(payload)
        else:
            event = json.loads(payload[2:])[1]
        if self.first_t is None:
            self.first_t = event["t"]
        self.client.latencies.append(now - event["t"])


class LoadClient:
    def __init__(self, args):
        self.port = args.port
        self.path = args.path
        self.proto = args.proto
        self.expect = args.expect
        self.sample_every = max(1, args.sample_every)
        self.conns: list[Conn] = []
        self.latencies: list[float] = []
        self.pending = 0
        self.done = None

    def progress(self, conn: Conn, counted: int) -> None:
        if self.expect and conn.count >= self.expect and conn.count - counted < self.expect:
            self.pending -= 1
            if self.pending == 0 and not self.done.done():
                self.done.set_result(None)

    def conn_finished(self, conn: Conn) -> None:
        if self.expect and conn.count < self.expect and conn.counting:
            self.pending -= 1
            if self.pending == 0 and self.done and not self.done.done():
                self.done.set_result(None)

    async def open(self, n: int, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

        async def one():
            async with gate:
                _, conn = await loop.create_connection(lambda: Conn(self), "127.0.0.1", self.port)
                self.conns.append(conn)
                await conn.ready

        await asyncio.wait_for(asyncio.gather(*(one() for _ in range(n))), timeout)

    def result(self) -> dict:
        counts = [c.count for c in self.conns]
        lat = sorted(self.latencies)
        firsts = [c.first_t for c in self.conns if c.first_t is not None]
        lasts = [c.last_recv for c in self.conns if c.count]

        def pct(p):
            return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else None

        return {
            "delivered": sum(counts),
            "min_per_conn": min(counts, default=0),
            "max_per_conn": max(counts, default=0),
            "bytes": sum(c.bytes for c in self.conns),
            "first_publish": min(firsts) if firsts else None,
            "last_receive": max(lasts) if lasts else None,
            "samples": len(lat),
            "p50_ms": pct(0.50),
            "p99_ms": pct(0.99),
            "close_codes": sorted({c.close_code for c in self.conns if c.close_code is not None}),
            "lost": sum(c.lost for c in self.conns),
        }


def emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


async def amain(args) -> None:
    loop = asyncio.get_running_loop()
    client = LoadClient(args)
    t0 = time.monotonic()
    await client.open(args.clients, args.connect_timeout)
    client.pending = args.clients
    client.done = loop.create_future()
    cpu0 = cpu_seconds()
    emit({"ready": args.clients, "connect_s": time.monotonic() - t0})
    if args.expect:
        try:
            await asyncio.wait_for(asyncio.shield(client.done), args.timeout)
            timed_out = False
        except asyncio.TimeoutError:
            timed_out = True
        emit({"result": dict(client.result(), timed_out=timed_out, client_cpu_s=cpu_seconds() - cpu0)})
    else:
        try:
            await asyncio.wait_for(loop.run_in_executor(None, sys.stdin.readline), args.hold)
        except asyncio.TimeoutError:
            pass
        emit({"result": client.result()})
    for conn in client.conns:
        conn.transport.abort()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--path", default="/ws")
    p.add_argument("--proto", choices=("json", "socketio"), default="json")
    p.add_argument("--clients", type=int, default=10)
    p.add_argument("--expect", type=int, default=0, help="events per connection (0: hold idle)")
    p.add_argument("--sample-every", type=int, default=10)
    p.add_argument("--timeout", type=float, default=60.0, help="max wait for the events")
    p.add_argument("--hold", type=float, default=60.0, help="max idle hold")
    p.add_argument("--connect-timeout", type=float, default=60.0)
    args = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        asyncio.run(amain(args))
    except (ConnectionError, OSError, asyncio.TimeoutError) as exc:
        emit({"error": f"{type(exc).__name__}: {exc}"})
        sys.exit(1)


if __name__ == "__main__":
    main()
