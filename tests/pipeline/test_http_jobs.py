"""/api/jobs and /api/queue: validation, priorities, cancel and retry, against a real server."""

from __future__ import annotations

import pytest
from imagegen import write_image
from pipeline_support import Recorder, error, ok, wait_developed

pytestmark = pytest.mark.databases


def test_job_endpoints_validate_input(live_server, tmp_path):
    ok(live_server.post("/api/queue/pause"))
    body = ok(live_server.post("/import/file", {"file_path": str(
        write_image(tmp_path / "j.jpg", seed=5))}))
    job_id, photo_id = body["job_id"], body["photo_id"]
    error(live_server.post("/api/jobs", {"photo_id": photo_id}), 409, "job_active")
    error(live_server.post("/api/jobs", {}), 400, "missing_field")
    error(live_server.post("/api/jobs", {"photo_id": 999}), 404, "photo_not_found")
    for bad in (0, 11, True, "3", 2.5):
        error(live_server.patch(f"/api/jobs/{job_id}", {"priority": bad}), 400)
    error(live_server.patch(f"/api/jobs/{job_id}", {}), 400)
    error(live_server.patch("/api/jobs/999", {"priority": 2}), 404, "job_not_found")
    changed = ok(live_server.patch(f"/api/jobs/{job_id}", {"priority": 2}))
    assert changed["old_priority"] == 5 and changed["job"]["priority"] == 2
    listed = ok(live_server.get("/api/jobs", params={"status": "pending"}))
    assert [j["id"] for j in listed["jobs"]] == [job_id] and listed["counts"]["pending"] == 1
    error(live_server.get("/api/jobs", params={"status": "bogus"}), 400)
    error(live_server.post(f"/api/jobs/{job_id}/retry"), 409, "job_not_retryable")
    ok(live_server.post(f"/api/jobs/{job_id}/cancel"))
    error(live_server.patch(f"/api/jobs/{job_id}", {"priority": 4}), 409, "job_not_pending")
    error(live_server.post("/api/jobs", {"photo_id": photo_id, "preset": "Nope"}), 400,
          "unknown_preset")
    error(live_server.post("/api/jobs", {"photo_id": photo_id, "priority": 0}), 400)
    manual = ok(live_server.post("/api/jobs", {"photo_id": photo_id, "preset": "Portrait_Soft",
                                               "priority": 1}), 201)
    assert manual["job"]["priority"] == 1 and manual["job"]["preset"] == "Portrait_Soft"
    ok(live_server.post("/api/queue/resume"))
    photo = wait_developed(live_server, photo_id)
    assert photo["preset"] == "Portrait_Soft"


def _ids(events_, type_, key):
    return [e[key] for e in events_ if e["type"] == type_]


def test_priorities_change_the_order_jobs_run_in(make_server, tmp_path):
    server = make_server(workers=1)
    rec = Recorder(server, ("jobs", "queue"))
    ok(server.post("/api/queue/pause"))
    photo_ids, job_ids = [], []
    for i in range(4):
        body = ok(server.post("/import/file", {"file_path": str(
            write_image(tmp_path / f"p{i}.jpg", seed=10 + i))}))
        photo_ids.append(body["photo_id"])
        job_ids.append(body["job_id"])
    ok(server.patch(f"/api/jobs/{job_ids[3]}", {"priority": 1}))
    ok(server.patch(f"/api/jobs/{job_ids[1]}", {"priority": 2}))
    ok(server.post("/api/queue/resume"))
    rec.wait(lambda ev: len(rec.of("job_completed")) == 4, what="four jobs")
    assert _ids(rec.events, "job_started", "job_id") == [job_ids[3], job_ids[1], job_ids[0],
                                                         job_ids[2]]
    changes = rec.of("priority_changed")
    assert [(c["job_id"], c["new_priority"]) for c in changes] == [(job_ids[3], 1),
                                                                   (job_ids[1], 2)]
    # A user-requested job (priority 3 by default) overtakes automatic ones (5).
    ok(server.post("/api/queue/pause"))
    extra = ok(server.post("/import/file", {"file_path": str(
        write_image(tmp_path / "late.jpg", seed=20))}))
    redo = ok(server.post("/api/jobs", {"photo_id": photo_ids[0], "preset": "Night_Clean"}),
              201)
    assert redo["job"]["priority"] == 3 and redo["job"]["preset"] == "Night_Clean"
    ok(server.post("/api/queue/resume"))
    rec.wait(lambda ev: len(rec.of("job_completed")) == 6, what="six jobs")
    assert _ids(rec.events, "job_started", "job_id")[4:] == [redo["job_id"], extra["job_id"]]
    rec.close()


def test_cancel_pending_and_running_jobs(make_server, tmp_path):
    server = make_server(workers=1)
    rec = Recorder(server, ("jobs",))
    ok(server.post("/api/queue/pause"))
    big = ok(server.post("/import/file", {"file_path": str(
        write_image(tmp_path / "big.jpg", 3000, 2000, seed=41))}))
    small = ok(server.post("/import/file", {"file_path": str(
        write_image(tmp_path / "small.jpg", seed=42))}))
    assert ok(server.post(f"/api/jobs/{small['job_id']}/cancel"))["status"] == "cancelled"
    error(server.post(f"/api/jobs/{small['job_id']}/cancel"), 409, "job_finished")
    ok(server.post("/api/queue/resume"))
    rec.wait(lambda ev: rec.of("job_progress", job_id=big["job_id"], stage="rendering"),
             what="the big job rendering")
    res = server.post(f"/api/jobs/{big['job_id']}/cancel")
    assert res.status_code == 202 and res.json()["status"] == "cancelling"
    server.wait_for(lambda: server.get(f"/api/jobs/{big['job_id']}").json()["job"]["status"]
                    == "cancelled", timeout=10, what="cancelled")
    assert not rec.of("job_completed", job_id=big["job_id"])
    # Every client learns that both jobs ended, and that the retried one is queued again.
    for job_id in (small["job_id"], big["job_id"]):
        rec.wait(lambda ev, job_id=job_id: rec.of("job_failed", job_id=job_id), what="cancel announced")
        assert rec.of("job_failed", job_id=job_id)[0]["error_details"]["cancelled"] is True
    photo = ok(server.get(f"/api/photos/{big['photo_id']}"))["photo"]
    assert photo["status"] == "analyzed"
    ok(server.post(f"/api/jobs/{small['job_id']}/retry"))
    rec.wait(lambda ev: len(rec.of("job_created", job_id=small["job_id"])) == 2,
             what="retry announced")
    rec.wait(lambda ev: rec.of("job_completed", job_id=small["job_id"]), what="retried job")
    rec.close()
