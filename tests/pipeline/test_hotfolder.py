"""The hot folder end to end: real files dropped into a watched session folder, real events.

"Nothing else was imported" is never waited out with a sleep: a sentinel photo
dropped afterwards into the same folder is imported after anything dropped
before it (one watch reports in order, an earlier file settles no later, and
the import queue is first in, first out), so once its ``photo_imported``
arrives, every earlier drop has been imported or refused.
"""

from __future__ import annotations

import os

import pytest
from imagegen import rewrite_keeping_size_and_mtime, write_image
from pipeline_support import Recorder, create_session, ok, pipeline_of

pytestmark = pytest.mark.databases


def _watched(server, folder) -> bool:
    return str(folder.resolve()) in pipeline_of(server).hotfolder.watched()


def _hot_server(make_server, tmp_path):
    folder = tmp_path / "hot"
    folder.mkdir()
    server = make_server(hot_folder=True)
    pipeline_of(server).hotfolder.arrivals.settle = 0.3
    rec = Recorder(server, ("photos", "sessions", "system"))
    session_id = create_session(server, "Hot", folder)
    server.wait_for(lambda: _watched(server, folder), what="the folder being watched")
    return server, rec, folder, session_id


def _imported(rec, name: str) -> list[dict]:
    return rec.of("photo_imported", file_name=name)


def _after_sentinel(rec, folder, name: str, seed: int) -> None:
    write_image(folder / name, seed=seed)
    rec.wait(lambda ev: _imported(rec, name), timeout=15, what=f"the sentinel {name}")


def test_a_drop_is_imported_once_and_a_touch_is_not_a_new_photo(make_server, tmp_path):
    server, rec, folder, session_id = _hot_server(make_server, tmp_path)
    source = write_image(tmp_path / "drop.jpg", 400, 300, seed=51)
    (folder / "drop.jpg").write_bytes(source.read_bytes())
    (folder / "notes.txt").write_text("not a photo")
    rec.wait(lambda ev: _imported(rec, "drop.jpg"), timeout=15, what="the hot-folder import")
    imported = _imported(rec, "drop.jpg")[0]
    assert imported["session_id"] == session_id
    os.utime(folder / "drop.jpg")  # touched: offered again, refused as a duplicate by its hash
    _after_sentinel(rec, folder, "sentinel.jpg", seed=59)
    assert len(_imported(rec, "drop.jpg")) == 1
    assert not rec.of("error_occurred"), rec.of("error_occurred")
    photos = ok(server.get("/api/photos", params={"session_id": session_id}))
    assert sorted(p["file_name"] for p in photos["photos"]) == ["drop.jpg", "sentinel.jpg"]
    rec.close()


def test_once_per_path_size_and_mtime_even_when_the_content_changed(make_server, tmp_path):
    server, rec, folder, session_id = _hot_server(make_server, tmp_path)
    drop = write_image(folder / "drop.tif", seed=61)
    rec.wait(lambda ev: _imported(rec, "drop.tif"), timeout=15, what="the first import")
    # New pixels, same path, size and mtime: by the documented rule the same file, although
    # its content hash is new, so only the hot folder's own check keeps it out.
    rewrite_keeping_size_and_mtime(drop, seed=62)
    _after_sentinel(rec, folder, "sentinel-1.jpg", seed=63)
    assert len(_imported(rec, "drop.tif")) == 1
    # Saved again with a new mtime: a new arrival, and a new photo.
    write_image(drop, seed=64)
    st = drop.stat()
    os.utime(drop, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    rec.wait(lambda ev: len(_imported(rec, "drop.tif")) == 2, timeout=15,
             what="the re-saved file imported")
    photos = ok(server.get("/api/photos", params={"session_id": session_id}))["photos"]
    hashes = {p["content_hash"] for p in photos if p["file_name"] == "drop.tif"}
    assert len(hashes) == 2
    rec.close()


def test_a_paused_session_is_not_watched(make_server, tmp_path):
    server, rec, folder, session_id = _hot_server(make_server, tmp_path)
    ok(server.patch(f"/api/sessions/{session_id}", {"status": "paused"}))
    server.wait_for(lambda: not _watched(server, folder), what="the folder unwatched")
    write_image(folder / "while-paused.jpg", seed=71)
    ok(server.patch(f"/api/sessions/{session_id}", {"status": "active"}))
    server.wait_for(lambda: _watched(server, folder), what="the folder watched again")
    _after_sentinel(rec, folder, "sentinel.jpg", seed=72)
    assert not _imported(rec, "while-paused.jpg")
    rec.close()
