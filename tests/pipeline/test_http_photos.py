"""/api/photos: listing filters and the image files, before and after develop."""

from __future__ import annotations

import pytest
from imagegen import write_image
from pipeline_support import error, ok

pytestmark = pytest.mark.databases


def test_images_exist_only_once_made_and_filters_are_checked(live_server, tmp_path):
    error(live_server.get("/api/photos/999/thumbnail"), 404)
    ok(live_server.post("/api/queue/pause"))
    pid = ok(live_server.post("/import/file", {"file_path": str(
        write_image(tmp_path / "t.jpg", seed=7))}))["photo_id"]
    assert live_server.get(f"/api/photos/{pid}/thumbnail").status_code == 200
    error(live_server.get(f"/api/photos/{pid}/developed"), 404, "image_not_available")
    error(live_server.get(f"/api/photos/{pid}/developed/thumbnail"), 404, "image_not_available")
    error(live_server.get("/api/photos", params={"status": "x"}), 400, "invalid_query")
    error(live_server.get("/api/photos", params={"limit": "many"}), 400, "invalid_query")
    listed = ok(live_server.get("/api/photos", params={"status": "queued", "decision": "none"}))
    assert [p["id"] for p in listed["photos"]] == [pid] and listed["total"] == 1
    assert listed["count"] == 1 and listed["next_cursor"] is None
    tile = listed["photos"][0]
    assert {k: tile[k] for k in ("rating", "flag", "color_label", "burst")} == \
        {"rating": 0, "flag": None, "color_label": None, "burst": None}
    assert tile["captured_at"] == "2025-11-09T12:34:56.000Z"  # the EXIF DateTimeOriginal
    photo = ok(live_server.get(f"/api/photos/{pid}"))["photo"]
    assert [j["status"] for j in photo["jobs"]] == ["pending"] and photo["exports"] == []
    error(live_server.get("/api/photos/999"), 404, "photo_not_found")
