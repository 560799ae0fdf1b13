"""A session end to end: a real server, a real WebSocket client, real SQLite, real images.

Every event of the catalogue must be produced by the code path that does the
work; each received event is validated against the schema the server serves
at ``GET /websocket/catalog``.
"""

from __future__ import annotations

import os
import shutil

import pytest
from imagegen import write_corrupt, write_dng, write_image
from pipeline_support import Recorder, create_session, error, ok, pipeline_of

import websocket_events as events

pytestmark = pytest.mark.databases


def _ids(events_, type_, key):
    return [e[key] for e in events_ if e["type"] == type_]


def test_a_session_produces_every_event_in_order_with_consistent_ids(make_server, tmp_path):
    server = make_server(monitor_interval=0.3)
    p = pipeline_of(server)
    folder = tmp_path / "shoot"
    folder.mkdir()
    write_image(folder / "a.jpg", seed=1)
    write_image(folder / "b.png", seed=2)
    write_image(folder / "c.tif", seed=3)
    write_dng(folder / "d.dng", seed=4)
    write_image(folder / "g.jpg", seed=5)
    write_corrupt(folder / "e_corrupt.jpg")
    shutil.copy(folder / "a.jpg", folder / "f_duplicate.jpg")
    rec = Recorder(server)

    # Hold the queue so priorities and a broken source take effect before anything runs.
    ok(server.post("/api/queue/pause"))
    session_id = create_session(server, "Wedding", folder)
    found = ok(server.post(f"/api/sessions/{session_id}/import"), 202)
    assert found["found"] == 7
    rec.wait(lambda ev: len(rec.of("job_created")) == 5 and rec.of("error_occurred"),
             what="5 imports and the corrupt file's error")
    rec.wait(lambda ev: any(e["remaining"] == 0 for e in
                            rec.of("import_progress", session_id=session_id)),
             what="the folder import done")
    done = rec.of("import_progress", session_id=session_id)[-1]
    # The duplicate is counted, never silent; the corrupt file is refused.
    assert (done["found"], done["imported"], done["duplicates"], done["refused"]) == (7, 5, 1, 1)
    imported = {e["file_name"]: e["photo_id"] for e in rec.of("photo_imported")}
    assert set(imported) == {"a.jpg", "b.png", "c.tif", "d.dng", "g.jpg"}
    for e in rec.of("photo_imported"):
        assert e["session_id"] == session_id
        assert e["thumbnail_url"] == f"/api/photos/{e['photo_id']}/thumbnail"
        thumb = server.get(e["thumbnail_url"])
        assert thumb.status_code == 200 and thumb.headers["Content-Type"] == "image/jpeg"
    rejected = rec.of("error_occurred")[0]
    assert rejected["error_type"] == "import_rejected"
    assert rejected["error_details"]["file_name"] == "e_corrupt.jpg"
    assert rejected["error_details"]["status"] == 422
    for e in rec.of("photo_analyzed"):
        assert 0 <= e["ai_score"] <= 5
        assert {"sharpness", "mean_luminance", "clipped_highlights", "clipped_shadows",
                "contrast", "noise", "colourfulness"} <= set(e["analysis_results"])
    selected = {e["photo_id"]: e for e in rec.of("photo_selected")}
    assert set(selected) == set(imported.values())
    jobs_by_photo = {e["photo_id"]: e["job_id"] for e in rec.of("job_created")}
    for e in rec.of("job_created"):
        assert e["priority"] == 5 and e["session_id"] == session_id
        assert e["preset"] == selected[e["photo_id"]]["selected_preset"]

    # The DNG goes first; g.jpg is broken before its job runs.
    dng_job = jobs_by_photo[imported["d.dng"]]
    body = ok(server.patch(f"/api/jobs/{dng_job}", {"priority": 1, "reason": "client waiting"}))
    assert body["job"]["priority"] == 1
    write_corrupt(folder / "g.jpg", seed=9)
    ok(server.post("/api/queue/resume"))
    rec.wait(lambda ev: len(rec.of("job_completed")) + len(rec.of("job_failed")) == 5
             and rec.of("session_updated", processed_photos=5),
             what="five develop jobs to finish")
    change = rec.of("priority_changed")[0]
    assert (change["job_id"], change["old_priority"], change["new_priority"], change["reason"]) \
        == (dng_job, 5, 1, "client waiting")
    # The DNG is claimed first; with several workers claiming at once (SKIP LOCKED on
    # PostgreSQL), another's job_started may be published a moment before its.
    workers = ok(server.get("/api/queue"))["workers"]
    assert dng_job in [e["job_id"] for e in rec.of("job_started")[:workers]]
    failed = rec.of("job_failed")
    assert [e["photo_id"] for e in failed] == [imported["g.jpg"]]
    assert failed[0]["error_details"]["stage"] == "loading"
    for e in rec.of("job_completed"):
        result = e["result"]
        assert os.path.getsize(result["developed_path"]) == result["developed_size"]
        assert set(result["timings"]) >= {"loading", "applying_preset", "rendering", "writing"}
    stages = [e["stage"] for e in rec.of("job_progress", job_id=dng_job)]
    assert stages[0] == "loading" and stages[-1] == "writing"
    assert "rendering" in stages
    progress = [e["progress"] for e in rec.of("job_progress", job_id=dng_job)]
    assert progress == sorted(progress) and progress[-1] == 100

    # Decisions: three approved, the DNG and the failed one rejected -> 60 % approved.
    queue = ok(server.get("/api/approval/queue", params={"session_id": session_id}))
    assert queue["count"] == 4
    for name in ("a.jpg", "b.png", "c.tif"):
        ok(server.post(f"/api/approval/{imported[name]}/approve", {}))
    ok(server.post(f"/api/approval/{imported['d.dng']}/reject", {"reason": "soft focus"}))
    error(server.post(f"/api/approval/{imported['a.jpg']}/approve", {}), 409, "already_decided")
    error(server.post(f"/api/approval/{imported['g.jpg']}/approve", {}), 409, "not_developed")
    ok(server.post(f"/api/approval/{imported['g.jpg']}/reject", {"reason": "unreadable"}))
    rec.wait(lambda ev: rec.of("session_completed"), what="session_completed")
    completed = rec.of("session_completed")[0]
    assert completed["session_id"] == session_id and completed["session_name"] == "Wedding"
    assert (completed["total_photos"], completed["approved_photos"],
            completed["approval_rate"]) == (5, 3, 60.0)
    assert rec.of("photo_rejected", photo_id=imported["d.dng"])[0]["reason"] == "soft focus"
    phases = [e["status"] for e in rec.of("session_updated", session_id=session_id)]
    assert phases[0] == "processing" and "awaiting_approval" in phases
    assert phases[-1] == "completed"
    final = rec.of("session_updated", session_id=session_id)[-1]
    assert (final["total_photos"], final["processed_photos"], final["progress_percent"]) == \
        (5, 5, 100.0)
    assert rec.events.index(final) < rec.events.index(completed)
    # State events may be coalesced by the hub, but the last state always arrives.
    rec.wait(lambda ev: rec.of("approval_queue_updated", session_id=session_id)[-1]
             ["queue_count"] == 0, what="an empty approval queue")

    # Export the session; then an export whose original has gone fails.
    exports = ok(server.post("/api/export", {"session_id": session_id, "format": "jpeg",
                                             "quality": 80, "long_edge": 64}), 202)
    assert exports["count"] == 3
    rec.wait(lambda ev: len(rec.of("export_completed")) == 3, what="three exports")
    for e in rec.of("export_completed"):
        assert os.path.getsize(e["output_path"]) == e["file_size"] > 0
        assert e["output_path"].startswith(str(tmp_path / "exports"))
    os.unlink(folder / "b.png")
    ok(server.post("/api/export", {"photo_ids": [imported["b.png"]]}), 202)
    rec.wait(lambda ev: rec.of("export_failed"), what="export_failed")
    assert rec.of("export_failed")[0]["photo_id"] == imported["b.png"]

    # Marks and undo: stars on an approved photo; taking the DNG's rejection back makes the
    # completed session active again.
    ok(server.patch(f"/api/photos/{imported['a.jpg']}", {"rating": 4, "color_label": "green"}))
    undone = ok(server.post(f"/api/approval/{imported['d.dng']}/undo"))
    assert undone["previous_decision"] == "rejected" and undone["photo"]["decision"] is None
    rec.wait(lambda ev: rec.of("photo_decision_reverted") and rec.of("photo_rated")
             and rec.of("session_updated", session_id=session_id)[-1]["status"]
             == "awaiting_approval", what="the marks, the undo and the session reopened")
    assert rec.of("photo_rated")[0]["rating"] == 4

    # The monitor: status every tick, a warning once per crossing.
    p.monitor.thresholds["disk"] = 0.0
    seen = len(rec.of("system_status"))
    rec.wait(lambda ev: rec.of("resource_warning", resource_type="disk")
             and len(rec.of("system_status")) >= seen + 3,
             what="system_status and resource_warning")
    p.monitor.thresholds["disk"] = 100.0
    warning = rec.of("resource_warning", resource_type="disk")
    assert len(warning) == 1 and warning[0]["threshold"] == 0.0
    status = rec.of("system_status")[-1]["details"]
    assert {"cpu_percent", "memory_percent", "disk_percent", "active_jobs", "queue",
            "connected_clients"} <= set(status)
    rec.drain()
    done = rec.events

    # Everything in the catalogue was sent by the pipeline itself.
    assert {e["type"] for e in done} == set(events.EVENTS), \
        set(events.EVENTS) - {e["type"] for e in done}
    seqs = [e["seq"] for e in done]
    assert seqs == sorted(seqs)

    # Per photo, a sensible order: imported < analyzed < selected < job created < started
    # < finished < decided.
    def first(type_, photo_id):
        return next(i for i, e in enumerate(done) if e["type"] == type_
                    and e.get("photo_id") == photo_id)
    job_ids = set(_ids(done, "job_created", "job_id"))
    for e in done:
        if e["type"].startswith("job_") or e["type"] == "priority_changed":
            assert e["job_id"] in job_ids, e
    for name, photo_id in imported.items():
        end = "job_failed" if name == "g.jpg" else "job_completed"
        decided = "photo_rejected" if name in ("d.dng", "g.jpg") else "photo_approved"
        order = [first(t, photo_id) for t in ("photo_imported", "photo_analyzed",
                                              "photo_selected", "job_created", "job_started",
                                              end, decided)]
        assert order == sorted(order), (name, order)
    created_at = next(i for i, e in enumerate(done) if e["type"] == "session_created")
    assert created_at < first("photo_imported", imported["a.jpg"])
    assert done.index(completed) > max(first("photo_approved", imported["c.tif"]),
                                       first("photo_rejected", imported["g.jpg"]))
    last_queue = rec.of("queue_status")[-1]
    counts = ok(server.get("/api/jobs"))["counts"]
    assert (last_queue["pending"], last_queue["processing"], last_queue["completed"],
            last_queue["failed"]) == (0, 0, counts["completed"], counts["failed"])
    rec.close()
