"""/api/sessions: create, list, read, patch, and the rules on names and folders."""

from __future__ import annotations

import pytest
from pipeline_support import error, ok

pytestmark = pytest.mark.databases


def test_sessions_create_list_get_patch(live_server, tmp_path):
    folder = tmp_path / "shoot"
    folder.mkdir()
    body = ok(live_server.post("/api/sessions", {"name": "Shoot", "import_folder": str(folder)}),
              201)
    session = body["session"]
    assert session["name"] == "Shoot" and session["status"] == "active"
    assert session["total_photos"] == 0 and session["import_folder"] == str(folder.resolve())
    error(live_server.post("/api/sessions", {"name": "Shoot", "import_folder": str(folder)}),
          409, "duplicate_name")
    error(live_server.post("/api/sessions", {"import_folder": str(folder)}), 400)
    error(live_server.post("/api/sessions", {"name": " ", "import_folder": str(folder)}), 400)
    error(live_server.post("/api/sessions", {"name": "x" * 201, "import_folder": str(folder)}),
          400)
    error(live_server.post("/api/sessions", {"name": "N", "import_folder": str(tmp_path / "no")}),
          404, "not_found")
    error(live_server.post("/api/sessions", ["not", "an", "object"]), 400)
    listed = ok(live_server.get("/api/sessions"))
    assert [s["name"] for s in listed["sessions"]] == ["Inbox", "Shoot"]
    sid = session["id"]
    patched = ok(live_server.patch(f"/api/sessions/{sid}", {"name": "Shoot 2",
                                                            "status": "paused"}))["session"]
    assert patched["name"] == "Shoot 2" and patched["status"] == "paused"
    error(live_server.patch(f"/api/sessions/{sid}", {"status": "completed"}), 400)
    error(live_server.patch(f"/api/sessions/{sid}", {"name": "Inbox"}), 409, "duplicate_name")
    # Other fields (a Lightroom client's epoch-seconds timestamp...) are ignored.
    ok(live_server.patch(f"/api/sessions/{sid}", {"timestamp": 1731155696, "name": "Shoot 2"}))
    error(live_server.patch("/api/sessions/1", {"name": "Other"}), 409, "inbox_fixed")
    error(live_server.get("/api/sessions/999"), 404, "session_not_found")
    error(live_server.get("/api/sessions", params={"status": "weird"}), 400)
