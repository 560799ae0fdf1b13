"""Peer: a `websockets` (asyncio) server fanning out with ``websockets.broadcast()``.

The reference for a single-threaded event-loop design. The publisher is a
task in the event loop (the cheapest place for it: no cross-thread hand-off);
it yields to the loop after every event, as a queue consumer would.
``websockets``' HTTP parser accepts only GET, so the trigger is
``GET /bench/burst?n=N&rate=R`` here and ``POST`` on the Flask peers.

Run by ``bench/fanout.py``: ``python bench/peers/websockets_server.py --port P``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
import time
from http import HTTPStatus
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import benchlib  # noqa: E402
from websockets.asyncio.server import broadcast, serve  # noqa: E402
from websockets.exceptions import ConnectionClosed  # noqa: E402

log = logging.getLogger("darkroom.bench")
subscribers: set = set()
tasks: set = set()


async def handler(ws) -> None:
    await ws.send(benchlib.encode({"type": "connection_established", "timestamp": benchlib.iso_now()}))
    try:
        async for message in ws:
            data = json.loads(message)
            if data.get("type") == "subscribe" and benchlib.CHANNEL in data.get("channels", ()):
                await ws.send(benchlib.encode({"type": "subscription_confirmed", "channels": [benchlib.CHANNEL]}))
                subscribers.add(ws)
    except ConnectionClosed:
        pass
    finally:
        subscribers.discard(ws)


async def publish(n: int, rate: float) -> None:
    n = max(0, min(n, benchlib.MAX_BURST_EVENTS))
    start = time.monotonic()
    for i in range(n):
        delay = start + i / rate - time.monotonic() if rate > 0 else 0
        await asyncio.sleep(max(0.0, delay))
        broadcast(subscribers, benchlib.encode(benchlib.full_event(i)))
    log.info("published %d events in %.3f s", n, time.monotonic() - start)


def process_request(connection, request):
    url = urlsplit(request.path)
    if url.path == "/bench/health":
        return connection.respond(HTTPStatus.OK, json.dumps({"clients": len(subscribers)}))
    if url.path == "/bench/burst":
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        n, rate = benchlib.parse_burst_args(query)
        task = asyncio.get_running_loop().create_task(publish(n, rate))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return connection.respond(HTTPStatus.OK, json.dumps({"started": n}))
    return None


async def run(port: int) -> None:
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with serve(handler, "127.0.0.1", port, process_request=process_request,
                     compression=None, backlog=2048):
        await stop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    benchlib.raise_nofile()
    asyncio.run(run(args.port))


if __name__ == "__main__":
    main()
