"""``darkroom worker`` beside a web process started with ``--workers 0`` (real processes).

The web process runs no job; the worker process runs them from the shared
PostgreSQL queue, and its events reach the web process's WebSocket clients
through Redis. A priority change of a queued job and a cancel of a running one
asked on the web process work on the job the worker runs. And the refusals:
without a ``REDIS_URL`` or on SQLite it says why in one line and exits 2.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from harness import ROOT, AppProcess, free_port
from imagegen import write_image
from pipeline_support import ok
from test_jobs_workers import Install

PHOTO_EVENTS = ("job_started", "job_progress", "job_completed", "job_failed", "priority_changed")


@pytest.fixture
def install(tmp_path, postgres_url, redis_url, redis_prefix):
    made = Install(tmp_path, postgres_url, redis_url, redis_prefix)
    yield made
    made.close()


@pytest.fixture
def web(install, tmp_path):
    port = free_port()
    proc = AppProcess(["--port", str(port), "--data-dir", str(install.data_dir)],
                      {**install.env, "DARKROOM_WORKERS": "0"}, port, tmp_path / "web.log")
    yield proc
    proc.kill()


def _next(client, job_id: int, type_: str, timeout: float = 60.0) -> dict:
    """The next event of ``type_`` about ``job_id`` (skipping every other message)."""
    while True:
        message = client.recv_type(type_, timeout=timeout)
        if message.get("job_id") == job_id:
            return message


@pytest.mark.timeout(180)
def test_a_web_process_with_no_workers_and_a_worker_process_share_the_jobs(install, web, tmp_path):
    client = web.ws()
    client.subscribe("jobs", "queue")
    small = write_image(tmp_path / "IMG_1.jpg", 320, 200, seed=3)
    imported = ok(web.post("/import/file", {"file_path": str(small)}))
    job_id = imported["job_id"]
    # Queued, and nobody in the web process takes it: a person can still reprioritise it.
    changed = ok(web.patch(f"/api/jobs/{job_id}", {"priority": 1, "reason": "client waiting"}))
    assert changed["job"]["status"] == "pending"
    assert _next(client, job_id, "priority_changed")["new_priority"] == 1
    assert ok(web.get("/api/queue"))["workers"] == 0

    worker = install.worker(1).ready()
    started = _next(client, job_id, "job_started")
    assert started["photo_id"] == imported["photo_id"]
    assert _next(client, job_id, "job_progress")["stage"] in ("loading", "applying_preset",
                                                              "rendering", "writing")
    completed = _next(client, job_id, "job_completed")
    url = completed["result"]["developed_url"]
    assert url == f"/api/photos/{imported['photo_id']}/developed"
    image = web.get(url)
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/jpeg"
    job = install.jobs()[0]
    assert job.worker.split(":")[1] == str(worker.proc.pid)  # not the web process
    assert ok(web.get(f"/api/jobs/{job_id}"))["job"]["status"] == "completed"
    assert (install.media_dir / "renders" / f"{imported['photo_id']}.jpg").is_file()

    # A cancel asked on the web process stops the job running in the worker process.
    # Big enough that its develop outlasts a heartbeat (2 s), which carries the cancel.
    big = write_image(tmp_path / "IMG_2.jpg", 8000, 5000, seed=4)
    second = ok(web.post("/import/file", {"file_path": str(big)}))["job_id"]
    _next(client, second, "job_started")  # running in the worker (progress stages coalesce)
    answer = web.post(f"/api/jobs/{second}/cancel")
    assert answer.status_code == 202 and answer.json()["status"] == "cancelling"
    failed = _next(client, second, "job_failed")
    assert failed["error_details"]["cancelled"] is True
    assert ok(web.get(f"/api/jobs/{second}"))["job"]["status"] == "cancelled"
    client.close()
    assert worker.stop() == 0
    assert "darkroom worker stopping" in worker.output()


@pytest.mark.timeout(120)
def test_a_pause_on_the_web_process_holds_the_worker_process_and_a_resume_frees_it(
        install, web, tmp_path):
    worker = install.worker(1).ready()
    client = web.ws()
    client.subscribe("jobs", "queue")
    assert ok(web.post("/api/queue/pause"))["paused"] is True
    photo = write_image(tmp_path / "IMG_1.jpg", 320, 200, seed=5)
    job_id = ok(web.post("/import/file", {"file_path": str(photo)}))["job_id"]
    _next(client, job_id, "job_created")
    while True:  # the web process's count of it: the worker process was told of it before
        status = client.recv_type("queue_status", timeout=30)
        if status["pending"] == 1:
            break
    assert status["paused"] is True
    # The worker process was woken by the new job (NOTIFY) and found the queue paused.
    assert ok(web.get(f"/api/jobs/{job_id}"))["job"]["status"] == "pending"
    assert ok(web.post("/api/queue/resume"))["paused"] is False
    assert _next(client, job_id, "job_started")["photo_id"]
    _next(client, job_id, "job_completed")
    assert install.jobs()[0].worker.split(":")[1] == str(worker.proc.pid)
    client.close()
    assert worker.stop() == 0


def _worker(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "darkroom", "worker", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("extra, says", [
    ({"DARKROOM_DATABASE_URL": "postgresql://postgres@127.0.0.1/x"}, "needs REDIS_URL"),
    ({"REDIS_URL": "redis://127.0.0.1:6379"}, "needs a shared DATABASE_URL (PostgreSQL)"),
    ({"REDIS_URL": "redis://127.0.0.1:6379", "DARKROOM_DATABASE_URL": "postgresql://postgres@127.0.0.1/x",
      "DARKROOM_WORKERS": "0"}, "needs --workers 1 or more"),
], ids=["no-redis", "sqlite", "no-workers"])
def test_darkroom_worker_refuses_what_cannot_work_in_one_line(tmp_path, extra, says):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "DARKROOM_DATABASE_URL", "REDIS_URL", "DARKROOM_REDIS_URL")}
    env["DARKROOM_CONFIG"] = str(tmp_path / "none.toml")
    (tmp_path / "none.toml").write_text("")
    done = _worker({**env, **extra}, "--data-dir", str(tmp_path / "data"))
    assert done.returncode == 2
    assert done.stderr.startswith(f"darkroom worker: {says}") and done.stderr.count("\n") == 1
    assert done.stdout == ""
    assert not (tmp_path / "data").exists()  # refused before touching anything


def test_darkroom_worker_help_and_a_bad_option(tmp_path):
    helped = _worker(dict(os.environ), "--help")
    assert helped.returncode == 0 and "usage: darkroom worker" in helped.stdout
    bad = _worker(dict(os.environ), "--workers", "many")
    assert bad.returncode == 2 and "invalid int value" in bad.stderr


def test_sigterm_stops_a_worker_cleanly(install):
    worker = install.worker(1).ready()
    worker.proc.send_signal(signal.SIGTERM)
    assert worker.proc.wait(timeout=15) == 0
