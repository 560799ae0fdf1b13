"""The pipeline's HTTP API against a real server: shapes, status codes, hostile input."""

from __future__ import annotations

import os
import shutil

import pytest
import requests
from imagegen import write_corrupt, write_dng, write_image, write_truncated_jpeg
from pipeline_support import error, ok


def _wait_developed(server, photo_id, timeout=15):
    server.wait_for(lambda: server.get(f"/api/photos/{photo_id}").json()["photo"]["status"]
                    in ("developed", "failed"), timeout=timeout, what="develop")
    return server.get(f"/api/photos/{photo_id}").json()["photo"]


# --- import -------------------------------------------------------------------

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
    error(live_server.post("/import/file", {"file_path": str(tmp_path / "nope.jpg")}), 404,
          "file_not_found")
    error(live_server.post("/import/file", {"file_path": str(tmp_path)}), 400, "not_a_file")
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "pipe.jpg"
        os.mkfifo(fifo)
        error(live_server.post("/import/file", {"file_path": str(fifo)}), 400, "not_a_file")
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
    photo = _wait_developed(live_server, body["photo_id"])
    assert photo["status"] == "developed"
    for kind in ("thumbnail", "preview", "developed", "developed/thumbnail"):
        res = live_server.get(f"/api/photos/{body['photo_id']}/{kind}")
        assert res.status_code == 200 and res.content[:2] == b"\xff\xd8", kind


# --- sessions -----------------------------------------------------------------

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
          400, "invalid_folder")
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
    # Importing again finds the same files; they are duplicates and change nothing.
    ok(live_server.post(f"/api/sessions/{sid}/import"), 202)
    error(live_server.post("/api/sessions/999/import"), 404)


# --- jobs ---------------------------------------------------------------------

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
    photo = _wait_developed(live_server, photo_id)
    assert photo["preset"] == "Portrait_Soft"


# --- approval and export ------------------------------------------------------

def test_approval_rules_and_export_safety(live_server, tmp_path):
    ok(live_server.post("/api/queue/pause"))
    body = ok(live_server.post("/import/file", {"file_path": str(
        write_image(tmp_path / "keeper.jpg", 200, 150, seed=6))}))
    pid = body["photo_id"]
    error(live_server.post(f"/api/approval/{pid}/approve"), 409, "not_developed")
    error(live_server.post("/api/approval/999/approve"), 404)
    ok(live_server.post("/api/queue/resume"))
    _wait_developed(live_server, pid)
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
    from PIL import Image
    with Image.open(exports / "client" / "keeper.jpg") as img:
        assert max(img.size) == 100


# --- presets, system, images --------------------------------------------------

def test_presets_include_user_presets(make_server, tmp_path):
    user = tmp_path / "mine"
    user.mkdir()
    (user / "Mine.json").write_text('{"name": "Mine", "context_tags": ["standard"], '
                                    '"adjustments": {"exposure": 1.0}}')
    (user / "Broken.json").write_text('{"name": "Broken", "adjustments": {"exposure": 99}}')
    server = make_server(preset_dirs=[str(user)])
    presets = {p["name"]: p for p in ok(server.get("/api/presets"))["presets"]}
    assert {"WhiteLayer_v4", "Portrait_Soft", "Landscape_Vivid", "Mine"} <= set(presets)
    assert "Broken" not in presets
    assert presets["Mine"]["source"] == "user" and presets["Mine"]["adjustments"]["exposure"] == 1


def test_system_and_missing_images(live_server, tmp_path):
    system = ok(live_server.get("/api/system"))
    assert system["status"] in ("ok", "warning")
    assert {"cpu_percent", "memory_percent", "disk_percent", "connected_clients",
            "queue"} <= set(system["details"])
    error(live_server.get("/api/photos/999/thumbnail"), 404)
    ok(live_server.post("/api/queue/pause"))
    pid = ok(live_server.post("/import/file", {"file_path": str(
        write_image(tmp_path / "t.jpg", seed=7))}))["photo_id"]
    assert live_server.get(f"/api/photos/{pid}/thumbnail").status_code == 200
    error(live_server.get(f"/api/photos/{pid}/developed"), 404, "image_not_available")
    error(live_server.get("/api/photos", params={"status": "x"}), 400)
    error(live_server.get("/api/photos", params={"limit": "many"}), 400)
