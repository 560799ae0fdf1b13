"""The pipeline end to end: a real server, a real WebSocket client, real SQLite, real images.

Every event of the catalogue must be produced by the code path that does the
work; each received event is validated against the schema the server serves
at ``GET /websocket/catalog``.
"""

from __future__ import annotations

import os
import shutil
import signal
import time

from imagegen import write_corrupt, write_dng, write_image
from pipeline_support import Recorder, error, ok, pipeline_of

import websocket_events as events


def _session(server, name, folder) -> int:
    body = ok(server.post("/api/sessions", {"name": name, "import_folder": str(folder)}), 201)
    return body["session"]["id"]


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
    session_id = _session(server, "Wedding", folder)
    found = ok(server.post(f"/api/sessions/{session_id}/import"), 202)
    assert found["found"] == 7
    rec.wait(lambda ev: len(rec.of("job_created")) == 5 and rec.of("error_occurred"),
             what="5 imports and the corrupt file's error")
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
    assert rec.of("job_started")[0]["job_id"] == dng_job
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


def test_an_unexpected_error_is_reported_and_the_pipeline_goes_on(make_server, tmp_path):
    server = make_server(workers=1)
    p = pipeline_of(server)
    rec = Recorder(server, ("jobs", "system"))
    ok(server.post("/api/queue/pause"))
    first = ok(server.post("/import/file", {"file_path": str(write_image(tmp_path / "x.jpg",
                                                                         seed=31))}))
    second = ok(server.post("/import/file", {"file_path": str(write_image(tmp_path / "y.jpg",
                                                                          seed=32))}))
    # A directory where the developed file must go: writing fails in a way nobody expects.
    (p.render_dir / f"{first['photo_id']}.jpg").mkdir(parents=True)
    ok(server.post("/api/queue/resume"))
    rec.wait(lambda ev: rec.of("job_failed") and rec.of("job_completed"), what="both jobs")
    err = rec.of("error_occurred")[0]
    assert err["job_id"] == first["job_id"] and err["photo_id"] == first["photo_id"]
    assert err["error_type"] == "IsADirectoryError"
    assert rec.of("job_failed")[0]["error_details"]["expected"] is False
    assert rec.of("job_completed")[0]["photo_id"] == second["photo_id"]
    # Fixed, retried, done.
    (p.render_dir / f"{first['photo_id']}.jpg").rmdir()
    ok(server.post(f"/api/jobs/{first['job_id']}/retry"))
    rec.wait(lambda ev: rec.of("job_completed", job_id=first["job_id"]), what="retried job")
    job = ok(server.get(f"/api/jobs/{first['job_id']}"))["job"]
    assert job["status"] == "completed" and job["attempts"] == 2
    # The same in a request: the cache folder turned into a file.
    shutil.rmtree(p.cache_dir)
    p.cache_dir.write_text("in the way")
    photo = write_image(tmp_path / "z.jpg", seed=33)
    body = error(server.post("/import/file", {"file_path": str(photo)}), 500, "internal_error")
    assert str(p.data_dir) not in body["error"]
    rec.wait(lambda ev: any(e["error_details"]["where"] == "POST /import/file"
                            for e in rec.of("error_occurred")), what="the request's error")
    p.cache_dir.unlink()
    ok(server.post("/import/file", {"file_path": str(photo)}))
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


