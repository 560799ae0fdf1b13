"""Taking a decision back (POST /api/approval/<id>/undo) and developing a decided photo
again (POST /api/jobs), each announced to a real WebSocket client; a completed session is
active again."""

from __future__ import annotations

import pytest
from imagegen import write_image
from pipeline_support import Recorder, create_session, error, ok, wait_developed

pytestmark = pytest.mark.databases


def _developed_session(server, tmp_path, name="Shoot"):
    """A session of one developed photo: (session id, photo id)."""
    folder = tmp_path / name
    folder.mkdir()
    session_id = create_session(server, name, folder)
    path = write_image(folder / "a.jpg", 120, 90, seed=4)
    pid = ok(server.post("/import/file", {"file_path": str(path),
                                          "session_id": session_id}))["photo_id"]
    assert wait_developed(server, pid)["status"] == "developed"
    return session_id, pid


def test_undo_returns_the_photo_to_the_queue_and_reopens_the_session(live_server, tmp_path):
    session_id, pid = _developed_session(live_server, tmp_path)
    error(live_server.post(f"/api/approval/{pid}/undo"), 409, "not_decided")
    error(live_server.post("/api/approval/999/undo"), 404, "photo_not_found")
    assert ok(live_server.post(f"/api/approval/{pid}/approve"))["session_completed"] is True
    assert ok(live_server.get(f"/api/sessions/{session_id}"))["session"]["status"] == "completed"
    rec = Recorder(live_server, channels=("approval", "sessions"))
    try:
        body = ok(live_server.post(f"/api/approval/{pid}/undo"))
        assert body["previous_decision"] == "approved"
        assert body["photo"]["id"] == pid and body["photo"]["decision"] is None
        # The approval's own queue and session updates may still arrive first (state
        # events are coalesced): wait for the ones the undo sends.
        rec.wait(lambda ev: rec.of("photo_decision_reverted", photo_id=pid)
                 and rec.of("approval_queue_updated", session_id=session_id, queue_count=1)
                 and rec.of("session_updated", session_id=session_id, status="awaiting_approval"),
                 what="the revert, the queue and the session")
        reverted = rec.of("photo_decision_reverted", photo_id=pid)[0]
        assert (reverted["session_id"], reverted["previous_decision"]) == (session_id,
                                                                           "approved")
        assert rec.of("approval_queue_updated", session_id=session_id)[-1]["queue_count"] == 1
        assert rec.of("session_updated", session_id=session_id)[-1]["status"] \
            == "awaiting_approval"
        session = ok(live_server.get(f"/api/sessions/{session_id}"))["session"]
        assert session["status"] == "active" and session["completed_at"] is None
        queue = ok(live_server.get("/api/approval/queue", params={"session_id": session_id}))
        assert [ph["id"] for ph in queue["photos"]] == [pid]
        error(live_server.post(f"/api/approval/{pid}/undo"), 409, "not_decided")

        # A rejection is undone the same way, and the photo can be decided again.
        ok(live_server.post(f"/api/approval/{pid}/reject", {"reason": "blink"}))
        rejected = ok(live_server.post(f"/api/approval/{pid}/undo"))
        assert rejected["previous_decision"] == "rejected"
        assert rejected["photo"]["decision_reason"] is None
        rec.wait(lambda ev: len(rec.of("photo_decision_reverted", photo_id=pid)) == 2,
                 what="the second revert")
        assert ok(live_server.post(f"/api/approval/{pid}/approve"))["session_completed"]
    finally:
        rec.close()


def test_developing_a_decided_photo_again_undoes_its_decision(live_server, tmp_path):
    session_id, pid = _developed_session(live_server, tmp_path)
    ok(live_server.post(f"/api/approval/{pid}/reject", {"reason": "too dark"}))
    rec = Recorder(live_server, channels=("approval", "jobs", "sessions"))
    try:
        error(live_server.post("/api/jobs", {"photo_id": pid, "preset": "Nope"}), 400,
              "unknown_preset")
        assert ok(live_server.get(f"/api/photos/{pid}"))["photo"]["decision"] == "rejected"
        job = ok(live_server.post("/api/jobs", {"photo_id": pid, "preset": "HighKey_Airy"}),
                 201)
        assert job["job"]["preset"] == "HighKey_Airy"
        # The queue update is a state event (coalesced): it may come after the develop's
        # job_completed, so it is waited for with the rest, not looked for afterwards.
        rec.wait(lambda ev: rec.of("photo_decision_reverted", photo_id=pid)
                 and rec.of("job_completed", job_id=job["job_id"])
                 and rec.of("approval_queue_updated", session_id=session_id),
                 what="the revert, the new develop and the queue update")
        assert rec.of("photo_decision_reverted")[0]["previous_decision"] == "rejected"
        photo = wait_developed(live_server, pid)
        assert (photo["decision"], photo["preset"]) == (None, "HighKey_Airy")
        session = ok(live_server.get(f"/api/sessions/{session_id}"))["session"]
        assert session["status"] == "active"
        queue = ok(live_server.get("/api/approval/queue", params={"session_id": session_id}))
        assert [ph["id"] for ph in queue["photos"]] == [pid]
    finally:
        rec.close()
