"""A big shoot without importing it: thousands of photo rows inserted through the server's
``Database`` in one transaction, each pointing at small real JPEG files (thumbnail, preview
and, for developed rows, a developed preview), so the gallery, the loupe and the keys work
on them exactly as on imported photos. Shared by the culling browser tests and
``bench/culling_keys.py``.

Row ``i`` is deterministic: captured three seconds after row ``i - 1``, except that every
tenth row starts a burst of three frames 0.4 s apart (unless ``bursts=False``); rating ``i % 6``; flag pick when
``i % 7 == 0``, else reject when ``i % 11 == 0``; the colour labels in turn every fourth row;
a quality score spread over 0-5; developed rows (``developed=...``) approved every 13th.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from PIL import Image

from darkroom.db import Photo

T0 = datetime(2025, 6, 14, 15, 0, 0, tzinfo=timezone.utc)
LABELS = ["red", "yellow", "green", "blue", "purple"]
FILES = 40


def pipeline_of(server):
    return server.app.extensions["darkroom_pipeline"]


def image_files(folder: Path, kind: str, size: tuple[int, int], count: int = FILES) -> list[str]:
    """``count`` small JPEGs of distinct flat colours (fast to write, and told apart on screen)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(count):
        path = folder / f"{kind}_{n:03d}.jpg"
        if not path.exists():
            colour = ((n * 53) % 256, (n * 97) % 256, (n * 151) % 256)
            Image.new("RGB", size, colour).save(path, quality=85)
        paths.append(str(path))
    return paths


def row(i: int, bursts: bool = True) -> dict:
    """The marks, capture time and score of row ``i`` (see the module's docstring); without
    ``bursts`` every row is three seconds after the one before."""
    burst_start, offset = divmod(i, 10)
    frame = offset if offset < 3 and bursts else None
    seconds = burst_start * 30 + (frame * 0.4 if frame is not None else offset * 3)
    flag = "pick" if i % 7 == 0 else "reject" if i % 11 == 0 else None
    return {"captured_at": T0 + timedelta(seconds=seconds), "rating": i % 6, "flag": flag,
            "color_label": LABELS[(i // 4) % 5] if i % 4 == 0 else None,
            "ai_score": round((i * 37 % 500) / 100, 2)}


def insert_photos(server, session_id: int, count: int, folder: Path, developed: bool = False,
                  decide: bool = True, bursts: bool = True) -> list[int]:
    """``count`` photos in session ``session_id``; their ids in capture order."""
    thumbs = image_files(folder / "thumbs", "thumb", (96, 64))
    previews = image_files(folder / "previews", "preview", (480, 320))
    tag = uuid.uuid4().hex[:8]
    photos = []
    for i in range(count):
        values = row(i, bursts)
        approved = developed and decide and i % 13 == 0
        photos.append(Photo(
            session_id=session_id, file_path=previews[i % FILES], file_name=f"IMG_{i:05d}.jpg",
            content_hash=f"cull-{tag}-{i}", file_size=1000, format="jpeg", width=480,
            height=320, exif={"camera": "Test", "iso": 100}, analysis={"sharpness": 100.0},
            context_tag="standard", preset="WhiteLayer_v4",
            status="developed" if developed else "analyzed",
            decision="approved" if approved else None,
            decided_at=T0 if approved else None,
            thumbnail_path=thumbs[i % FILES], preview_path=previews[i % FILES],
            developed_path=previews[i % FILES] if developed else None,
            developed_preview_path=previews[i % FILES] if developed else None,
            developed_thumbnail_path=thumbs[i % FILES] if developed else None,
            **values))
    with pipeline_of(server).db.write() as s:
        s.add_all(photos)
        s.flush()
        return [ph.id for ph in photos]


def new_session(server, name: str, folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    res = server.post("/api/sessions", {"name": name, "import_folder": str(folder)})
    assert res.status_code == 201, res.text
    return res.json()["session"]["id"]
