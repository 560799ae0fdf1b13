"""Fan-out benchmark: Darkroom's hub against Flask-SocketIO, `websockets`, naive flask-sock and a floor.

Run by hand, never in the test suite::

    python bench/fanout.py               # full run, about 5 minutes on a quiet machine
    python bench/fanout.py --quick       # shorter runs, about 2 minutes
    python bench/fanout.py --only darkroom,websockets
    python bench/fanout.py --repeat 2    # each cell shows the best of 2 repetitions
    python bench/fanout.py --processes 1,2   # studio scale: web processes on one Redis stream

``--processes`` measures, in one run, 1,000 clients on the single-process
embedded default (in-process bus, SQLite log) and on 1, 2 ... web processes
sharing a Redis stream (a private ``redis-server`` the bench starts, without
persistence): deliveries/s of a burst published on the first process, and
the end-to-end p50/p99 of a steady stream (see ``cluster_report``).

The floor (``peers/floor_server.py``) is a bare ``sendall`` loop with no
framework: what one loopback send costs on the machine, to read the others'
CPU figures against.

Method (that of ``shared/research/flask_sock.md`` section 2): each server runs
in its own process pinned to core 0; the load client (``bench/loadclient.py``,
a raw-frame asyncio client) runs in another process pinned to core 1. Every
measurement starts a fresh server. A server-side thread (a loop task for
`websockets`) publishes ~250 B JSON events on one channel, triggered over
HTTP. Server CPU is the CPU time of the server's whole process tree (gunicorn
master and worker, all threads) over the measurement, divided by the messages
the client received. Latency is receive time minus the event's monotonic
publish time, measured on one event in ten, and includes the client's own
queueing. Memory is the RSS of the server's process tree with N idle,
subscribed clients minus that of the same server after a 10-client warm-up.

The machine is shared, so before each measurement the harness waits (bounded
by ``--quiet-wait``) for it to go idle, and marks with ``~`` the figures taken
while other processes used more than a quarter of a core. Results also go to
``bench/results/fanout-<time>.json`` (ignored by git).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import psutil

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import benchlib  # noqa: E402
import durable  # noqa: E402

log = logging.getLogger("darkroom.bench")
PY = sys.executable
SERVER_CORE, CLIENT_CORE = 0, 1
START_TIMEOUT = 20.0
SOCKETIO_PATH = "/socket.io/?EIO=4&transport=websocket"


@dataclass(frozen=True)
class Spec:
    name: str
    label: str
    script: str
    ws_path: str
    proto: str
    get_trigger: bool = False


SPECS = {s.name: s for s in (
    Spec("darkroom", "Darkroom hub (gthread)", "darkroom_server.py", "/ws", "json"),
    Spec("socketio", "Flask-SocketIO threading (gthread)", "peers/socketio_server.py",
         SOCKETIO_PATH, "socketio"),
    Spec("websockets", "websockets asyncio broadcast()", "peers/websockets_server.py", "/", "json",
         get_trigger=True),
    Spec("naive", "flask-sock naive ws.send loop (gthread)", "peers/naive_server.py", "/ws", "json"),
    Spec("floor", "floor: bare sendall loop, no framework", "peers/floor_server.py", "/ws", "json"),
)}

TARGETS = {
    "burst100_vs_socketio": 4.0,
    "burst100_vs_websockets": 1.5,
    "steady_us": 10.0,
    "steady_vs_floor": 1.3,
    "idle_mb": 70.0,
}


@dataclass(frozen=True)
class Plan:
    burst_small: tuple[int, int]      # (clients, events)
    burst_large: tuple[int, int]
    steady: tuple[int, int, float]    # (clients, events/s, seconds)
    idle_clients: int
    idle_settle: float


FULL = Plan((10, 10_000), (100, 2_000), (100, 100, 10.0), 1000, 3.0)
QUICK = Plan((10, 3_000), (100, 600), (100, 100, 3.0), 1000, 1.5)


def pin(core: int | None):
    def preexec():
        if core is not None:
            os.sched_setaffinity(0, {core})
    return preexec


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Children:
    """Every process the harness started, so they are all stopped on exit or Ctrl-C."""

    def __init__(self):
        self.procs: list[subprocess.Popen] = []

    def spawn(self, args: list[str], core: int, **kw) -> subprocess.Popen:
        proc = subprocess.Popen(args, preexec_fn=pin(core), start_new_session=True, **kw)
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen, grace: float = 5.0) -> None:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(grace)
            except ProcessLookupError:
                pass
        for stream in (proc.stdin, proc.stdout):
            if stream:
                stream.close()
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self) -> None:
        for proc in list(self.procs):
            self.stop(proc, grace=3.0)


children = Children()


class Server:
    """One peer server process, with its process-tree CPU and RSS."""

    def __init__(self, spec: Spec, tmp: Path):
        self.spec = spec
        self.port = free_port()
        args = [PY, str(BENCH / spec.script), "--port", str(self.port)]
        if spec.name == "darkroom":
            args += ["--data-dir", tempfile.mkdtemp(prefix="darkroom-", dir=tmp)]
        self.proc = children.spawn(args, SERVER_CORE, stdout=subprocess.DEVNULL)
        self.root = psutil.Process(self.proc.pid)
        self._wait_healthy()

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.spec.name} exited with {self.proc.returncode}")
            try:
                self.clients()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.spec.name} did not answer within {START_TIMEOUT}s")

    def _http(self, path: str, body: dict | None = None) -> dict:
        url = f"http://127.0.0.1:{self.port}{path}"
        headers = {"Origin": f"http://127.0.0.1:{self.port}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        with urllib.request.urlopen(urllib.request.Request(url, data, headers), timeout=10) as resp:
            return json.loads(resp.read())

    def clients(self) -> int:
        return self._http("/bench/health")["clients"]

    def burst(self, n: int, rate: float) -> None:
        if self.spec.get_trigger:
            self._http(f"/bench/burst?n={n}&rate={rate}")
        else:
            self._http("/bench/burst", {"n": n, "rate": rate})

    def _tree(self) -> list[psutil.Process]:
        return [self.root] + self.root.children(recursive=True)

    def cpu(self) -> float:
        return sum(self.cpu_split())

    def cpu_split(self) -> tuple[float, float]:
        """(user, system) seconds of the whole process tree."""
        user = system = 0.0
        for p in self._tree():
            with _gone_ok():
                t = p.cpu_times()
                user += t.user
                system += t.system
        return user, system

    def rss(self) -> int:
        total = 0
        for p in self._tree():
            with _gone_ok():
                total += p.memory_info().rss
        return total

    def threads(self) -> int:
        total = 0
        for p in self._tree():
            with _gone_ok():
                total += p.num_threads()
        return total

    def stop(self) -> None:
        children.stop(self.proc)


class _gone_ok:
    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        return exc_type is not None and issubclass(exc_type, psutil.NoSuchProcess)


class Load:
    """One load-client process; talks JSON lines."""

    def __init__(self, server: Server, clients: int, expect: int, sample_every: int,
                 timeout: float, hold: float = 60.0, core: int | None = CLIENT_CORE):
        spec = server.spec
        args = [PY, str(BENCH / "loadclient.py"), "--port", str(server.port), "--path", spec.ws_path,
                "--proto", spec.proto, "--clients", str(clients), "--expect", str(expect),
                "--sample-every", str(sample_every), "--timeout", str(timeout), "--hold", str(hold)]
        self.proc = children.spawn(args, core, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.fd = self.proc.stdout.fileno()
        self.buf = b""

    def read(self, key: str, timeout: float) -> dict:
        """The next JSON line holding ``key``; raw reads, so no line hides in a buffer."""
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                msg = json.loads(line)
                if "error" in msg:
                    raise RuntimeError(f"load client: {msg['error']}")
                if key in msg:
                    return msg
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"load client: no {key!r} within {timeout:.0f}s")
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                chunk = os.read(self.fd, 65536)
                if not chunk:
                    raise RuntimeError(f"load client exited ({self.proc.wait(5)}) before {key!r}")
                self.buf += chunk

    def release(self) -> None:
        self.proc.stdin.write(b"quit\n")
        self.proc.stdin.flush()

    def stop(self) -> None:
        children.stop(self.proc)


def machine_busy() -> float:
    """CPU-seconds all cores spent busy since boot (every process, the kernel, steal)."""
    t = psutil.cpu_times()
    return t.user + t.nice + t.system + t.irq + t.softirq + getattr(t, "steal", 0.0)


def wait_quiet(max_wait: float, threshold: float = 0.15) -> float:
    """Wait (bounded) until the machine is nearly idle; return the busy cores seen last.

    The bench shares the machine: other processes on either core distort both
    wall-clock figures and CPU per delivery.
    """
    deadline = time.monotonic() + max_wait
    while True:
        b0, t0 = machine_busy(), time.monotonic()
        time.sleep(0.5)
        busy = (machine_busy() - b0) / (time.monotonic() - t0)
        if busy < threshold or time.monotonic() >= deadline:
            return busy


def other_load(busy0: float, t0: float, server_cpu: float, client_cpu: float) -> float:
    """Cores used by everything but the server and the load client during a measurement."""
    wall = time.monotonic() - t0
    return max(0.0, machine_busy() - busy0 - server_cpu - client_cpu) / wall if wall > 0 else 0.0


def measure_burst(spec: Spec, tmp: Path, clients: int, events: int) -> dict:
    server = Server(spec, tmp)
    try:
        load = Load(server, clients, events, sample_every=1000, timeout=120.0)
        try:
            load.read("ready", 60)
            busy0, t0, cpu0 = machine_busy(), time.monotonic(), server.cpu()
            server.burst(events, 0)
            res = load.read("result", 130)["result"]
            cpu = server.cpu() - cpu0
            res["other_load_cores"] = other_load(busy0, t0, cpu, res["client_cpu_s"])
        finally:
            load.stop()
    finally:
        server.stop()
    span = res["last_receive"] - res["first_publish"] if res["delivered"] else 0
    return {
        "deliveries_per_s": res["delivered"] / span if span > 0 else 0.0,
        "last_delivery_ms": span * 1000 if span > 0 else None,
        "server_us_per_delivery": cpu / res["delivered"] * 1e6 if res["delivered"] else None,
        "expected": clients * events,
        **res,
    }


def measure_steady(spec: Spec, tmp: Path, clients: int, rate: int, seconds: float) -> dict:
    events = int(rate * seconds)
    server = Server(spec, tmp)
    try:
        load = Load(server, clients, events, sample_every=10, timeout=seconds + 60)
        try:
            load.read("ready", 60)
            busy0, t0 = machine_busy(), time.monotonic()
            user0, sys0 = server.cpu_split()
            server.burst(events, rate)
            res = load.read("result", seconds + 70)["result"]
            user1, sys1 = server.cpu_split()
            res["other_load_cores"] = other_load(busy0, t0, user1 - user0 + sys1 - sys0,
                                                 res["client_cpu_s"])
        finally:
            load.stop()
    finally:
        server.stop()
    cpu = user1 - user0 + sys1 - sys0
    delivered = res["delivered"] or None
    return {
        "server_us_per_delivery": cpu / delivered * 1e6 if delivered else None,
        "server_user_us_per_delivery": (user1 - user0) / delivered * 1e6 if delivered else None,
        "server_sys_us_per_delivery": (sys1 - sys0) / delivered * 1e6 if delivered else None,
        "server_cpu_s": cpu,
        "expected": clients * events,
        **res,
    }


def measure_idle(spec: Spec, tmp: Path, clients: int, settle: float) -> dict:
    server = Server(spec, tmp)
    try:
        warm = Load(server, 10, 0, 1, timeout=10, hold=0.2)
        try:
            warm.read("result", 30)
        finally:
            warm.stop()
        _wait_clients(server, 0)
        time.sleep(settle)
        base_rss, base_threads = server.rss(), server.threads()
        load = Load(server, clients, 0, 1, timeout=10, hold=120)
        try:
            ready = load.read("ready", 90)
            _wait_clients(server, clients)
            time.sleep(settle)
            rss, threads, seen = server.rss(), server.threads(), server.clients()
            load.release()
            res = load.read("result", 30)["result"]
        finally:
            load.stop()
    finally:
        server.stop()
    grown = rss - base_rss
    return {
        "clients": seen,
        "connect_s": ready["connect_s"],
        "base_rss_mb": base_rss / 2**20,
        "rss_above_empty_mb": grown / 2**20,
        "kb_per_conn": grown / 1024 / clients,
        "threads_base": base_threads,
        "threads": threads,
        "close_codes": res["close_codes"],
        "lost": res["lost"],
    }


def _wait_clients(server: Server, n: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while server.clients() != n and time.monotonic() < deadline:
        time.sleep(0.1)


# --- studio scale: several web processes on one Redis stream --------------------------

CLUSTER_CLIENTS = 1000
CLUSTER_TARGETS = {"scaling_2x": 1.6, "redis_hop_p50_ms": 1.0}
STEADY_RATE = 10.0  # events/s of the latency run: 10,000 deliveries/s, well below saturation


class StudioServer(Server):
    """A bench Darkroom web process (``--serve``), on a Redis stream when ``redis_url`` is set.

    Each has a data directory (and SQLite database) of its own: the event log
    is the Redis stream, and the bench runs no jobs.
    """

    def __init__(self, tmp: Path, core: int | None, redis_url: str, prefix: str):
        self.spec = SPECS["darkroom"]
        self.port = free_port()
        args = [PY, str(Path(__file__).resolve()), "--serve", str(self.port), "--data-dir",
                tempfile.mkdtemp(prefix="darkroom-", dir=tmp), "--redis-url", redis_url,
                "--redis-prefix", prefix]
        self.proc = children.spawn(args, core, stdout=subprocess.DEVNULL)
        self.root = psutil.Process(self.proc.pid)
        self._wait_healthy()


def serve_studio(args) -> int:
    """The child side of ``StudioServer``: bench/darkroom_server.py's app with Redis options."""
    import darkroom_server

    from darkroom.config import Config
    from darkroom.web import serving

    benchlib.raise_nofile()
    config = Config(port=args.serve, data_dir=Path(args.data_dir), max_clients=1100,
                    hot_folder=False, monitor_interval=3600.0, workers=1, log_level="warning",
                    redis_url=args.redis_url, redis_prefix=args.redis_prefix)
    return serving.serve(lambda: darkroom_server.bench_app(config), config)


