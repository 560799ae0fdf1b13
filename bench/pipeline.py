"""Pipeline throughput: photos per minute through import, analysis and develop.

Run by hand (never from the tests)::

    python bench/pipeline.py                      # 24 MP JPEGs and DNGs, 1..cores workers
    python bench/pipeline.py --photos 4 --megapixels 12 --workers 1,2 --formats jpeg

For each format it generates the photos once (Pillow JPEGs with EXIF, 12-bit
Bayer DNGs via pidng with a full-size embedded JPEG preview as cameras write
them, ``dng-nopreview`` without one), then for each worker count starts a fresh Darkroom app
(real SQLite database in a temporary data directory, hub and services
running), imports every photo over the app's HTTP API with the queue paused,
resumes the queue and waits until every develop job is done. It prints the
machine's conditions, the import rate (hash, EXIF, preview, thumbnail,
analysis, preset choice, job creation), the develop rate, and the mean time
of each develop stage from the jobs' own timings. It also prints the import
preview path each photo took (``preview_source``: embedded_preview, raw_demosaic,
jpeg_draft) and, measured in the same run on the same files, the floor: Pillow's
decode + JPEG encode of the file (for RAW, LibRaw's default decode + Pillow's
encode), and each import and develop time as a ratio to that floor.

``--worker-processes 1,2`` measures the studio layout instead: develop jobs on
PostgreSQL (a fresh database, dropped after) run by that many ``darkroom
worker`` processes (``--threads`` jobs at once each; events through Redis),
imported by an in-process web app started with ``--workers 0``, beside the
in-process default (SQLite, the same number of worker threads in all) on the
same photos. The develop rate of the processes is measured from the first job
started to the last one finished (the database's timestamps), so starting the
processes is not counted::

    python bench/pipeline.py --worker-processes 1,2 --photos 8 --megapixels 12 --formats jpeg
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "support"))

import numpy  # noqa: E402
import PIL  # noqa: E402
import psutil  # noqa: E402
import rawpy  # noqa: E402
from imagegen import write_dng, write_image  # noqa: E402

from app import create_app  # noqa: E402
from darkroom.config import Config  # noqa: E402
from darkroom.pipeline.media import analysis, decode, exif  # noqa: E402
from darkroom.pipeline.media.sizes import PREVIEW_EDGE  # noqa: E402

BENCH_PORT = 5199  # never listened on: requests go through the test client
HOST = {"Host": f"127.0.0.1:{BENCH_PORT}"}


def conditions() -> str:
    freq = psutil.cpu_freq()
    return "\n".join([
        f"machine   {platform.machine()} {platform.processor() or ''}".rstrip(),
        f"cores     {psutil.cpu_count(logical=False)} physical, {psutil.cpu_count()} logical"
        + (f", {freq.max or freq.current:.0f} MHz" if freq else ""),
        f"memory    {psutil.virtual_memory().total / 2**30:.1f} GiB",
        f"load      {_load()} (1 min) before the run",
        f"python    {platform.python_version()}, numpy {numpy.__version__}, "
        f"Pillow {PIL.__version__}, rawpy {rawpy.__version__} "
        f"(LibRaw {'.'.join(map(str, rawpy.libraw_version))})",
        f"platform  {platform.platform()}",
    ])


def _load() -> str:
    """The 1-minute load average: other work on the machine skews every number."""
    return f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "n/a"


def floor_cost(paths: list[Path]) -> float:
    """Mean seconds of the floor: the library's own full decode + a quality-92 JPEG encode."""
    import io

    from PIL import Image

    times = []
    for path in paths:
        t0 = time.perf_counter()
        if path.suffix.lower() == ".dng":
            with rawpy.imread(str(path)) as raw:
                img = Image.fromarray(raw.postprocess())
        else:
            img = Image.open(path)
            img.load()
        img.save(io.BytesIO(), "JPEG", quality=92)
        times.append(time.perf_counter() - t0)
    return statistics.mean(times)


def make_photos(folder: Path, fmt: str, count: int, megapixels: float) -> list[Path]:
    width = int((megapixels * 1e6 * 1.5) ** 0.5)
    height = int(width / 1.5)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        if fmt == "jpeg":
            paths.append(write_image(folder / f"IMG_{i:04d}.jpg", width, height, seed=i + 1))
        else:
            paths.append(write_dng(folder / f"IMG_{i:04d}.dng", width, height, seed=i + 1,
                                   preview_edge=None if fmt == "dng-nopreview" else width))
    return paths


def analysis_cost(paths: list[Path]) -> float:
    """Mean seconds of the analysis alone (on the preview the importer makes)."""
    times = []
    for path in paths:
        preview = decode.load(path, max_edge=PREVIEW_EDGE)
        tags = exif.read_exif(path)
        t0 = time.perf_counter()
        analysis.analyse(preview, tags)
        times.append(time.perf_counter() - t0)
    return statistics.mean(times)


