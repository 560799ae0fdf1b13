"""Jobs over several ``darkroom worker`` processes on one PostgreSQL queue (real processes).

The jobs are written straight into the database (as a web process's importer
writes them), so nothing but the worker processes runs them; their events are
read back from the Redis stream the workers publish to. A job is done exactly
once when it was claimed once (``attempts``), completed once (one
``job_completed``, one ``job_started``) and rendered into ``media_dir``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from harness import ROOT, app_env
from imagegen import write_image
from sqlalchemy import select

from darkroom.db import Database, Job, Photo, PhotoSession
from darkroom.pipeline.jobs import queue
from darkroom.realtime import redis_log

JOBS = 200


class WorkerProcess:
    """``darkroom worker`` in a subprocess, as a studio starts it."""

    def __init__(self, env: dict, data_dir: Path, log_path: Path, workers: int):
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "darkroom", "worker", "--data-dir", str(data_dir),
             "--workers", str(workers)],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def ready(self, timeout: float = 45) -> "WorkerProcess":
        deadline = time.monotonic() + timeout
        while "darkroom worker ready" not in self.output():
            if self.proc.poll() is not None:
                raise RuntimeError(f"darkroom worker exited {self.proc.returncode}:\n{self.output()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"darkroom worker did not start:\n{self.output()}")
            time.sleep(0.1)
        return self

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(timeout=10)
        finally:
            self._log.close()


class Install:
    """One studio install's database, Redis prefix and worker processes."""

    def __init__(self, tmp_path: Path, database_url: str, redis_url: str, prefix: str):
        self.tmp_path = tmp_path
        self.data_dir = tmp_path / "data"
        self.media_dir = tmp_path / "media"
        self.redis_url, self.prefix = redis_url, prefix
        self.db = Database(database_url)
        self.db.create_schema()
        self.env = {**app_env(tmp_path, database_url), "REDIS_URL": redis_url,
                    "DARKROOM_REDIS_PREFIX": prefix, "DARKROOM_MEDIA_DIR": str(self.media_dir)}
        self.workers: list[WorkerProcess] = []

    def worker(self, workers: int = 2, **env: str) -> WorkerProcess:
        proc = WorkerProcess({**self.env, **env}, self.data_dir,
                             self.tmp_path / f"worker-{len(self.workers)}.log", workers)
        self.workers.append(proc)
        return proc

    def add_jobs(self, image: Path, count: int) -> list[int]:
        with self.db.write() as s:
            session = PhotoSession(name="Shoot", import_folder=str(image.parent))
            s.add(session)
            s.flush()
            photos = [Photo(session_id=session.id, file_path=str(image), file_name=image.name,
                            content_hash=f"{i:064d}", file_size=image.stat().st_size,
                            format="jpeg", preset="WhiteLayer_v4", status="queued")
                      for i in range(count)]
            s.add_all(photos)
            s.flush()
            jobs = [Job(photo_id=p.id, session_id=session.id, priority=1 + i % 10,
                        preset="WhiteLayer_v4") for i, p in enumerate(photos)]
            s.add_all(jobs)
            s.flush()
            return [j.id for j in jobs]

    def jobs(self) -> list[Job]:
        with self.db.read() as s:
            return list(s.scalars(select(Job).order_by(Job.id)))

    def wait(self, predicate, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            for proc in self.workers:
                if proc.proc.poll() not in (None, -signal.SIGKILL):
                    raise RuntimeError(f"a worker exited:\n{proc.output()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} not reached within {timeout}s")
            time.sleep(0.1)

    def events(self, type_: str) -> list[dict]:
        log = redis_log.RedisEventLog(redis_log.connect(self.redis_url),
                                      redis_log.Keys(self.prefix), 1_000_000)
        try:
            return [json.loads(row.data) for row in log.read(0, None, ["jobs"], 1_000_000)
                    if row.type == type_]
        finally:
            log.redis.close()

    def close(self) -> None:
        for proc in self.workers:
            proc.stop(signal.SIGKILL)
        self.db.dispose()


@pytest.fixture
def install(tmp_path, postgres_url, redis_url, redis_prefix):
    made = Install(tmp_path, postgres_url, redis_url, redis_prefix)
    yield made
    made.close()


def _one_each(events: list[dict], ids: list[int]) -> bool:
    seen = sorted(e["job_id"] for e in events)
    return seen == sorted(ids)


@pytest.mark.timeout(240)
def test_200_jobs_over_two_worker_processes_each_done_exactly_once(install, tmp_path):
    image = write_image(tmp_path / "tiny.jpg", 48, 32, seed=7)
    ids = install.add_jobs(image, JOBS)
    first, second = install.worker(), install.worker()
    first.ready()
    second.ready()
    install.wait(lambda: queue.counts(install.db)["completed"] == JOBS, 200, "every job completed")
    jobs = install.jobs()
    assert [j.status for j in jobs] == ["completed"] * JOBS
    assert [j.attempts for j in jobs] == [1] * JOBS, "a job was claimed more than once"
    pids = {j.worker.split(":")[1] for j in jobs}
    assert pids == {str(first.proc.pid), str(second.proc.pid)}, "one process did all the work"
    for job in jobs:
        assert Path(job.result["developed_path"]).parent == install.media_dir / "renders"
        assert os.path.getsize(job.result["developed_path"]) == job.result["developed_size"]
        assert job.result["developed_url"] == f"/api/photos/{job.photo_id}/developed"
    install.wait(lambda: len(install.events("job_completed")) >= JOBS, 30, "every job_completed")
    assert _one_each(install.events("job_completed"), ids)
    assert _one_each(install.events("job_started"), ids)
    assert first.stop() == 0 and second.stop() == 0


@pytest.mark.timeout(180)
def test_a_worker_killed_mid_job_loses_its_lease_and_another_finishes_the_job(install, tmp_path):
    # 40 MP, so the develop outlasts the polls that find it rendering on a loaded machine
    # (a 6 MP one finished first now and then, test_worker.py chose the same size).
    big = write_image(tmp_path / "big.jpg", 8000, 5000, seed=61)
    lease = {"DARKROOM_JOB_LEASE": "4"}
    workers = [install.worker(1, **lease), install.worker(1, **lease)]
    for proc in workers:
        proc.ready()
    [job_id] = install.add_jobs(big, 1)

    def rendering() -> bool:
        job = install.jobs()[0]
        assert job.status in ("pending", "running"), f"the job ended too soon: {job.status}"
        return job.stage == "rendering" and job.progress <= 55
    install.wait(rendering, 60, "the job rendering in one worker")
    pid = int(install.jobs()[0].worker.split(":")[1])
    [doomed] = [w for w in workers if w.proc.pid == pid]
    [survivor] = [w for w in workers if w is not doomed]
    doomed.proc.send_signal(signal.SIGKILL)
    doomed.proc.wait(timeout=10)
    install.wait(lambda: install.jobs()[0].status == "completed", 120,
                 "the requeued job completing in the second worker")
    job = install.jobs()[0]
    assert job.attempts == 2
    assert job.worker.split(":")[1] == str(survivor.proc.pid)
    assert os.path.getsize(job.result["developed_path"]) == job.result["developed_size"]
    assert f"whose worker stopped: {job_id} -> pending" in survivor.output()
    with install.db.read() as s:
        assert s.get(Photo, job.photo_id).status == "developed"
    # Every client saw it enter the queue again, then finish once.
    assert [e["job_id"] for e in install.events("job_created")] == [job_id]
    # The worker commits the row, then publishes: the event reaches the stream a moment later.
    install.wait(lambda: install.events("job_completed"), 30, "job_completed in the stream")
    assert [e["job_id"] for e in install.events("job_completed")] == [job_id]
