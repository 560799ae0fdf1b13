"""The durable event log's cost, measured on Darkroom's real server process.

- **Logged and published per second**: one server-side publisher thread (a
  job worker's path: ``websocket_events.publish``) sends ``n`` events as fast
  as it can; every event goes to the SQLite event log (group commit). Timed
  from the burst request until ``/api/events`` has the last ``seq`` (its read
  waits for the commit); the server's CPU over that span is reported too.
- **Resume**: a client sees ``seq``, goes away, ``n`` events are published, and
  a new client subscribes with ``since``; timed from that subscribe to the last
  missed event received (the client parses every message).

Used by ``bench/fanout.py`` (section "durable log"), whose harness (pinned
server processes, their CPU) it borrows; runnable alone:
``python bench/durable.py [--events 100000] [--resume 10000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from websockets.sync.client import connect

BENCH = Path(__file__).resolve().parent

LOG_TARGET = 20_000  # events/s logged and published (issue target)
RESUME_TARGET = 1.0  # seconds for 10,000 missed events


def _stats(server) -> dict:
    return server._http("/websocket/stats")["stats"]


def _wait_seq(server, seq: int, timeout: float = 120.0) -> float:
    deadline = time.monotonic() + timeout
    while True:
        if _stats(server)["seq"] >= seq:
            return time.monotonic()
        if time.monotonic() > deadline:
            raise TimeoutError(f"seq {seq} not reached within {timeout}s")
        time.sleep(0.005)


def measure_log_rate(harness, tmp: Path, events: int) -> dict:
    server = harness.Server(harness.SPECS["darkroom"], tmp)
    try:
        start_seq = _stats(server)["seq"]
        cpu0 = server.cpu()
        t0 = time.monotonic()
        server.burst(events, 0)
        last = start_seq + events
        _wait_seq(server, last)
        page = server._http(f"/api/events?since={last - 1}&limit=1")  # waits for the commit
        t1 = time.monotonic()
        if [e["seq"] for e in page["events"]] != [last]:
            raise RuntimeError(f"seq {last} is not in the event log")
        cpu = server.cpu() - cpu0
        return {"events": events, "seconds": t1 - t0, "rate": events / (t1 - t0),
                "server_cpu_us_per_event": cpu / events * 1e6}
    finally:
        server.stop()


def measure_resume(harness, tmp: Path, events: int) -> dict:
    server = harness.Server(harness.SPECS["darkroom"], tmp)
    url = f"ws://127.0.0.1:{server.port}/ws"
    try:
        with connect(url, open_timeout=10) as ws:
            hello = json.loads(ws.recv(timeout=10))
        server.burst(events, 0)
        _wait_seq(server, hello["seq"] + events)
        with connect(url, open_timeout=10, max_size=2**24) as ws:
            json.loads(ws.recv(timeout=10))
            t0 = time.monotonic()
            ws.send(json.dumps({"type": "subscribe", "channels": [harness.benchlib.CHANNEL],
                                "since": {"epoch": hello["epoch"], "seq": hello["seq"]}}))
            confirmed = json.loads(ws.recv(timeout=10))
            got, last = 0, None
            while got < events:
                last = json.loads(ws.recv(timeout=30))
                got += 1
            seconds = time.monotonic() - t0
        in_order = last["seq"] == hello["seq"] + events
        return {"events": events, "seconds": seconds, "recovered": confirmed.get("recovered"),
                "complete": in_order}
    finally:
        server.stop()


def report(harness, log_rate: dict, resume: dict) -> str:
    lines = [
        "durable log (SQLite, WAL, synchronous=NORMAL; server pinned to core "
        f"{harness.SERVER_CORE}, client on core {harness.CLIENT_CORE})",
        f"  logged + published: {log_rate['rate']:,.0f} events/s "
        f"({log_rate['events']:,} events in {log_rate['seconds']:.2f} s, "
        f"{log_rate['server_cpu_us_per_event']:.1f} us server CPU per event; "
        f"target >= {LOG_TARGET:,}/s: {'met' if log_rate['rate'] >= LOG_TARGET else 'MISSED'})",
        f"  resume {resume['events']:,} missed events: {resume['seconds']:.3f} s "
        f"(recovered={resume['recovered']}, complete={resume['complete']}; "
        f"target < {RESUME_TARGET:.0f} s: "
        f"{'met' if resume['seconds'] < RESUME_TARGET and resume['complete'] else 'MISSED'})",
    ]
    return "\n".join(lines)


def run(harness, tmp: Path, events: int, resume_events: int) -> str:
    """Both measurements with ``harness`` (the fanout module), as a printable report."""
    return report(harness, measure_log_rate(harness, tmp, events),
                  measure_resume(harness, tmp, resume_events))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=100_000)
    p.add_argument("--resume", type=int, default=10_000)
    args = p.parse_args(argv)
    sys.path.insert(0, str(BENCH))
    import fanout

    os.sched_setaffinity(0, {fanout.CLIENT_CORE})
    with tempfile.TemporaryDirectory(prefix="darkroom-bench-") as tmp:
        try:
            print(run(fanout, Path(tmp), args.events, args.resume))
        finally:
            fanout.children.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
