"""An echo route on the production WebSocket stack, for the Autobahn cases.

The cases need a server that echoes every message; ``/ws`` speaks our JSON
protocol instead. This route is built from exactly what ``/ws`` uses (the
adapter's socket adoption and transport, the hub's outbox, connect and
disconnect), so the cases judge our framing, close handling and write path.
"""

from __future__ import annotations

import struct

from flask import Flask, request
from flask_sock import Sock

from darkroom.realtime.ratelimit import TokenBucket
from darkroom.realtime.transport import TransportClosed
from darkroom.realtime.transports import websocket
from darkroom.runtime import runtime

ECHO_PATH = "/echo"


def _binary_frame(payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        return bytes((0x82, n)) + payload
    if n < 1 << 16:
        return struct.pack("!BBH", 0x82, 126, n) + payload
    return struct.pack("!BBQ", 0x82, 127, n) + payload


def add_echo_route(app: Flask) -> None:
    hub = runtime(app).hub

    @app.before_request
    def _adopt():
        if request.path == ECHO_PATH:
            websocket.adopt_socket(request.environ, hub.new_outbox, TokenBucket(1e9, 10**9))

    def echo(ws) -> None:
        transport = websocket.WebSocketTransport(ws, request.environ, 1 << 24)
        client = hub.connect(transport, request.remote_addr or "")
        try:
            while transport.open and not client.closing:
                message = transport.receive(5.0)
                if message is None:
                    continue
                if isinstance(message, str):
                    frame = websocket.text_frame(message.encode("utf-8", "surrogatepass"))
                else:
                    frame = _binary_frame(bytes(message))
                client.outbox.write([(None, frame)])
        except TransportClosed:
            pass
        finally:
            hub.disconnect(client)

    Sock(app).route(ECHO_PATH)(echo)