def run(paths: list[Path], workers: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="darkroom-bench-") as tmp:
        config = Config(data_dir=Path(tmp) / "data", port=BENCH_PORT, workers=workers,
                        hot_folder=False, monitor_interval=3600,
                        export_dirs=[str(Path(tmp) / "exports")],
                        import_roots=sorted({str(p.parent) for p in paths}))
        app = create_app(config)
        client = app.test_client()
        rt = app.extensions["darkroom"]
        try:
            client.post("/api/queue/pause", headers=HOST)
            import_times, job_ids = [], []
            t_import = time.perf_counter()
            for path in paths:
                t0 = time.perf_counter()
                res = client.post("/import/file", json={"file_path": str(path)}, headers=HOST)
                import_times.append(time.perf_counter() - t0)
                if res.status_code != 200:
                    raise RuntimeError(f"import of {path.name} failed: {res.get_json()}")
                job_ids.append(res.get_json()["job_id"])
            import_wall = time.perf_counter() - t_import
            t_dev = time.perf_counter()
            client.post("/api/queue/resume", headers=HOST)
            deadline = time.monotonic() + 60 * 60
            while True:
                jobs = client.get("/api/jobs?kind=develop&limit=1000",
                                  headers=HOST).get_json()["jobs"]
                if all(j["status"] in ("completed", "failed") for j in jobs):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError("develop jobs did not finish within an hour")
                time.sleep(0.05)
            develop_wall = time.perf_counter() - t_dev
            failed = [j for j in jobs if j["status"] == "failed"]
            if failed:
                raise RuntimeError(f"{len(failed)} develop job(s) failed: "
                                   f"{failed[0]['error_message']}")
            sources: dict[str, int] = {}
            for job in jobs:
                photo = client.get(f"/api/photos/{job['photo_id']}", headers=HOST).get_json()
                src = (photo["photo"].get("analysis") or {}).get("preview_source", "unknown")
                sources[src] = sources.get(src, 0) + 1
            stages = {}
            for stage in ("loading", "applying_preset", "rendering", "writing", "total"):
                stages[stage] = statistics.mean(j["result"]["timings"][stage] for j in jobs)
        finally:
            rt.stop()
    n = len(paths)
    return {"workers": workers, "import_s": statistics.mean(import_times),
            "import_per_min": n / import_wall * 60, "develop_per_min": n / develop_wall * 60,
            "end_to_end_per_min": n / (import_wall + develop_wall) * 60, "stages": stages,
            "sources": sources}


