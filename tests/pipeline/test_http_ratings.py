"""Ratings, flags and colour labels over HTTP (PATCH /api/photos/<id>, PATCH /api/photos):
every change seen by a real WebSocket client as ``photo_rated``, every refusal a stable code,
a reject cancelling a waiting develop, and a picks-only session developing only its picks."""

from __future__ import annotations

import pytest
from imagegen import write_image
from pipeline_support import Recorder, error, ok, pipeline_of, wait_developed

from darkroom.db import Photo

pytestmark = pytest.mark.databases


def _import(server, tmp_path, name, seed=0, session_id=None):
    path = write_image(tmp_path / name, 120, 90, seed=seed)
    body = {"file_path": str(path)}
    if session_id is not None:
        body["session_id"] = session_id
    return ok(server.post("/import/file", body))


def _marks(server, photo_id):
    with pipeline_of(server).db.read() as s:
        ph = s.get(Photo, photo_id)
        return ph.rating, ph.flag, ph.color_label


def _rated(rec, photo_id, **fields):
    """Wait for a ``photo_rated`` of this photo carrying exactly these marks."""
    def match(e):
        return all(e.get(k) == v for k, v in fields.items())
    rec.wait(lambda ev: any(match(e) for e in rec.of("photo_rated", photo_id=photo_id)),
             what=f"photo_rated {photo_id} {fields}")
    return [e for e in rec.of("photo_rated", photo_id=photo_id) if match(e)][-1]


def test_patch_one_and_many_before_develop_with_events(live_server, tmp_path):
    ok(live_server.post("/api/queue/pause"))  # nothing develops: culling comes first
    ids = [_import(live_server, tmp_path, f"p{i}.jpg", seed=i)["photo_id"] for i in range(3)]
    rec = Recorder(live_server, channels=("photos",))
    try:
        one = ok(live_server.patch(f"/api/photos/{ids[0]}",
                                   {"rating": 3, "flag": "pick", "color_label": "red"}))
        assert one["photo"]["id"] == ids[0] and one["photo"]["status"] == "queued"
        assert (one["photo"]["rating"], one["photo"]["flag"], one["photo"]["color_label"]) \
            == (3, "pick", "red")
        event = _rated(rec, ids[0], rating=3, flag="pick", color_label="red")
        assert event["session_id"] == 1
        assert _marks(live_server, ids[0]) == (3, "pick", "red")

        many = ok(live_server.patch("/api/photos", {"ids": ids, "color_label": "blue"}))
        assert many["updated"] == 3 and [ph["id"] for ph in many["photos"]] == ids
        for photo_id in ids:
            _rated(rec, photo_id, color_label="blue")
        # Fields not given keep their values; null clears a flag.
        assert _marks(live_server, ids[0]) == (3, "pick", "blue")
        ok(live_server.patch(f"/api/photos/{ids[0]}", {"flag": None, "rating": 0}))
        cleared = _rated(rec, ids[0], rating=0, color_label="blue")
        assert "flag" not in cleared
        assert _marks(live_server, ids[0]) == (0, None, "blue")
        assert _marks(live_server, ids[1]) == (0, None, "blue")
    finally:
        rec.close()


def test_every_refusal_has_its_code_and_changes_nothing(live_server, tmp_path):
    ok(live_server.post("/api/queue/pause"))
    pid = _import(live_server, tmp_path, "a.jpg")["photo_id"]
    for bad in (6, -1, "3", True, 2.5, None, [1]):
        error(live_server.patch(f"/api/photos/{pid}", {"rating": bad}), 400, "invalid_rating")
    for bad in ("Pick", "rejected", 1, ["pick"], ""):
        error(live_server.patch(f"/api/photos/{pid}", {"flag": bad}), 400, "invalid_flag")
    for bad in ("white", "Red", 7, {"red": 1}):
        error(live_server.patch(f"/api/photos/{pid}", {"color_label": bad}), 400,
              "invalid_color_label")
    for body in ({}, {"stars": 3}):
        error(live_server.patch(f"/api/photos/{pid}", body), 400, "nothing_to_change")
        error(live_server.patch("/api/photos", {"ids": [pid], **body}), 400, "nothing_to_change")
    error(live_server.patch(f"/api/photos/{pid}", {"rating": 6, "flag": "pick"}), 400,
          "invalid_rating")
    error(live_server.patch("/api/photos/999", {"rating": 1}), 404, "photo_not_found")
    missing = error(live_server.patch("/api/photos", {"ids": [pid, 999, 998], "rating": 5}),
                    404, "photo_not_found")
    assert missing["photo_ids"] == [999, 998]
    error(live_server.patch("/api/photos", {"rating": 5}), 400, "missing_field")
    error(live_server.patch("/api/photos", {"ids": [], "rating": 5}), 400, "missing_field")
    error(live_server.patch("/api/photos", {"ids": "1", "rating": 5}), 400, "invalid_field")
    error(live_server.patch("/api/photos", {"ids": list(range(1001)), "rating": 5}), 400,
          "invalid_field")
    error(live_server.patch(f"/api/photos/{pid}", data=b"rating=3",
                            headers={"Content-Type": "text/plain"}), 415)
    error(live_server.patch(f"/api/photos/{pid}", [1]), 400)
    assert live_server.patch("/api/photos/007", {"rating": 1}).status_code == 404
    assert _marks(live_server, pid) == (0, None, None)


