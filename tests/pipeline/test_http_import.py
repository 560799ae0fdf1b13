"""Importing over HTTP: /import/file status codes, symlinks, every format, folder imports."""

from __future__ import annotations

import os
import shutil

import pytest
import requests
from imagegen import write_corrupt, write_dng, write_image, write_truncated_jpeg
from pipeline_support import error, ok, wait_developed

pytestmark = pytest.mark.databases


def test_the_quick_reference_curl_example_imports_into_the_inbox(live_server, tmp_path):
    photo = write_image(tmp_path / "test.jpg", seed=1)
    res = requests.post(live_server.url + "/import/file",
                        headers={"Content-Type": "application/json"},
                        data=f'{{"file_path": "{photo}", "session_id": 1}}', timeout=10)
    body = ok(res)
    assert body["session_id"] == 1 and body["file_name"] == "test.jpg"
    assert isinstance(body["photo_id"], int) and body["job_id"] >= 1
    sessions = ok(live_server.get("/api/sessions"))["sessions"]
    assert sessions[0]["id"] == 1 and sessions[0]["name"] == "Inbox"
    # Without a session_id the photo also lands in the Inbox.
    other = ok(live_server.post("/import/file", {"file_path": str(
        write_image(tmp_path / "other.png", seed=2))}))
    assert other["session_id"] == 1


def test_import_file_status_codes(live_server, tmp_path):
    jpg = write_image(tmp_path / "a.jpg", seed=3)
    error(live_server.post("/import/file", {}), 400, "missing_field")
    error(live_server.post("/import/file", {"file_path": 42}), 400, "invalid_field")
    error(live_server.post("/import/file", {"file_path": "x" * 5000}), 400)
    error(live_server.post("/import/file", {"file_path": str(jpg), "session_id": "1"}), 400)
    error(live_server.post("/import/file", {"file_path": str(jpg), "session_id": True}), 400)
    error(live_server.post("/import/file", {"file_path": str(jpg), "session_id": 999}), 404,
          "session_not_found")
    # Missing, a folder, a FIFO: one answer (tests/web/test_file_safety.py has the rest).
    missing = error(live_server.post("/import/file", {"file_path": str(tmp_path / "nope.jpg")}),
                    404, "not_found")
    assert error(live_server.post("/import/file", {"file_path": str(tmp_path)}), 404) == missing
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "pipe.jpg"
        os.mkfifo(fifo)
        assert error(live_server.post("/import/file", {"file_path": str(fifo)}), 404) == missing
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    error(live_server.post("/import/file", {"file_path": str(text)}), 415, "unsupported_format")
    body = error(live_server.post("/import/file", {"file_path": str(
        write_corrupt(tmp_path / "bad.jpg"))}), 422, "unreadable_image")
    assert str(tmp_path) not in body["error"]
    error(live_server.post("/import/file", {"file_path": str(
        write_truncated_jpeg(tmp_path / "cut.jpg"))}), 422, "unreadable_image")
    error(live_server.post("/import/file", {"file_path": str(
        write_corrupt(tmp_path / "bad.dng"))}), 422, "unreadable_image")
    first = ok(live_server.post("/import/file", {"file_path": str(jpg)}))
    copy = tmp_path / "copy.jpg"
    shutil.copy(jpg, copy)
    dup = error(live_server.post("/import/file", {"file_path": str(copy)}), 409, "duplicate")
    assert dup["photo_id"] == first["photo_id"]
    res = live_server.post("/import/file", data="file_path=x",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    error(res, 415)


def test_a_symlink_is_resolved_to_the_real_file(live_server, tmp_path):
    real = write_image(tmp_path / "real.jpg", seed=4)
    link = tmp_path / "link.jpg"
    link.symlink_to(real)
    body = ok(live_server.post("/import/file", {"file_path": str(link)}))
    assert body["file_path"] == str(real.resolve())


@pytest.mark.parametrize("maker,name", [(write_image, "p.jpg"), (write_image, "p.png"),
                                        (write_image, "p.tif"), (write_dng, "p.dng")])
def test_every_format_imports_with_exif_and_develops(live_server, tmp_path, maker, name):
    body = ok(live_server.post("/import/file", {"file_path": str(
        maker(tmp_path / name, 120, 80, seed=hash(name) % 1000))}))
    exif = body["exif"]
    assert exif["camera"].startswith("Darkroom TestCam")
    assert (exif["iso"], exif["aperture"], exif["focal_length"], exif["shutter"]) == \
        (200, 2.8, 35.0, "1/250")
    assert exif["lens"] == "TestLens 35mm F1.8"
    assert exif["capture_time"] == "2025-11-09T12:34:56"
    assert (body["width"], body["height"]) == (120, 80)
    photo = wait_developed(live_server, body["photo_id"])
    assert photo["status"] == "developed"
    for kind in ("thumbnail", "preview", "developed", "developed/thumbnail"):
        res = live_server.get(f"/api/photos/{body['photo_id']}/{kind}")
        assert res.status_code == 200 and res.content[:2] == b"\xff\xd8", kind


def test_folder_import_returns_quickly_with_what_it_found(live_server, tmp_path):
    folder = tmp_path / "shoot"
    folder.mkdir()
    for i in range(3):
        write_image(folder / f"IMG_{i}.jpg", seed=100 + i)
    (folder / "readme.txt").write_text("x")
    (folder / ".hidden.jpg").write_bytes(b"x")
    sid = ok(live_server.post("/api/sessions", {"name": "F", "import_folder": str(folder)}),
             201)["session"]["id"]
    body = ok(live_server.post(f"/api/sessions/{sid}/import"), 202)
    assert body["found"] == 3 and body["files"] == ["IMG_0.jpg", "IMG_1.jpg", "IMG_2.jpg"]
    assert body["skipped"] == ["readme.txt"]
    assert body["queued"] == 3 and body["batch"] == 1 and body["progress"]["found"] == 3
    live_server.wait_for(lambda: live_server.get(f"/api/sessions/{sid}").json()["session"]
                         ["processed_photos"] == 3, timeout=15, what="three developed")
    session = ok(live_server.get(f"/api/sessions/{sid}"))["session"]
    assert session["total_photos"] == 3 and session["progress_percent"] == 100.0
    assert session["awaiting_approval"] == 3
    photos = ok(live_server.get("/api/photos", params={"session_id": sid,
                                                       "status": "developed"}))
    assert photos["total"] == 3
    photo = ok(live_server.get(f"/api/photos/{photos['photos'][0]['id']}"))["photo"]
    assert photo["analysis"]["scores"] and 0 <= photo["ai_score"] <= 5
    assert photo["context_tag"] and photo["preset"] and photo["jobs"][0]["status"] == "completed"
    # Importing again finds the same files; they are duplicates, reported with their photos,
    # and change nothing.
    again = ok(live_server.post(f"/api/sessions/{sid}/import"), 202)
    ids = {p["file_name"]: p["id"] for p in ok(live_server.get(
        "/api/photos", params={"session_id": sid}))["photos"]}
    assert again["queued"] == 0 and again["batch"] == 2
    assert again["duplicates"] == [{"file": f"IMG_{i}.jpg", "photo_id": ids[f"IMG_{i}.jpg"]}
                                   for i in range(3)]
    assert again["progress"] == {"batch": 2, "found": 3, "imported": 0, "duplicates": 3,
                                 "refused": 0, "remaining": 0}
    assert ok(live_server.get(f"/api/sessions/{sid}"))["session"]["total_photos"] == 3
    error(live_server.post("/api/sessions/999/import"), 404)
