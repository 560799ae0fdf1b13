"""Card trees: a folder import walks ``DCIM/100TEST/``-style subfolders, skips hidden and
system folders, and the hot folder watches the whole tree (inside the import roots)."""

from __future__ import annotations

import pytest
from imagegen import write_image
from pipeline_support import Recorder, create_session, ok, pipeline_of

pytestmark = pytest.mark.databases

IMPORTED = ["DCIM/100TEST/IMG_0001.JPG", "DCIM/100TEST/IMG_0002.JPG",
            "DCIM/101TEST/IMG_0003.tif", "MISC/cover.png", "top.jpg"]
SKIPPED_TREES = [".Trashes/501/IMG_0009.JPG", "$RECYCLE.BIN/S-1-5-21/IMG_0008.JPG",
                 "System Volume Information/IMG_0007.JPG", ".hidden/IMG_0006.JPG",
                 "DCIM/.thumbnails/IMG_0005.JPG", "DCIM/100TEST/.IMG_0004.JPG"]


def _card(root, seed: int = 700):
    for i, rel in enumerate(IMPORTED + SKIPPED_TREES):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        write_image(path, seed=seed + i)
    (root / "DCIM" / "100TEST" / "IMG_0001.XMP").write_text("<x/>")
    (root / "MISC" / "AUTPRINT.MRK").write_text("[HDR]")


def test_a_card_tree_imports_recursively_and_skips_hidden_and_system_folders(live_server,
                                                                             tmp_path):
    card = tmp_path / "card"
    _card(card)
    rec = Recorder(live_server, ("sessions", "photos"))
    session_id = create_session(live_server, "Card", card)
    body = ok(live_server.post(f"/api/sessions/{session_id}/import"), 202)
    assert body["files"] == IMPORTED
    assert body["found"] == len(IMPORTED)
    assert body["skipped"] == ["DCIM/100TEST/IMG_0001.XMP", "MISC/AUTPRINT.MRK"]
    rec.wait(lambda ev: any(e["remaining"] == 0 for e in
                            rec.of("import_progress", session_id=session_id)),
             what="the card imported")
    last = rec.of("import_progress", session_id=session_id)[-1]
    assert (last["found"], last["imported"], last["duplicates"], last["refused"]) == \
        (len(IMPORTED), len(IMPORTED), 0, 0)
    photos = ok(live_server.get("/api/photos", params={"session_id": session_id}))["photos"]
    paths = sorted(p["file_path"] for p in photos)
    assert paths == sorted(str((card / rel).resolve()) for rel in IMPORTED)
    rec.close()


def test_the_hot_folder_watches_the_tree_but_not_hidden_or_system_folders(make_server,
                                                                          tmp_path):
    folder = tmp_path / "hot"
    folder.mkdir()
    server = make_server(hot_folder=True)
    pipeline_of(server).hotfolder.arrivals.settle = 0.3
    rec = Recorder(server, ("photos", "sessions"))
    session_id = create_session(server, "Hot", folder)
    server.wait_for(lambda: str(folder.resolve()) in pipeline_of(server).hotfolder.watched(),
                    what="the folder being watched")
    # A card copied in: the subfolders appear after the watch began.
    for rel in SKIPPED_TREES[:4]:
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        write_image(folder / rel, seed=800 + len(rel))
    deep = folder / "DCIM" / "100TEST"
    deep.mkdir(parents=True)
    write_image(deep / "IMG_0001.JPG", seed=811)
    rec.wait(lambda ev: rec.of("photo_imported", file_name="IMG_0001.JPG"), timeout=15,
             what="the file in DCIM/100TEST imported")
    # A sentinel dropped afterwards: once it is in, every earlier drop was dealt with.
    write_image(deep / "sentinel.jpg", seed=812)
    rec.wait(lambda ev: rec.of("photo_imported", file_name="sentinel.jpg"), timeout=15,
             what="the sentinel")
    imported = sorted(e["file_name"] for e in rec.of("photo_imported"))
    assert imported == ["IMG_0001.JPG", "sentinel.jpg"]
    assert rec.of("photo_imported")[0]["session_id"] == session_id
    rec.close()
