"""/api/approval and /api/export: the decision rules and the export folder's safety."""

from __future__ import annotations

import os

import pytest
from imagegen import write_image
from PIL import Image
from pipeline_support import error, ok, wait_developed

pytestmark = pytest.mark.databases


def test_approval_rules_and_export_safety(live_server, tmp_path):
    ok(live_server.post("/api/queue/pause"))
    body = ok(live_server.post("/import/file", {"file_path": str(
        write_image(tmp_path / "keeper.jpg", 200, 150, seed=6))}))
    pid = body["photo_id"]
    error(live_server.post(f"/api/approval/{pid}/approve"), 409, "not_developed")
    error(live_server.post("/api/approval/999/approve"), 404)
    ok(live_server.post("/api/queue/resume"))
    wait_developed(live_server, pid)
    queue = ok(live_server.get("/api/approval/queue"))
    assert [p["id"] for p in queue["photos"]] == [pid]
    error(live_server.post("/api/export", {"photo_ids": [pid]}), 409, "not_approved")
    error(live_server.post(f"/api/approval/{pid}/reject", {"reason": "x" * 1001}), 400)
    error(live_server.post(f"/api/approval/{pid}/approve", {"auto_export": "yes"}), 400)
    error(live_server.post(f"/api/approval/{pid}/approve",
                           {"auto_export": True, "destination": "/etc"}), 403)
    ok(live_server.post(f"/api/approval/{pid}/approve"))
    error(live_server.post(f"/api/approval/{pid}/reject", {}), 409, "already_decided")

    exports = tmp_path / "exports"
    for dest in ("/etc", "../outside", str(tmp_path), str(exports) + "/../x"):
        error(live_server.post("/api/export", {"photo_ids": [pid], "destination": dest}), 403)
    error(live_server.post("/api/export", {}), 400, "missing_field")
    error(live_server.post("/api/export", {"photo_ids": "1"}), 400)
    error(live_server.post("/api/export", {"photo_ids": [pid], "format": "gif"}), 400)
    error(live_server.post("/api/export", {"photo_ids": [pid], "quality": 0}), 400)
    error(live_server.post("/api/export", {"photo_ids": [pid], "long_edge": 10**6}), 400)
    error(live_server.post("/api/export", {"photo_ids": [999]}), 404)
    # An existing file is never overwritten.
    exports.mkdir(exist_ok=True)
    (exports / "keeper.jpg").write_bytes(b"precious")
    started = ok(live_server.post("/api/export", {"photo_ids": [pid], "long_edge": 100,
                                                  "destination": "client"}), 202)
    assert started["destination"] == str((exports / "client").resolve())
    ok(live_server.post("/api/export", {"photo_ids": [pid], "format": "png"}), 202)
    ok(live_server.post("/api/export", {"photo_ids": [pid]}), 202)

    def done():
        rows = live_server.get("/api/exports").json()["exports"]
        return len(rows) == 3 and all(r["status"] == "completed" for r in rows)
    live_server.wait_for(done, timeout=15, what="three exports")
    rows = {os.path.basename(r["output_path"]): r for r in
            live_server.get("/api/exports").json()["exports"]}
    assert set(rows) == {"keeper.jpg", "keeper.png", "keeper_1.jpg"}
    assert (exports / "keeper.jpg").read_bytes() == b"precious"
    for row in rows.values():
        assert os.path.getsize(row["output_path"]) == row["file_size"]
    with Image.open(exports / "client" / "keeper.jpg") as img:
        assert max(img.size) == 100