def test_a_reject_cancels_the_waiting_develop_and_an_unreject_queues_it_again(live_server,
                                                                              tmp_path):
    ok(live_server.post("/api/queue/pause"))  # the job stays pending, deterministically
    body = _import(live_server, tmp_path, "a.jpg")
    pid, job_id = body["photo_id"], body["job_id"]
    rec = Recorder(live_server, channels=("jobs", "photos"))
    try:
        ok(live_server.patch(f"/api/photos/{pid}", {"flag": "reject"}))
        rec.wait(lambda ev: rec.of("job_failed", job_id=job_id), what="the cancellation")
        failed = rec.of("job_failed", job_id=job_id)[0]
        assert failed["error_details"]["cancelled"] is True
        assert ok(live_server.get(f"/api/jobs/{job_id}"))["job"]["status"] == "cancelled"
        assert ok(live_server.get(f"/api/photos/{pid}"))["photo"]["status"] == "analyzed"
        # A rejected photo is culled: nothing left to process in its session.
        inbox = ok(live_server.get("/api/sessions/1"))["session"]
        assert inbox["processed_photos"] == inbox["total_photos"] == 1
        # Taking the reject back wants the develop again.
        ok(live_server.patch(f"/api/photos/{pid}", {"flag": None}))
        rec.wait(lambda ev: [e for e in rec.of("job_created", photo_id=pid)
                             if e["job_id"] != job_id], what="a new develop job")
    finally:
        rec.close()
    ok(live_server.post("/api/queue/resume"))
    assert wait_developed(live_server, pid)["status"] == "developed"


def test_a_picks_only_session_develops_only_what_was_picked_or_rated(live_server, tmp_path):
    folder = tmp_path / "wedding"
    folder.mkdir()
    error(live_server.post("/api/sessions", {"name": "X", "import_folder": str(folder),
                                             "develop": "some"}), 400, "invalid_develop")
    created = ok(live_server.post("/api/sessions", {"name": "Wedding",
                                                    "import_folder": str(folder),
                                                    "develop": "picks"}), 201)
    session_id = created["session_id"]
    assert created["session"]["develop"] == "picks"
    error(live_server.patch(f"/api/sessions/{session_id}", {"develop": 5}), 400,
          "invalid_develop")
    rec = Recorder(live_server, channels=("jobs", "sessions"))
    try:
        photos = [_import(live_server, folder, f"w{i}.jpg", seed=i, session_id=session_id)
                  for i in range(3)]
        assert [ph["job_id"] for ph in photos] == [None, None, None]
        assert [ph["status"] for ph in photos] == ["analyzed"] * 3
        a, b, c = (ph["photo_id"] for ph in photos)
        rec.wait(lambda ev: rec.of("session_updated", session_id=session_id)
                 and rec.of("session_updated", session_id=session_id)[-1]["processed_photos"]
                 == 3, what="the session with nothing to develop")
        assert not rec.of("job_created")

        ok(live_server.post("/api/queue/pause"))
        ok(live_server.patch(f"/api/photos/{a}", {"flag": "pick"}))
        ok(live_server.patch("/api/photos", {"ids": [b], "rating": 2}))
        rec.wait(lambda ev: {e["photo_id"] for e in rec.of("job_created")} == {a, b},
                 what="develop jobs for the pick and the rated photo")
        # Once: more stars, or taking the pick back, neither adds nor cancels a job.
        ok(live_server.patch(f"/api/photos/{b}", {"rating": 4}))
        ok(live_server.patch(f"/api/photos/{a}", {"flag": None}))
        jobs = ok(live_server.get("/api/jobs", params={"session_id": session_id}))["jobs"]
        assert sorted((j["photo_id"], j["status"]) for j in jobs) == \
            [(a, "pending"), (b, "pending")]
        ok(live_server.post("/api/queue/resume"))
        for photo_id in (a, b):
            assert wait_developed(live_server, photo_id)["status"] == "developed"
        assert ok(live_server.get(f"/api/photos/{c}"))["photo"]["status"] == "analyzed"
        # The unpicked photo is culled: deciding the two developed ones completes the session.
        ok(live_server.post(f"/api/approval/{a}/approve"))
        ok(live_server.post(f"/api/approval/{b}/reject"))
        session = ok(live_server.get(f"/api/sessions/{session_id}"))["session"]
        assert session["status"] == "completed" and session["approved_photos"] == 1
        # Back to "all": the photo left out is developed now.
        assert ok(live_server.patch(f"/api/sessions/{session_id}",
                                    {"develop": "all"}))["session"]["develop"] == "all"
        assert wait_developed(live_server, c)["status"] == "developed"
        rec.wait(lambda ev: rec.of("job_created", photo_id=c), what="c's develop job")
        rec.drain()
        assert len(rec.of("job_created", photo_id=c)) == 1
    finally:
        rec.close()