class BenchRedis:
    """A private redis-server for the run: no persistence, unpinned."""

    def __init__(self, tmp: Path):
        self.port = free_port()
        self.proc = children.spawn(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                    "--save", "", "--appendonly", "no", "--dir", str(tmp)],
                                   None, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.1)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def measure_cluster(tmp: Path, redis_url: str, processes: int, events: int, rate: float,
                    sample_every: int) -> dict:
    """1,000 clients split over ``processes`` web processes; events published on the first.

    One process: server on core 0, load client on core 1 (as above). Several:
    server i on core i mod 2, each with its own load client, unpinned (two cores
    hold everything: the servers, the load clients and Redis).
    """
    prefix = f"bench-{os.getpid()}-{time.monotonic_ns()}"
    single = processes == 1
    servers = [StudioServer(tmp, SERVER_CORE if single else i % 2, redis_url, prefix)
               for i in range(processes)]
    loads: list[Load] = []
    try:
        per = CLUSTER_CLIENTS // processes
        timeout = (events / rate if rate else 0) + 120
        loads = [Load(s, per, events, sample_every, timeout, core=CLIENT_CORE if single else None)
                 for s in servers]
        for load in loads:
            load.read("ready", 120)
        busy0, t0 = machine_busy(), time.monotonic()
        cpu0 = sum(s.cpu() for s in servers)
        servers[0].burst(events, rate)
        parts = [load.read("result", timeout + 10)["result"] for load in loads]
        cpu = sum(s.cpu() for s in servers) - cpu0
        client_cpu = sum(p["client_cpu_s"] for p in parts)
    finally:
        for load in loads:
            load.stop()
        for server in servers:
            server.stop()
    delivered = sum(p["delivered"] for p in parts)
    firsts = [p["first_publish"] for p in parts if p["first_publish"] is not None]
    lasts = [p["last_receive"] for p in parts if p["last_receive"] is not None]
    span = max(lasts) - min(firsts) if firsts and lasts else 0.0
    samples = sum(p["samples"] for p in parts) or 1
    return {
        "processes": processes,
        "bus": "redis" if redis_url else "local",
        "delivered": delivered,
        "expected": CLUSTER_CLIENTS // processes * processes * events,
        "deliveries_per_s": delivered / span if span > 0 else 0.0,
        "last_delivery_ms": span * 1000,
        # Each load client reports its own percentiles: p50 is their sample-weighted mean,
        # p99 the worst of them.
        "p50_ms": sum((p["p50_ms"] or 0) * p["samples"] for p in parts) / samples,
        "p99_ms": max((p["p99_ms"] or 0) for p in parts),
        "server_us_per_delivery": cpu / delivered * 1e6 if delivered else None,
        "timed_out": any(p["timed_out"] for p in parts),
        "close_codes": sorted({c for p in parts for c in p["close_codes"]}),
        "lost": sum(p["lost"] for p in parts),
        "other_load_cores": other_load(busy0, t0, cpu, client_cpu),
    }


