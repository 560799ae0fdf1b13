"""Jobs across restarts: a crash or a clean stop mid-render, then the job runs again.

On SQLite the restarted server requeues what the crash left running at once (no
other process can be running it); on PostgreSQL the job comes back when its
lease expires, so these tests use a short one.
"""

from __future__ import annotations

import os
import signal

import pytest
from imagegen import write_image
from pipeline_support import ok

pytestmark = pytest.mark.databases

ENV = {"DARKROOM_WORKERS": "1", "DARKROOM_JOB_LEASE": "3"}
# 40 MP, so the develop outlasts the polls that find it mid-render on a loaded machine
# (a 6 MP one completed first now and then under CI).
BIG = (8000, 5000)


def _wait_mid_render(app, job_id: int) -> None:
    """Until the job is in the first half of its rendering (seconds before it ends)."""
    def mid():
        job = app.get(f"/api/jobs/{job_id}").json()["job"]
        assert job["status"] in ("pending", "running"), f"job ended too soon: {job['status']}"
        return job["stage"] == "rendering" and job["progress"] <= 55
    app.wait_for(mid, timeout=30, what="the job rendering")


@pytest.mark.timeout(120)
def test_restart_requeues_a_job_interrupted_by_a_crash(start_app, tmp_path, database_url):
    big = write_image(tmp_path / "big.jpg", *BIG, seed=61)
    data_dir = tmp_path / "data"
    app = start_app(data_dir=data_dir, env=ENV)
    res = app.post("/import/file", {"file_path": str(big), "session_id": 1})
    body = ok(res)
    job_id = body["job_id"]
    assert body["session_id"] == 1
    # The pipeline runs in the server's worker process: that is the one that must die.
    worker_pid = ok(app.get("/api/system"))["details"]["pid"]
    _wait_mid_render(app, job_id)
    os.kill(worker_pid, signal.SIGKILL)
    app.terminate(signal.SIGKILL)
    app.kill()

    again = start_app(data_dir=data_dir, env=ENV)
    again.wait_for(lambda: again.get(f"/api/jobs/{job_id}").json()["job"]["status"]
                   == "completed", timeout=40, what="the requeued job completing")
    job = again.get(f"/api/jobs/{job_id}").json()["job"]
    assert job["attempts"] == 2
    assert os.path.getsize(job["result"]["developed_path"]) == job["result"]["developed_size"]
    if database_url.startswith("sqlite"):
        assert "requeued 1 job(s) interrupted by a crash" in again.output()
    else:
        assert f"job(s) whose worker stopped: {job_id} -> pending" in again.output()
    photo = ok(again.get(f"/api/photos/{body['photo_id']}"))["photo"]
    assert photo["status"] == "developed"


@pytest.mark.timeout(120)
def test_a_job_running_at_a_clean_stop_runs_again_after_the_restart(start_app, tmp_path):
    big = write_image(tmp_path / "big.jpg", *BIG, seed=71)
    data_dir = tmp_path / "data"
    app = start_app(data_dir=data_dir, env=ENV)
    job_id = ok(app.post("/import/file", {"file_path": str(big)}))["job_id"]
    _wait_mid_render(app, job_id)
    assert app.terminate(signal.SIGTERM) < 5
    again = start_app(data_dir=data_dir, env=ENV)
    again.wait_for(lambda: again.get(f"/api/jobs/{job_id}").json()["job"]["status"]
                   == "completed", timeout=40, what="the job completing after the restart")
    assert again.get(f"/api/jobs/{job_id}").json()["job"]["attempts"] == 2


def test_a_paused_queue_stays_paused_after_a_restart(start_app, tmp_path):
    data_dir = tmp_path / "data"
    app = start_app(data_dir=data_dir, env=ENV)
    assert ok(app.post("/api/queue/pause"))["paused"] is True
    assert app.terminate(signal.SIGTERM) < 5
    again = start_app(data_dir=data_dir, env=ENV)
    assert ok(again.get("/api/queue"))["paused"] is True
    assert ok(again.post("/api/queue/resume"))["paused"] is False
    assert ok(again.get("/api/queue"))["paused"] is False
