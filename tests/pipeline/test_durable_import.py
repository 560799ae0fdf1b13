"""Folder imports that finish: recorded before the first file, resumed after a crash or a
stop, every file imported once or refused with a reason, progress that only goes up.

Nothing here sleeps: each test waits on the events a real WebSocket client receives (or on
the server's own answers), and kills the real ``python app.py`` process tree.

What rests on the database (the import's file list, claims and leases, the requeue after a
crash, the counts) runs on SQLite and PostgreSQL. A clean stop mid-import (SIGTERM, Ctrl-C)
runs on SQLite only: the resume it leads to is the one the SIGKILL case runs on both, and
what a clean stop does to a running job on PostgreSQL (it runs again after the restart) is
tests/pipeline/test_restart.py::test_a_job_running_at_a_clean_stop_runs_again_after_the_restart.
Importing, developing and exporting leaving the originals alone is about files, not rows:
SQLite only too.
"""

from __future__ import annotations

import shutil
import signal

import psutil
import pytest
from imagegen import write_corrupt, write_image
from pipeline_support import Recorder, create_session, ok, wait_developed

from darkroom.db import Database, Photo


def _kill_tree(app) -> None:
    """SIGKILL the whole server at once, as a crash would."""
    master = psutil.Process(app.proc.pid)
    tree = [*master.children(recursive=True), master]
    for process in tree:
        process.send_signal(signal.SIGKILL)
    app.proc.wait(timeout=10)
    psutil.wait_procs(tree, timeout=10)
    app.kill()


def _progress(rec, session_id: int) -> list[dict]:
    return rec.of("import_progress", session_id=session_id)


def _assert_progress_consistent(events: list[dict]) -> None:
    for e in events:
        assert e["found"] == e["imported"] + e["duplicates"] + e["refused"] + e["remaining"], e


def _session(app, session_id: int) -> dict:
    return ok(app.get(f"/api/sessions/{session_id}"))["session"]


def _photos(app, session_id: int) -> list[dict]:
    return ok(app.get("/api/photos", params={"session_id": session_id, "limit": 500}))["photos"]


@pytest.mark.databases
@pytest.mark.timeout(240)  # two starts of app.py, 20 imports and 20 develops
def test_an_import_killed_mid_way_resumes_and_imports_every_file_once(start_app, tmp_path):
    _interrupt_and_resume(start_app, tmp_path, "sigkill")


@pytest.mark.timeout(240)  # two starts of app.py, 20 imports and 20 develops
@pytest.mark.parametrize("how", ["sigterm", "ctrl-c"])
def test_an_import_stopped_mid_way_resumes_and_imports_every_file_once(start_app, tmp_path, how):
    _interrupt_and_resume(start_app, tmp_path, how)


def _interrupt_and_resume(start_app, tmp_path, how: str) -> None:
    folder = tmp_path / "shoot"
    folder.mkdir()
    for i in range(20):
        write_image(folder / f"IMG_{i:04d}.jpg", 1500, 1000, seed=300 + i)
    data_dir = tmp_path / "data"
    # On PostgreSQL the jobs a SIGKILL left running come back when their lease expires
    # (the restarted server cannot know their worker is gone): a short lease, renewed
    # three times a lease by the heartbeat, as tests/pipeline/test_restart.py uses.
    env = {"DARKROOM_WORKERS": "2", "DARKROOM_JOB_LEASE": "4"}
    app = start_app(data_dir=data_dir, env=env)
    rec = Recorder(app, ("sessions",))
    session_id = create_session(app, "Card", folder)
    body = ok(app.post(f"/api/sessions/{session_id}/import"), 202)
    assert body["found"] == 20 and body["queued"] == 20 and body["duplicates"] == []
    assert body["progress"] == {"batch": 1, "found": 20, "imported": 0, "duplicates": 0,
                                "refused": 0, "remaining": 20}
    # The file list is in the database before the first file is imported: the session
    # counts all 20 at once.
    assert _session(app, session_id)["total_photos"] == 20
    rec.wait(lambda ev: any(e["imported"] >= 3 for e in _progress(rec, session_id)),
             timeout=60, what="three files imported")
    before = _progress(rec, session_id)[-1]
    assert before["remaining"] > 0, before
    if how == "sigkill":
        _kill_tree(app)
    else:  # a clean stop mid-import: systemd's SIGTERM, or Ctrl-C
        assert app.terminate(signal.SIGTERM if how == "sigterm" else signal.SIGINT) < 10
        app.kill()
    rec.close()
    first_run = list(rec.events)

    again = start_app(data_dir=data_dir, env=env)
    rec2 = Recorder(again, ("sessions",))
    rec2.wait(lambda ev: any(e["remaining"] == 0 for e in _progress(rec2, session_id))
              or _session(again, session_id)["pending_imports"] == 0,
              timeout=90, what="the resumed import finishing")
    again.wait_for(lambda: _session(again, session_id)["processed_photos"] == 20, timeout=180,
                   what="all 20 developed")
    rec2.wait(lambda ev: any(e["processed_photos"] == 20 for e in
                             rec2.of("session_updated", session_id=session_id)),
              timeout=30, what="the last session_updated")
    assert "resuming an interrupted import" in again.output()

    photos = _photos(again, session_id)
    names = sorted(p["file_name"] for p in photos)
    assert names == [f"IMG_{i:04d}.jpg" for i in range(20)]  # all 20, none twice
    assert len({p["content_hash"] for p in photos}) == 20
    session = _session(again, session_id)
    assert (session["total_photos"], session["processed_photos"],
            session["pending_imports"]) == (20, 20, 0)
    assert session["phase"] == "awaiting_approval"

    events = first_run + rec2.events
    updates = [e for e in events if e["type"] == "session_updated"
               and e["session_id"] == session_id]
    percents = [e["progress_percent"] for e in updates]
    assert percents == sorted(percents), percents  # never backwards, across the restart
    assert {e["total_photos"] for e in updates} == {20}
    # awaiting_approval only once the last file is in.
    phases = [e["status"] for e in updates]
    first_waiting = phases.index("awaiting_approval")
    assert all(e["processed_photos"] == 20 for e in updates[first_waiting:])
    progress = [e for e in events if e["type"] == "import_progress"]
    _assert_progress_consistent(progress)
    assert progress[-1]["imported"] == 20 and progress[-1]["remaining"] == 0
    imported = [e["imported"] for e in progress]
    assert imported == sorted(imported)
    rec2.close()