def run_cluster(counts: list[int], tmp: Path, quick: bool, quiet_wait: float) -> dict:
    events = 60 if quick else 200
    steady_rate, steady_events = STEADY_RATE, 40 if quick else 100
    bench_redis = BenchRedis(tmp)
    rows = [("embedded", "", 1)] + [(f"redis x{n}", bench_redis.url, n) for n in counts]
    out: dict = {}
    for label, url, n in rows:
        for step, (count, rate, sample) in (("burst", (events, 0.0, 50)),
                                            ("steady", (steady_events, steady_rate, 2))):
            busy = wait_quiet(quiet_wait)
            t0 = time.monotonic()
            try:
                result = measure_cluster(tmp, url, n, count, rate, sample)
            except (RuntimeError, TimeoutError, OSError) as exc:
                result = {"error": str(exc)}
            result["busy_before_cores"] = busy
            out.setdefault(label, {})[step] = result
            print(f"  {label:<10} {step:<6} {time.monotonic() - t0:5.1f} s  "
                  + ", ".join(f"{k}={v:,.2f}" if isinstance(v, float) else f"{k}={v}"
                              for k, v in result.items()
                              if k in ("deliveries_per_s", "p50_ms", "p99_ms", "delivered",
                                       "other_load_cores", "error")), flush=True)
    return out