def _postgres_database(admin_url: str, name: Optional[str] = None) -> str:
    """CREATE DATABASE (or DROP it, with ``name``) on the server of ``admin_url``."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        if name:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return name
        name = f"darkroom_bench_{uuid.uuid4().hex[:10]}"
        conn.execute(f'CREATE DATABASE "{name}"')
        return name


def run_processes(paths: list[Path], processes: int, threads: int, admin_url: str,
                  redis_url: str) -> dict:
    """Develop ``paths`` with ``processes`` ``darkroom worker`` processes on PostgreSQL."""
    from sqlalchemy import func, select

    from darkroom.db import Database, Job

    name = _postgres_database(admin_url)
    url = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    workers: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="darkroom-bench-") as tmp:
        config = Config(data_dir=Path(tmp) / "data", port=BENCH_PORT, workers=0, hot_folder=False,
                        monitor_interval=3600, export_dirs=[str(Path(tmp) / "exports")],
                        import_roots=sorted({str(p.parent) for p in paths}), database_url=url,
                        redis_url=redis_url, redis_prefix=prefix)
        app = create_app(config)
        client = app.test_client()
        rt = app.extensions["darkroom"]
        db = Database(url)
        try:
            for path in paths:
                res = client.post("/import/file", json={"file_path": str(path)}, headers=HOST)
                if res.status_code != 200:
                    raise RuntimeError(f"import of {path.name} failed: {res.get_json()}")
            env = {**os.environ, "DARKROOM_DATABASE_URL": url, "REDIS_URL": redis_url,
                   "DARKROOM_REDIS_PREFIX": prefix, "DARKROOM_LOG_LEVEL": "warning"}
            for _ in range(processes):
                workers.append(subprocess.Popen(
                    [sys.executable, "-m", "darkroom", "worker", "--data-dir", str(config.data_dir),
                     "--workers", str(threads)], cwd=ROOT, env=env))
            deadline = time.monotonic() + 60 * 60
            while True:
                with db.read() as s:
                    rows = dict(s.execute(select(Job.status, func.count(Job.id))
                                          .group_by(Job.status)).all())
                if rows.get("completed", 0) + rows.get("failed", 0) == len(paths):
                    break
                if any(w.poll() is not None for w in workers) or time.monotonic() > deadline:
                    raise RuntimeError("a worker process exited, or the jobs took over an hour")
                time.sleep(0.05)
            if rows.get("failed"):
                raise RuntimeError(f"{rows['failed']} develop job(s) failed")
            with db.read() as s:
                first, last = s.execute(select(func.min(Job.started_at), func.max(Job.finished_at))).one()
                jobs = list(s.scalars(select(Job)))
            stages = {stage: statistics.mean(j.result["timings"][stage] for j in jobs)
                      for stage in ("loading", "applying_preset", "rendering", "writing", "total")}
            by = {j.worker.split(":")[1] for j in jobs}
        finally:
            for w in workers:
                w.send_signal(signal.SIGTERM)
            for w in workers:
                w.wait(timeout=30)
            rt.stop()
            db.dispose()
            _postgres_database(admin_url, name)
    wall = (last - first).total_seconds()
    return {"develop_per_min": len(paths) / wall * 60, "stages": stages, "processes_used": len(by)}


def compare_processes(paths: list[Path], counts: list[int], threads: int, admin_url: str,
                      redis_url: str) -> None:
    print("layout                                   develop/min  develop stages (mean s: "
          "loading / applying_preset / rendering / writing / total)  load after")

    def row(label: str, r: dict) -> None:
        st = r["stages"]
        print(f"{label:<40} {r['develop_per_min']:>11.1f}  {st['loading']:.2f} / "
              f"{st['applying_preset']:.3f} / {st['rendering']:.2f} / {st['writing']:.2f} / "
              f"{st['total']:.2f}  {_load()}")
    for n in counts:
        row(f"in-process, SQLite, {n * threads} thread(s)", run(paths, n * threads))
        r = run_processes(paths, n, threads, admin_url, redis_url)
        row(f"{n} worker process(es) x {threads}, PostgreSQL", r)
        if r["processes_used"] != n:
            print(f"         (only {r['processes_used']} of {n} processes got a job: too few photos)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", type=int, default=6, help="photos per format (default 6)")
    ap.add_argument("--megapixels", type=float, default=24.0)
    ap.add_argument("--workers", default="",
                    help="comma-separated worker counts (default 1..number of cores)")
    ap.add_argument("--formats", default="jpeg,dng",
                    help="comma-separated: jpeg, dng (embedded preview), dng-nopreview")
    ap.add_argument("--worker-processes", default="",
                    help="comma-separated counts of 'darkroom worker' processes on PostgreSQL "
                         "(e.g. 1,2), each beside the in-process default")
    ap.add_argument("--threads", type=int, default=1,
                    help="jobs each worker process runs at once (default 1)")
    ap.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres",
                    help="a PostgreSQL database to connect to for CREATE DATABASE")
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = ap.parse_args(argv)
    cores = os.cpu_count() or 1
    processes = [int(n) for n in args.worker_processes.split(",") if n]
    counts = [int(w) for w in args.workers.split(",") if w] or list(range(1, cores + 1))
    print("Darkroom pipeline benchmark")
    print(conditions())
    layout = (f"worker processes {processes} x {args.threads} thread(s) on PostgreSQL + Redis"
              if processes else f"workers {counts}")
    print(f"photos    {args.photos} per format, {args.megapixels:g} MP, {layout}")
    with tempfile.TemporaryDirectory(prefix="darkroom-bench-photos-") as tmp:
        for fmt in args.formats.split(","):
            t0 = time.perf_counter()
            paths = make_photos(Path(tmp) / fmt, fmt, args.photos, args.megapixels)
            size = statistics.mean(p.stat().st_size for p in paths) / 2**20
            print(f"\n== {fmt.upper()}: {len(paths)} x {args.megapixels:g} MP, "
                  f"{size:.1f} MiB each (generated in {time.perf_counter() - t0:.1f}s)")
            if processes:
                compare_processes(paths, processes, args.threads, args.postgres, args.redis_url)
                continue
            print(f"analysis alone: {analysis_cost(paths) * 1000:.0f} ms per photo "
                  f"(on the 1600 px preview)")
            print("workers  import s/photo  import/min  develop/min  end-to-end/min  "
                  "develop stages (mean s: loading / applying_preset / rendering / writing / "
                  "total)  load after")
            for workers in counts:
                floor_before = floor_cost(paths)
                r = run(paths, workers)
                floor = (floor_before + floor_cost(paths)) / 2  # around the run: same conditions
                st = r["stages"]
                print(f"{workers:>7}  {r['import_s']:>14.2f}  {r['import_per_min']:>10.1f}  "
                      f"{r['develop_per_min']:>11.1f}  {r['end_to_end_per_min']:>14.1f}  "
                      f"{st['loading']:.2f} / {st['applying_preset']:.3f} / "
                      f"{st['rendering']:.2f} / {st['writing']:.2f} / {st['total']:.2f}  "
                      f"{_load()}")
                path_taken = ", ".join(f"{k} x{v}" for k, v in sorted(r["sources"].items()))
                print(f"         import preview path: {path_taken}")
                print(f"         floor (decode + encode of the same file): {floor:.2f} s; "
                      f"import {r['import_s'] / floor:.2f}x, develop job "
                      f"{st['total'] / floor:.2f}x the floor")
    return 0


if __name__ == "__main__":
    sys.exit(main())
