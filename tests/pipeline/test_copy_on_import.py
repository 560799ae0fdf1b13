"""Copy on import: a session with a library folder (and a backup folder) copies every photo
there, verified by hash before the import counts it; the original is only read."""

from __future__ import annotations

import hashlib
import shutil

import pytest
from imagegen import write_image
from pipeline_support import Recorder, error, ok, wait_developed

from darkroom.pipeline.media import metadata, xmp_sidecar

pytestmark = pytest.mark.databases


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _done(rec, session_id: int, batch: int = 1) -> dict:
    rec.wait(lambda ev: any(e["remaining"] == 0 and e.get("batch") == batch
                            for e in rec.of("import_progress", session_id=session_id)),
             what=f"import {batch} done")
    return [e for e in rec.of("import_progress", session_id=session_id)
            if e.get("batch") == batch][-1]


def _sidecar(path, fields: dict):
    """A sidecar as another tool leaves it beside a photo."""
    path.write_bytes(xmp_sidecar.EMPTY_PACKET)
    metadata.modify_xmp_file(path, fields)
    return path


def test_photos_are_copied_to_the_library_and_backup_and_verified(live_server, tmp_path):
    card = tmp_path / "card" / "DCIM" / "100TEST"
    card.mkdir(parents=True)
    for i in range(3):
        write_image(card / f"IMG_{i}.jpg", seed=900 + i)  # taken 2025-11-09
    library, backup = tmp_path / "library", tmp_path / "backup"
    library.mkdir()
    backup.mkdir()
    originals = {f: (f.read_bytes(), f.stat().st_mtime_ns) for f in card.iterdir()}
    error(live_server.post("/api/sessions", {"name": "X", "import_folder": str(tmp_path / "card"),
                                             "library_folder": str(card)}), 400, "invalid_field")
    error(live_server.post("/api/sessions", {"name": "X", "import_folder": str(tmp_path / "card"),
                                             "backup_folder": str(backup)}), 400, "invalid_field")
    error(live_server.post("/api/sessions", {"name": "X", "import_folder": str(tmp_path / "card"),
                                             "library_folder": "/"}), 404, "not_found")
    body = ok(live_server.post("/api/sessions", {
        "name": "Copied", "import_folder": str(tmp_path / "card"),
        "library_folder": str(library), "backup_folder": str(backup)}), 201)
    session_id = body["session_id"]
    assert body["session"]["library_folder"] == str(library.resolve())
    assert body["session"]["backup_folder"] == str(backup.resolve())
    rec = Recorder(live_server, ("sessions", "photos", "system"))
    ok(live_server.post(f"/api/sessions/{session_id}/import"), 202)
    assert _done(rec, session_id)["imported"] == 3
    photos = ok(live_server.get("/api/photos", params={"session_id": session_id}))["photos"]
    day = "2025-11-09"
    assert sorted(p["file_path"] for p in photos) == \
        [str(library.resolve() / day / f"IMG_{i}.jpg") for i in range(3)]
    for i in range(3):
        original = card / f"IMG_{i}.jpg"
        for copy in (library / day / original.name, backup / day / original.name):
            assert _sha(copy) == _sha(original)
            assert copy.stat().st_mtime_ns == original.stat().st_mtime_ns
    for photo in photos:
        assert wait_developed(live_server, photo["id"])["status"] == "developed"
    assert {f: (f.read_bytes(), f.stat().st_mtime_ns) for f in card.iterdir()} == originals
    # No temporary file is left behind.
    assert sorted(f.name for f in (library / day).iterdir()) == [f"IMG_{i}.jpg" for i in range(3)]

    # A new photo with a name the library already has is copied under a free name.
    other = tmp_path / "card" / "other"
    other.mkdir()
    write_image(other / "IMG_0.jpg", seed=950)
    ok(live_server.post(f"/api/sessions/{session_id}/import"), 202)
    assert _done(rec, session_id, 2)["imported"] == 1
    assert _sha(library / day / "IMG_0_1.jpg") == _sha(other / "IMG_0.jpg")

    # A backup folder that is gone: the file is refused with the reason, not counted, and
    # its library copy removed again.
    shutil.rmtree(backup)
    write_image(other / "IMG_7.jpg", seed=951)
    _sidecar(other / "IMG_7.xmp", {"Xmp.xmp.Rating": "2"})
    ok(live_server.post(f"/api/sessions/{session_id}/import"), 202)
    done = _done(rec, session_id, 3)
    assert (done["imported"], done["refused"]) == (0, 1)
    refusal = [e for e in rec.of("error_occurred") if e["error_type"] == "import_rejected"][-1]
    assert refusal["error_details"]["code"] == "copy_failed"
    assert refusal["error_details"]["file_name"] == "IMG_7.jpg"
    # Trying again refuses it again; its library copy is gone once that import has finished.
    ok(live_server.post(f"/api/sessions/{session_id}/import"), 202)
    again = _done(rec, session_id, 4)
    assert (again["imported"], again["refused"]) == (0, 1)
    assert ok(live_server.get("/api/photos", params={"session_id": session_id}))["total"] == 4
    assert not (library / day / "IMG_7.jpg").exists()
    assert not (library / day / "IMG_7.xmp").exists()  # nor its sidecar's copy
    rec.close()


