"""Peer: Flask-SocketIO in threading mode, served by gunicorn gthread (its documented threaded deployment).

Every client joins the room of the bench channel when it connects the
namespace; the publisher thread emits each event to that room, and
Engine.IO's per-socket queue and writer thread deliver it.

Run by ``bench/fanout.py``: ``python bench/peers/socketio_server.py --port P``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import benchlib  # noqa: E402
from flask import Flask  # noqa: E402
from flask_socketio import SocketIO, join_room  # noqa: E402


def create_app() -> Flask:
    app = Flask(__name__)
    socketio = SocketIO(app, async_mode="threading")
    clients = {"count": 0}

    @socketio.on("connect")
    def on_connect():
        join_room(benchlib.CHANNEL)
        clients["count"] += 1

    @socketio.on("disconnect")
    def on_disconnect(*_):
        clients["count"] -= 1

    def emit(i: int) -> None:
        socketio.emit(benchlib.EVENT_TYPE, benchlib.full_event(i), to=benchlib.CHANNEL)

    benchlib.add_bench_routes(app, emit, lambda: clients["count"])
    return app


def main() -> None:
    benchlib.serve_peer(create_app, __doc__.splitlines()[0])


if __name__ == "__main__":
    main()