def cluster_report(results: dict, quick: bool) -> str:
    events = 60 if quick else 200
    head = ["setup", f"burst {CLUSTER_CLIENTS} clients x {events}: deliveries/s",
            "burst: last delivery ms", "burst: server us/delivery",
            f"steady {STEADY_RATE:.0f} ev/s: p50 ms", "p99 ms"]
    rows = [head]
    for label, r in results.items():
        b, s = r.get("burst") or {}, r.get("steady") or {}
        rows.append([label, fmt(b.get("deliveries_per_s")) + flag(b),
                     fmt(b.get("last_delivery_ms")), fmt(b.get("server_us_per_delivery"), ".1f"),
                     fmt(s.get("p50_ms"), ".2f") + flag(s), fmt(s.get("p99_ms"), ".2f")])
    out = [table(rows)]
    one = (results.get("redis x1") or {}).get("burst", {}).get("deliveries_per_s")
    two = (results.get("redis x2") or {}).get("burst", {}).get("deliveries_per_s")
    local = (results.get("embedded") or {}).get("steady", {}).get("p50_ms")
    hop = (results.get("redis x1") or {}).get("steady", {}).get("p50_ms")
    checks = [(f"2 processes >= {CLUSTER_TARGETS['scaling_2x']}x the deliveries/s of 1",
               two / one if one and two else None, CLUSTER_TARGETS["scaling_2x"], "x", True),
              (f"the Redis hop adds < {CLUSTER_TARGETS['redis_hop_p50_ms']} ms at p50 "
               "(redis x1 minus embedded)", hop - local if hop is not None and local is not None
               else None, CLUSTER_TARGETS["redis_hop_p50_ms"], " ms", False)]
    out += ["", "Targets (studio scale):"]
    for text, value, target, unit, higher in checks:
        if value is None:
            out.append(f"  {text}: not measured")
        else:
            ok = value >= target if higher else value < target
            out.append(f"  {text}: {value:.2f}{unit} {'PASS' if ok else 'MISS'}")
    return "\n".join(out)