@pytest.mark.databases
def test_a_reimport_reports_its_duplicates_and_how_many_files_were_new(live_server, tmp_path):
    folder = tmp_path / "shoot"
    folder.mkdir()
    for i in range(3):
        write_image(folder / f"IMG_{i}.jpg", seed=400 + i)
    write_corrupt(folder / "IMG_9.jpg")
    rec = Recorder(live_server, ("sessions", "system"))
    session_id = create_session(live_server, "Again", folder)
    first = ok(live_server.post(f"/api/sessions/{session_id}/import"), 202)
    assert (first["found"], first["queued"], first["batch"]) == (4, 4, 1)
    rec.wait(lambda ev: any(e["remaining"] == 0 for e in _progress(rec, session_id)),
             what="the first import done")
    done = _progress(rec, session_id)[-1]
    assert (done["found"], done["imported"], done["duplicates"], done["refused"]) == (4, 3, 0, 1)
    rejected = [e for e in rec.of("error_occurred") if e["error_type"] == "import_rejected"]
    assert [e["error_details"]["file_name"] for e in rejected] == ["IMG_9.jpg"]
    ids = {p["file_name"]: p["id"] for p in _photos(live_server, session_id)}

    # Again, with one new photo and a copy of an imported one under a new name.
    write_image(folder / "IMG_3.jpg", seed=403)
    shutil.copy(folder / "IMG_0.jpg", folder / "IMG_0_copy.jpg")
    again = ok(live_server.post(f"/api/sessions/{session_id}/import"), 202)
    assert again["batch"] == 2 and again["found"] == 6
    # Files already imported from the same path, size and mtime are known at once (the
    # rest of the answer is a snapshot: the queue may already have found the copy).
    duplicates = {d["file"]: d["photo_id"] for d in again["duplicates"]}
    assert {f"IMG_{i}.jpg": ids[f"IMG_{i}.jpg"] for i in range(3)}.items() <= duplicates.items()
    assert duplicates.get("IMG_0_copy.jpg", ids["IMG_0.jpg"]) == ids["IMG_0.jpg"]
    assert again["queued"] == 3  # IMG_3, the copy, and the refused one again
    assert again["progress"]["duplicates"] >= 3
    rec.wait(lambda ev: any(e["remaining"] == 0 and e.get("batch") == 2
                            for e in _progress(rec, session_id)), what="the re-import done")
    final = _progress(rec, session_id)[-1]
    # One file was new; the copy is reported with the photo it already is.
    assert (final["found"], final["imported"], final["duplicates"], final["refused"],
            final["remaining"]) == (6, 1, 4, 1, 0)
    _assert_progress_consistent(_progress(rec, session_id))
    photos = _photos(live_server, session_id)
    assert sorted(p["file_name"] for p in photos) == ["IMG_0.jpg", "IMG_1.jpg", "IMG_2.jpg",
                                                      "IMG_3.jpg"]
    # A third request reports the copy with the photo it is.
    third = ok(live_server.post(f"/api/sessions/{session_id}/import"), 202)
    assert {"file": "IMG_0_copy.jpg", "photo_id": ids["IMG_0.jpg"]} in third["duplicates"]
    assert third["queued"] == 1  # only the unreadable file is tried again
    rec.wait(lambda ev: any(e["remaining"] == 0 and e.get("batch") == 3
                            for e in _progress(rec, session_id)), what="the third import done")
    rec.close()