def test_sidecars_travel_with_their_photos_and_never_replace_a_file(live_server, tmp_path):
    card = tmp_path / "card"
    card.mkdir()
    library = tmp_path / "library"
    day = library / "2025-11-09"
    day.mkdir(parents=True)
    write_image(card / "IMG_1.jpg", seed=960)
    adobe = _sidecar(card / "IMG_1.xmp", {"Xmp.xmp.Rating": "3",
                                          "Xmp.photoshop.Headline": "First dance"})
    write_image(card / "IMG_2.jpg", seed=961)
    darktable = _sidecar(card / "IMG_2.jpg.xmp", {"Xmp.xmp.Label": "Red"})
    write_image(card / "IMG_3.jpg", seed=962)
    _sidecar(card / "IMG_3.xmp", {"Xmp.xmp.Rating": "5"})
    write_image(day / "IMG_1.jpg", seed=963)  # the name is taken: the copy is IMG_1_1.jpg
    pair = _sidecar(day / "IMG_3.xmp", {"Xmp.xmp.Rating": "1"})  # a RAW+JPEG pair's
    pair_before = pair.read_bytes()
    session_id = ok(live_server.post("/api/sessions", {
        "name": "Sidecars", "import_folder": str(card), "library_folder": str(library)}),
        201)["session_id"]
    rec = Recorder(live_server, ("sessions", "photos", "system"))
    ok(live_server.post(f"/api/sessions/{session_id}/import"), 202)
    assert _done(rec, session_id)["imported"] == 3
    photos = {p["file_name"]: p for p in ok(live_server.get(
        "/api/photos", params={"session_id": session_id}))["photos"]}
    assert photos["IMG_1.jpg"]["file_path"] == str(day.resolve() / "IMG_1_1.jpg")
    for original, copy in ((adobe, day / "IMG_1_1.xmp"), (darktable, day / "IMG_2.jpg.xmp")):
        assert _sha(copy) == _sha(original)  # every field, another tool's too
        assert copy.stat().st_mtime_ns == original.stat().st_mtime_ns
    assert pair.read_bytes() == pair_before  # never replaced
    assert (day / "IMG_3.jpg").exists()  # the photo is copied all the same
    assert (photos["IMG_1.jpg"]["rating"], photos["IMG_3.jpg"]["rating"]) == (3, 5)
    assert photos["IMG_2.jpg"]["color_label"] == "red"
    assert not [f for f in day.iterdir() if f.name.startswith(".")]  # no temporary file left
    rec.close()