# --- reporting -------------------------------------------------------------------------

def versions() -> str:
    names = ["flask", "flask-sock", "simple-websocket", "wsproto", "gunicorn", "flask-socketio",
             "python-socketio", "python-engineio", "websockets", "psutil"]
    out = []
    for name in names:
        try:
            out.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            out.append(f"{name} (missing)")
    return ", ".join(out)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def darkroom_revision() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=BENCH, capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=BENCH,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown revision"
    if not head:
        return "unknown revision (not a git checkout)"
    return f"commit {head}" + (" with uncommitted changes" if dirty else "")


def conditions(plan: Plan, quick: bool) -> list[str]:
    (c1, e1), (c2, e2), (sc, sr, ss) = plan.burst_small, plan.burst_large, plan.steady
    return [
        f"Darkroom: {darkroom_revision()}",
        f"Machine: {cpu_model()}, {psutil.cpu_count()} cores online, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GB RAM, {platform.system()} {platform.release()}",
        f"Python {platform.python_version()}; {versions()}",
        f"Pinning: every server process (all threads) on core {SERVER_CORE}; load client on core {CLIENT_CORE} "
        f"(sched_setaffinity); 127.0.0.1 only; a fresh server per measurement",
        f"Events: ~{_payload_guess()} B JSON (type, timestamp, channel, seq, t, i, pad) on one channel; "
        "no permessage-deflate; raw-frame asyncio client (parses first event + 1 in k)",
        f"Workloads{' (--quick)' if quick else ''}: burst {c1} clients x {e1:,} events and {c2} x {e2:,} "
        f"(as fast as the server goes); steady {sc} clients x {sr} ev/s for {ss:.0f} s "
        f"(CPU = server process tree CPU / deliveries; latency sampled 1 in 10); "
        f"{plan.idle_clients} idle subscribed clients, RSS held {plan.idle_settle:.1f} s, "
        "minus RSS after a 10-client warm-up",
    ]