@pytest.mark.databases
def test_progress_only_goes_up_and_awaiting_approval_comes_after_the_last_file(live_server,
                                                                                tmp_path):
    folder = tmp_path / "shoot"
    folder.mkdir()
    for i in range(8):
        write_image(folder / f"IMG_{i}.jpg", 640, 480, seed=500 + i)
    rec = Recorder(live_server, ("sessions",))
    session_id = create_session(live_server, "Fourteen", folder)
    ok(live_server.post(f"/api/sessions/{session_id}/import"), 202)
    live_server.wait_for(lambda: _session(live_server, session_id)["processed_photos"] == 8,
                         timeout=60, what="all developed")
    rec.wait(lambda ev: any(e["processed_photos"] == 8 for e in
                            rec.of("session_updated", session_id=session_id)),
             what="the last session_updated")
    updates = rec.of("session_updated", session_id=session_id)
    assert {e["total_photos"] for e in updates} == {8}
    percents = [e["progress_percent"] for e in updates]
    assert percents == sorted(percents)
    waiting = [i for i, e in enumerate(updates) if e["status"] == "awaiting_approval"]
    assert waiting and all(updates[i]["processed_photos"] == 8 for i in waiting)
    last_file = rec.events.index(next(e for e in _progress(rec, session_id)
                                      if e["remaining"] == 0))
    assert rec.events.index(updates[waiting[0]]) > last_file
    rec.close()


def test_originals_are_untouched_by_import_develop_and_export(live_server, tmp_path):
    folder = tmp_path / "shoot"
    folder.mkdir()
    originals = [write_image(folder / "IMG_1.jpg", 400, 300, seed=601),
                 write_image(folder / "IMG_2.tif", 400, 300, seed=602)]
    before = {path: (path.read_bytes(), path.stat()) for path in originals}
    session_id = create_session(live_server, "Untouched", folder)
    ok(live_server.post(f"/api/sessions/{session_id}/import"), 202)
    live_server.wait_for(lambda: _session(live_server, session_id)["processed_photos"] == 2,
                         timeout=30, what="both developed")
    photos = _photos(live_server, session_id)
    for photo in photos:
        assert wait_developed(live_server, photo["id"])["status"] == "developed"
        ok(live_server.post(f"/api/approval/{photo['id']}/approve", {}))
    body = ok(live_server.post("/api/export", {"photo_ids": [p["id"] for p in photos],
                                               "format": "tiff"}), 202)
    assert body["count"] == 2

    def exported() -> bool:
        rows = ok(live_server.get("/api/exports"))["exports"]
        return len(rows) == 2 and all(r["status"] == "completed" for r in rows)
    live_server.wait_for(exported, timeout=30, what="both exports")
    for path, (data, st) in before.items():
        now = path.stat()
        assert path.read_bytes() == data
        assert (now.st_mtime_ns, now.st_size, now.st_mode) == (st.st_mtime_ns, st.st_size,
                                                               st.st_mode)
        assert now.st_ctime_ns == st.st_ctime_ns  # not even its metadata was changed
    assert sorted(p.name for p in folder.iterdir()) == ["IMG_1.jpg", "IMG_2.tif"]


@pytest.mark.databases
def test_a_photo_stored_before_a_crash_without_its_develop_job_is_finished(start_app, tmp_path,
                                                                          database_url):
    """What a crash between storing a photo and queueing its develop job leaves behind."""
    photo_file = write_image(tmp_path / "IMG_1.jpg", 300, 200, seed=650)
    data_dir = tmp_path / "data"
    app = start_app(data_dir=data_dir)
    session_id = create_session(app, "Crashed", tmp_path)
    app.terminate(signal.SIGTERM)
    app.kill()
    db = Database(database_url)
    with db.write() as s:  # the row as the importer stores it, before analysis
        photo = Photo(session_id=session_id, file_path=str(photo_file.resolve()),
                      file_name=photo_file.name, content_hash="0" * 64,
                      file_size=photo_file.stat().st_size, format="jpeg", width=300, height=200,
                      exif={})
        s.add(photo)
        s.flush()
        photo_id = photo.id
    db.dispose()
    again = start_app(data_dir=data_dir)
    assert wait_developed(again, photo_id, timeout=30)["status"] == "developed"
    assert "finishing an import interrupted before its develop job" in again.output()
    assert _session(again, session_id)["processed_photos"] == 1