def test_a_hot_folder_drop_is_imported_once(make_server, tmp_path):
    folder = tmp_path / "hot"
    folder.mkdir()
    server = make_server(hot_folder=True)
    pipeline_of(server).hotfolder.settle = 0.5
    rec = Recorder(server, ("photos", "sessions"))
    session_id = _session(server, "Hot", folder)
    server.wait_for(lambda: str(folder.resolve()) in pipeline_of(server).hotfolder.watched(),
                    what="the folder being watched")
    # Copied in slowly: it must not be picked up half written.
    source = write_image(tmp_path / "drop.jpg", 400, 300, seed=51)
    data = source.read_bytes()
    with open(folder / "drop.jpg", "wb") as fp:
        fp.write(data[: len(data) // 2])
        fp.flush()
        time.sleep(0.3)
        fp.write(data[len(data) // 2:])
    (folder / "notes.txt").write_text("not a photo")
    rec.wait(lambda ev: rec.of("photo_imported"), timeout=10, what="the hot-folder import")
    imported = rec.of("photo_imported")[0]
    assert imported["session_id"] == session_id and imported["file_name"] == "drop.jpg"
    os.utime(folder / "drop.jpg")  # touched again: same content, no second import
    time.sleep(1.5)
    rec.drain()
    assert len(rec.of("photo_imported")) == 1
    photos = ok(server.get("/api/photos", params={"session_id": session_id}))
    assert photos["total"] == 1 and photos["photos"][0]["status"] in (
        "queued", "developing", "developed")
    # A paused session is not watched.
    ok(server.patch(f"/api/sessions/{session_id}", {"status": "paused"}))
    server.wait_for(lambda: not pipeline_of(server).hotfolder.watched().get(
        str(folder.resolve())) == session_id, what="the folder unwatched")
    write_image(folder / "later.jpg", seed=52)
    time.sleep(1.2)
    rec.drain()
    assert len(rec.of("photo_imported")) == 1
    rec.close()


def _wait_mid_render(app, job_id: int) -> None:
    """Until the job is in the first half of its rendering (seconds before it ends)."""
    def mid():
        job = app.get(f"/api/jobs/{job_id}").json()["job"]
        assert job["status"] in ("pending", "running"), f"job ended too soon: {job['status']}"
        return job["stage"] == "rendering" and job["progress"] <= 55
    app.wait_for(mid, timeout=30, what="the job rendering")


def test_restart_requeues_a_job_interrupted_by_a_crash(start_app, tmp_path):
    big = write_image(tmp_path / "big.jpg", 3000, 2000, seed=61)
    data_dir = tmp_path / "data"
    app = start_app(data_dir=data_dir, env={"DARKROOM_WORKERS": "1"})
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

    again = start_app(data_dir=data_dir, env={"DARKROOM_WORKERS": "1"})
    again.wait_for(lambda: again.get(f"/api/jobs/{job_id}").json()["job"]["status"]
                   == "completed", timeout=40, what="the requeued job completing")
    job = again.get(f"/api/jobs/{job_id}").json()["job"]
    assert job["attempts"] == 2
    assert os.path.getsize(job["result"]["developed_path"]) == job["result"]["developed_size"]
    assert "requeued 1 job(s) interrupted by a crash" in again.output()
    photo = ok(again.get(f"/api/photos/{body['photo_id']}"))["photo"]
    assert photo["status"] == "developed"


def test_a_job_running_at_a_clean_stop_runs_again_after_the_restart(start_app, tmp_path):
    big = write_image(tmp_path / "big.jpg", 3000, 2000, seed=71)
    data_dir = tmp_path / "data"
    app = start_app(data_dir=data_dir, env={"DARKROOM_WORKERS": "1"})
    job_id = ok(app.post("/import/file", {"file_path": str(big)}))["job_id"]
    _wait_mid_render(app, job_id)
    assert app.terminate(signal.SIGTERM) < 5
    again = start_app(data_dir=data_dir, env={"DARKROOM_WORKERS": "1"})
    again.wait_for(lambda: again.get(f"/api/jobs/{job_id}").json()["job"]["status"]
                   == "completed", timeout=40, what="the job completing after the restart")
    assert again.get(f"/api/jobs/{job_id}").json()["job"]["attempts"] == 2


def test_queue_status_follows_the_counts_at_a_bounded_rate(live_server, tmp_path):
    rec = Recorder(live_server, ("queue",))
    ok(live_server.post("/api/queue/pause"))
    t0 = time.monotonic()
    for i in range(8):
        ok(live_server.post("/import/file", {"file_path": str(
            write_image(tmp_path / f"q{i}.jpg", 48, 32, seed=200 + i))}))
    rec.wait(lambda ev: rec.of("queue_status") and rec.of("queue_status")[-1]["pending"] == 8,
             what="eight pending jobs")
    elapsed = time.monotonic() - t0
    assert len(rec.of("queue_status")) <= elapsed / 0.25 + 2
    ok(live_server.post("/api/queue/resume"))
    rec.wait(lambda ev: rec.of("queue_status")[-1]["completed"] == 8, what="eight completed")
    last = rec.of("queue_status")[-1]
    assert (last["pending"], last["processing"], last["failed"], last["total"]) == (0, 0, 0, 8)
    rec.close()
