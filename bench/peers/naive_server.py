"""Peer: the naive flask-sock broadcast, ``ws.send`` on each client in turn (flask-sock's clock.py pattern).

Served by gunicorn gthread like Darkroom. The publisher thread serialises
each event once and calls simple-websocket's blocking ``send`` for every
subscriber from its own thread; this is the design Darkroom's hub replaces.

Run by ``bench/fanout.py``: ``python bench/peers/naive_server.py --port P``.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import benchlib  # noqa: E402
from flask import Flask  # noqa: E402
from flask_sock import ConnectionClosed, Sock  # noqa: E402


def create_app() -> Flask:
    app = Flask(__name__)
    sock = Sock(app)
    subscribers: set = set()
    lock = threading.Lock()

    def emit(i: int) -> None:
        text = benchlib.encode(benchlib.full_event(i))
        with lock:
            targets = list(subscribers)
        for ws in targets:
            try:
                ws.send(text)
            except ConnectionClosed:
                with lock:
                    subscribers.discard(ws)

    @sock.route("/ws")
    def ws_route(ws):
        ws.send(benchlib.encode({"type": "connection_established", "timestamp": benchlib.iso_now()}))
        try:
            while True:
                message = json.loads(ws.receive())
                if message.get("type") == "subscribe" and benchlib.CHANNEL in message.get("channels", ()):
                    ws.send(benchlib.encode({"type": "subscription_confirmed", "channels": [benchlib.CHANNEL]}))
                    with lock:
                        subscribers.add(ws)
        finally:
            with lock:
                subscribers.discard(ws)

    def count() -> int:
        with lock:
            return len(subscribers)

    benchlib.add_bench_routes(app, emit, count)
    return app


def main() -> None:
    benchlib.serve_peer(create_app, __doc__.splitlines()[0])


if __name__ == "__main__":
    main()