def _payload_guess() -> int:
    return len(benchlib.encode(benchlib.full_event(0)))


def fmt(value, spec: str = ",.0f", suffix: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{suffix}"


BUSY_CORES = 0.25  # other processes' load above which a figure is marked as disturbed


def flag(run: dict | None) -> str:
    """Marks: ! lost messages, timed out or saw closes; ~ other processes were busy; error."""
    if not run:
        return ""
    if "error" in run:
        return " (error)"
    bad = run.get("timed_out") or run.get("close_codes") or run.get("lost") or (
        "expected" in run and run.get("delivered") != run["expected"])
    busy = "other_load_cores" in run and max(run["other_load_cores"],
                                             run.get("busy_before_cores", 0.0)) > BUSY_CORES
    return ("!" if bad else "") + ("~" if busy else "")


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        lines.append("| " + " | ".join(c.ljust(w) if i == 0 else c.rjust(w)
                                       for i, (c, w) in enumerate(zip(row, widths, strict=True))) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def metrics(r: dict) -> dict:
    s = r.get("steady") or {}
    i = r.get("idle") or {}
    return {
        "b10": (r.get("burst_small") or {}).get("deliveries_per_s"),
        "b100": (r.get("burst_large") or {}).get("deliveries_per_s"),
        "b100cpu": (r.get("burst_large") or {}).get("server_us_per_delivery"),
        "b100done": (r.get("burst_large") or {}).get("last_delivery_ms"),
        "b100p50": (r.get("burst_large") or {}).get("p50_ms"),
        "us": s.get("server_us_per_delivery"),
        "p50": s.get("p50_ms"),
        "p99": s.get("p99_ms"),
        "size": s["bytes"] / s["delivered"] if s.get("delivered") else None,
        "mb": i.get("rss_above_empty_mb"),
        "kb": i.get("kb_per_conn"),
        "thr": i.get("threads"),
    }


HIGHER_IS_BETTER = {"b10", "b100"}


def ratio(ours, theirs, key):
    if ours is None or theirs is None or ours <= 0 or theirs <= 0:
        return None
    return ours / theirs if key in HIGHER_IS_BETTER else theirs / ours


def report(results: dict, plan: Plan) -> str:
    (c1, e1), (c2, e2), (sc, sr, _) = plan.burst_small, plan.burst_large, plan.steady
    head = ["server", f"burst {c1}x{e1 // 1000}k deliv/s", f"burst {c2}x{e2 // 1000 or e2}"
            f"{'k' if e2 >= 1000 else ''} deliv/s", f"burst {c2}: us/deliv",
            f"burst {c2}: last delivery ms", f"burst {c2}: p50 ms",
            f"{sc}x{sr}/s: us/deliv", "p50 ms", "p99 ms", f"{plan.idle_clients} idle: MB",
            "KB/conn", "threads", "event B"]
    rows = [head]
    for name, r in results.items():
        m = metrics(r)
        rows.append([
            SPECS[name].label,
            fmt(m["b10"]) + flag(r.get("burst_small")),
            fmt(m["b100"]) + flag(r.get("burst_large")),
            fmt(m["b100cpu"], ".1f"),
            fmt(m["b100done"], ",.0f"), fmt(m["b100p50"], ".1f"),
            fmt(m["us"], ".1f") + flag(r.get("steady")),
            fmt(m["p50"], ".2f"), fmt(m["p99"], ".2f"),
            fmt(m["mb"], ".1f") + flag(r.get("idle")), fmt(m["kb"], ".0f"), fmt(m["thr"], ",d"),
            fmt(m["size"], ".0f"),
        ])
    out = [table(rows), "(! = the run lost messages, timed out or saw connections closed; "
           f"~ = other processes used > {BUSY_CORES} core meanwhile; event B = mean WebSocket payload "
           "received; details in the JSON)"]

    refs = [n for n in ("socketio", "websockets") if n in results]
    if refs:
        keys = ["b10", "b100", "b100cpu", "b100done", "b100p50", "us", "p50", "p99", "mb"]
        rrows = [["server vs " + " / ".join(SPECS[n].name for n in refs)] + head[1:10]]
        for name, r in results.items():
            m = metrics(r)
            cells = [SPECS[name].label]
            for key in keys:
                parts = [ratio(m[key], metrics(results[ref])[key], key) for ref in refs]
                cells.append(" / ".join(fmt(p, ".2f", "x") for p in parts))
            rrows.append(cells)
        out += ["", "Ratios (>1x means better than the reference: more deliveries/s, or less CPU, "
                "latency, memory):", table(rrows)]

    if "darkroom" in results:
        m = metrics(results["darkroom"])
        sio = metrics(results["socketio"])["b100"] if "socketio" in results else None
        wsk = metrics(results["websockets"])["b100"] if "websockets" in results else None
        checks = [
            (f"deliveries/s at {c2} clients >= {TARGETS['burst100_vs_socketio']:.1f}x Flask-SocketIO",
             ratio(m["b100"], sio, "b100"), TARGETS["burst100_vs_socketio"], "x", True),
            (f"deliveries/s at {c2} clients >= {TARGETS['burst100_vs_websockets']:.1f}x websockets",
             ratio(m["b100"], wsk, "b100"), TARGETS["burst100_vs_websockets"], "x", True),
            (f"server CPU at {sc} clients x {sr} ev/s <= {TARGETS['steady_us']:.0f} us/delivery",
             m["us"], TARGETS["steady_us"], " us", False),
            (f"{plan.idle_clients} idle clients < {TARGETS['idle_mb']:.0f} MB above the empty server",
             m["mb"], TARGETS["idle_mb"], " MB", False),
        ]
        floor = metrics(results["floor"])["us"] if "floor" in results else None
        if floor is not None:
            checks[2] = (checks[2][0] + f" (floor on this machine: {floor:.1f} us)",) + checks[2][1:]
            checks.append((f"server CPU at {sc} clients x {sr} ev/s <= {TARGETS['steady_vs_floor']:.1f}x "
                           "the floor's in this run", m["us"] / floor if m["us"] else None,
                           TARGETS["steady_vs_floor"], "x", False))
        if "websockets" in results:
            theirs = metrics(results["websockets"])["p99"]
            checks.append((f"steady p99 no worse than websockets' ({fmt(theirs, '.2f')} ms)",
                           m["p99"], theirs, " ms", False))
        out += ["", "Targets (Darkroom):"]
        for text, value, target, unit, higher in checks:
            if value is None or target is None:
                verdict = "not measured"
            else:
                ok = value >= target if higher else value <= target
                verdict = f"{value:.2f}{unit} {'PASS' if ok else 'MISS'}"
            out.append(f"  {text}: {verdict}")
    return "\n".join(out)


# --- main ------------------------------------------------------------------------------

BEST = {  # which of several repetitions a table cell shows
    "burst_small": ("deliveries_per_s", max),
    "burst_large": ("deliveries_per_s", max),
    "steady": ("server_us_per_delivery", min),
    "idle": ("rss_above_empty_mb", min),
}
SUMMARY_KEYS = ("deliveries_per_s", "server_us_per_delivery", "server_user_us_per_delivery",
                "server_sys_us_per_delivery", "p50_ms", "p99_ms", "rss_above_empty_mb", "delivered",
                "client_cpu_s", "other_load_cores")


def run(names: list[str], plan: Plan, tmp: Path, repeat: int, quiet_wait: float) -> dict:
    """Workload by workload, every server in turn, so drift hits all servers alike.

    Each cell keeps its best repetition (highest deliveries/s, least CPU or
    memory); all repetitions are kept under ``runs`` for the JSON file.
    """
    runs: dict = {n: {} for n in names}
    steps = [
        ("burst_small", lambda s: measure_burst(s, tmp, *plan.burst_small)),
        ("burst_large", lambda s: measure_burst(s, tmp, *plan.burst_large)),
        ("steady", lambda s: measure_steady(s, tmp, *plan.steady)),
        ("idle", lambda s: measure_idle(s, tmp, plan.idle_clients, plan.idle_settle)),
    ]
    for rep in range(1, repeat + 1):
        for step, fn in steps:
            for name in names:
                busy = wait_quiet(quiet_wait)
                t0 = time.monotonic()
                try:
                    result = fn(SPECS[name])
                except (RuntimeError, TimeoutError, OSError) as exc:
                    result = {"error": str(exc)}
                result["busy_before_cores"] = busy
                runs[name].setdefault(step, []).append(result)
                summary = {k: v for k, v in result.items() if k in SUMMARY_KEYS or k == "error"}
                print(f"  {rep}/{repeat} {step:<11} {name:<10} {time.monotonic() - t0:5.1f} s  "
                      + ", ".join(f"{k}={v:,.2f}" if isinstance(v, float) else f"{k}={v}"
                                  for k, v in summary.items()), flush=True)
    results: dict = {}
    for name, by_step in runs.items():
        results[name] = {}
        for step, tries in by_step.items():
            key, pick = BEST[step]
            good = [t for t in tries if t.get(key) is not None]
            results[name][step] = pick(good, key=lambda t: t[key]) if good else tries[-1]
    return {"best": results, "runs": runs}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="shorter runs")
    p.add_argument("--only", default=",".join(SPECS), help="comma-separated: " + ",".join(SPECS))
    p.add_argument("--repeat", type=int, default=1, help="repetitions; the table shows the best")
    p.add_argument("--quiet-wait", type=float, default=30.0,
                   help="max seconds to wait before each measurement for the machine to go idle")
    p.add_argument("--no-durable", action="store_true",
                   help="skip the durable log section (events/s logged, 10k-event resume)")
    p.add_argument("--processes", default="",
                   help="studio scale only: comma-separated web process counts on Redis, e.g. 1,2")
    p.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # a StudioServer child
    p.add_argument("--data-dir", help=argparse.SUPPRESS)
    p.add_argument("--redis-url", default="", help=argparse.SUPPRESS)
    p.add_argument("--redis-prefix", default="darkroom", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve:
        return serve_studio(args)
    if args.processes:
        return main_cluster(args, p)
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in SPECS]
    if unknown:
        p.error(f"unknown server(s): {', '.join(unknown)}")
    if len(os.sched_getaffinity(0)) < 2:
        p.error("needs 2 cores: the server and the load client each get one")
    logging.basicConfig(level=logging.WARNING)
    benchlib.raise_nofile()
    os.sched_setaffinity(0, {CLIENT_CORE})
    plan = QUICK if args.quick else FULL
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    print("Conditions:")
    for line in conditions(plan, args.quick):
        print("  " + line)
    print("Runs:", flush=True)
    started = time.time()
    durable_report = None
    with tempfile.TemporaryDirectory(prefix="fanout-") as tmp:
        try:
            outcome = run(names, plan, Path(tmp), max(1, args.repeat), args.quiet_wait)
            if not args.no_durable and "darkroom" in names:
                wait_quiet(args.quiet_wait)
                events = 20_000 if args.quick else 100_000
                durable_report = durable.run(sys.modules[__name__], Path(tmp), events, 10_000)
        finally:
            children.stop_all()
    results = outcome["best"]
    print()
    print(report(results, plan))
    if durable_report:
        print()
        print(durable_report)
    out_dir = BENCH / "results"
    out_dir.mkdir(exist_ok=True)
    out = out_dir / time.strftime("fanout-%Y%m%d-%H%M%S.json", time.gmtime(started))
    out.write_text(json.dumps({"conditions": conditions(plan, args.quick), "quick": args.quick,
                               "repeat": args.repeat, **outcome}, indent=1))
    print(f"\nRaw results: {out.relative_to(BENCH.parent)}")
    return 0


def main_cluster(args, parser) -> int:
    try:
        counts = [int(n) for n in args.processes.split(",") if n.strip()]
    except ValueError:
        parser.error("--processes takes a comma-separated list of counts, e.g. 1,2")
    if not counts or min(counts) < 1 or CLUSTER_CLIENTS % max(counts):
        parser.error(f"--processes: counts from 1 that divide {CLUSTER_CLIENTS}")
    if len(os.sched_getaffinity(0)) < 2:
        parser.error("needs 2 cores")
    logging.basicConfig(level=logging.WARNING)
    benchlib.raise_nofile()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print("Conditions:")
    print(f"  Darkroom: {darkroom_revision()}")
    print(f"  Machine: {cpu_model()}, {psutil.cpu_count()} cores online, {platform.system()} "
          f"{platform.release()}, Python {platform.python_version()}")
    print(f"  {CLUSTER_CLIENTS} clients in total, split evenly; events (~{_payload_guess()} B, one "
          "channel) published by a server thread of the first process; one process: server on "
          "core 0, load client on core 1; several: server i on core i mod 2, load clients and "
          "redis-server unpinned; Redis without persistence; a fresh set of processes per row")
    print("Runs:", flush=True)
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="fanout-") as tmp:
        try:
            results = run_cluster(counts, Path(tmp), args.quick, args.quiet_wait)
        finally:
            children.stop_all()
    print()
    print(cluster_report(results, args.quick))
    out_dir = BENCH / "results"
    out_dir.mkdir(exist_ok=True)
    out = out_dir / time.strftime("fanout-processes-%Y%m%d-%H%M%S.json", time.gmtime(started))
    out.write_text(json.dumps({"processes": counts, "quick": args.quick, "results": results},
                              indent=1))
    print(f"\nRaw results: {out.relative_to(BENCH.parent)}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        children.stop_all()
        sys.exit(130)
