"""Helpers for the metadata, colour and format tests: import a photo, develop it with a
chosen preset, approve it and export it, each step synchronised on its event."""

from __future__ import annotations

import json

from pipeline_support import Recorder, ok, pipeline_of, wait_developed

from darkroom.db import Photo

ZERO = {"exposure": 0, "contrast": 0, "highlights": 0, "shadows": 0, "temperature": 0,
        "tint": 0, "saturation": 0, "vibrance": 0, "clarity": 0, "vignette": 0, "sharpening": 0}


def add_preset(server, name: str = "Neutral", **adjustments) -> str:
    """A user preset (every adjustment 0 unless given) in the data folder's presets."""
    folder = pipeline_of(server).data_dir / "presets"
    folder.mkdir(parents=True, exist_ok=True)
    doc = {"name": name, "description": "test preset", "context_tags": [],
           "adjustments": {**ZERO, **adjustments}}
    (folder / f"{name}.json").write_text(json.dumps(doc))
    pipeline_of(server).presets.reload()
    return name


def import_photo(server, path) -> dict:
    return ok(server.post("/import/file", {"file_path": str(path)}))


def develop_with(server, photo_id: int, preset: str) -> dict:
    """The photo developed (again) with ``preset``; waits for its job_completed event."""
    rec = Recorder(server, channels=("jobs",))
    try:
        job_id = ok(server.post("/api/jobs", {"photo_id": photo_id, "preset": preset}), 201)["job_id"]
        rec.wait(lambda ev: any(e["type"] in ("job_completed", "job_failed")
                                and e.get("job_id") == job_id for e in ev),
                 what=f"job {job_id} to end")
    finally:
        rec.close()
    return wait_developed(server, photo_id)


def approve_and_export(server, photo_id: int, preset: str | None = None, **options) -> dict:
    """Approve (once) and export the photo; the export row once export_completed arrives."""
    if preset:
        with pipeline_of(server).db.write() as s:
            s.get(Photo, photo_id).preset = preset
    photo = server.get(f"/api/photos/{photo_id}").json()["photo"]
    if photo.get("decision") != "approved":
        ok(server.post(f"/api/approval/{photo_id}/approve"))
    rec = Recorder(server, channels=("export",))
    try:
        started = ok(server.post("/api/export", {"photo_ids": [photo_id], **options}), 202)
        export_id = started["exports"][0]["export_id"]
        events = rec.wait(lambda ev: any(e["type"] in ("export_completed", "export_failed")
                                         and e.get("export_id") == export_id for e in ev),
                          what=f"export {export_id}")
    finally:
        rec.close()
    done = [e for e in events if e.get("export_id") == export_id
            and e["type"] in ("export_completed", "export_failed")][-1]
    assert done["type"] == "export_completed", done
    return done
