"""Focused tests of the pipeline's parts: imaging, analysis, selection, presets, rendering,
database, job claiming and the monitor's hysteresis. Real files, real SQLite."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
from imagegen import scene, write_corrupt, write_dng, write_image, write_truncated_jpeg
from pipeline_support import pipeline_of
from sqlalchemy import select, text

from darkroom.db import SCHEMA_VERSION, Database, Job, Photo, PhotoSession, SchemaVersion
from darkroom.pipeline import analysis, imaging, presets, render, selection

# --- imaging ------------------------------------------------------------------


def test_load_every_format_and_downscale(tmp_path):
    for name, maker in (("a.jpg", write_image), ("a.png", write_image), ("a.tif", write_image),
                        ("a.dng", write_dng)):
        path = maker(tmp_path / name, 200, 100, seed=1)
        full = imaging.load(path)
        assert full.shape == (100, 200, 3) and full.dtype == np.uint8
        small = imaging.load(path, max_edge=50)
        assert max(small.shape[:2]) <= 50


def test_unreadable_files_are_image_errors(tmp_path):
    for path in (write_corrupt(tmp_path / "a.jpg"), write_truncated_jpeg(tmp_path / "b.jpg"),
                 write_corrupt(tmp_path / "c.dng"), write_corrupt(tmp_path / "d.png")):
        with pytest.raises(imaging.ImageError):
            imaging.load(path)
    with pytest.raises(imaging.ImageError):
        imaging.load(tmp_path / "x.gif")
    assert imaging.read_exif(write_corrupt(tmp_path / "e.jpg")) == {}


def test_exif_fields_are_normalised(tmp_path):
    exif = imaging.read_exif(write_image(tmp_path / "a.jpg", exif={
        "iso": 3200, "exposure_time": (1, 2), "f_number": (56, 10), "focal_length": (85, 1),
        "make": "Canon", "model": "Canon EOS R5", "datetime": "2024:01:02 21:30:00"}))
    assert exif == {"camera": "Canon EOS R5", "lens": "TestLens 35mm F1.8", "iso": 3200,
                    "exposure_time": 0.5, "shutter": "1/2", "aperture": 5.6,
                    "focal_length": 85.0, "capture_time": "2024-01-02T21:30:00"}


def test_encode_formats_and_resize():
    rgb = scene(300, 200, 1)
    for fmt, magic in (("jpeg", b"\xff\xd8"), ("png", b"\x89PNG"), ("tiff", b"II*\x00")):
        data = imaging.encode(rgb, fmt, quality=80, max_edge=150)
        assert data.startswith(magic)


# --- analysis -----------------------------------------------------------------


def test_sharpness_falls_when_blurred_and_noise_rises_with_noise():
    rgb = scene(256, 256, 2)
    gray = analysis.luminance(rgb)
    blurred = render.blur(gray, 3.0)
    assert analysis.laplacian_variance(gray) > 10 * analysis.laplacian_variance(blurred)
    flat = np.full((128, 128), 120.0, np.float32)
    noisy = flat + np.random.default_rng(0).normal(0, 8, flat.shape).astype(np.float32)
    assert analysis.noise_sigma(flat) == 0
    assert 6 < analysis.noise_sigma(noisy) < 10


def test_exposure_and_colour_metrics():
    dark = analysis.analyse(scene(200, 150, 3, brightness=0.1))
    bright = analysis.analyse(scene(200, 150, 3, brightness=0.9))
    assert dark["mean_luminance"] < 0.2 < 0.6 < bright["mean_luminance"]
    assert bright["clipped_highlights"] > dark["clipped_highlights"]
    assert dark["clipped_shadows"] > bright["clipped_shadows"]
    grey = np.repeat(scene(200, 150, 3)[..., :1], 3, axis=-1)
    assert analysis.colourfulness(grey) == 0
    assert analysis.analyse(scene(200, 150, 3))["colourfulness"] > 20


def test_ai_score_follows_the_documented_formula():
    m = analysis.analyse(scene(300, 200, 4), {"iso": 3200})
    s = m["scores"]
    assert s["iso"] == pytest.approx(1 - 2 / 4)
    expected = 5 * (0.35 * s["sharpness"] + 0.25 * s["exposure"] + 0.15 * s["contrast"]
                    + 0.10 * s["noise"] + 0.10 * s["colour"] + 0.05 * s["iso"])
    assert m["ai_score"] == round(expected, 2)
    assert 0 <= m["ai_score"] <= 5
    blank = analysis.analyse(np.zeros((64, 64, 3), np.uint8))
    assert blank["ai_score"] < 1.5 and blank["scores"]["exposure"] == 0


# --- selection ----------------------------------------------------------------

BASE = {"mean_luminance": 0.5, "noise": 1.0, "clipped_highlights": 0.0, "clipped_shadows": 0.0,
        "centre_luminance": 0.5, "border_luminance": 0.5, "width": 300, "height": 200}


@pytest.mark.parametrize("metrics,exif,tag", [
    ({"mean_luminance": 0.1}, {"exposure_time": 1.0}, "night"),
    ({"mean_luminance": 0.1}, {"capture_time": "2024-01-01T22:00:00"}, "night"),
    ({"mean_luminance": 0.25}, {"iso": 6400}, "low_light"),
    ({"border_luminance": 0.8, "centre_luminance": 0.4, "clipped_highlights": 0.1}, {},
     "backlit"),
    ({"mean_luminance": 0.8}, {}, "high_key"),
    ({"mean_luminance": 0.2}, {}, "low_key"),
    ({"width": 200, "height": 300}, {"focal_length": 85}, "portrait"),
    ({"width": 400, "height": 200}, {"focal_length": 24}, "landscape"),
    ({}, {"focal_length": 50}, "standard"),
])
def test_context_tags(metrics, exif, tag):
    assert selection.context_tag({**BASE, **metrics}, exif) == tag
    assert tag in selection.CONTEXT_TAGS


# --- presets ------------------------------------------------------------------


def test_shipped_presets_cover_every_tag():
    lib = presets.PresetLibrary([])
    assert lib.get("WhiteLayer_v4") is not None
    for tag in selection.CONTEXT_TAGS:
        assert tag in lib.for_tag(tag).context_tags


def test_user_presets_override_and_invalid_ones_are_skipped(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps({"name": "WhiteLayer_v4",
                                                 "adjustments": {"exposure": 2}}))
    (tmp_path / "b.json").write_text(json.dumps({"name": "MyNight", "context_tags": ["night"],
                                                 "adjustments": {"shadows": 50}}))
    (tmp_path / "c.json").write_text("{not json")
    (tmp_path / "d.json").write_text(json.dumps({"name": "X", "adjustments": {"bogus": 1}}))
    (tmp_path / "e.json").write_text(json.dumps({"name": "../evil", "adjustments": {}}))
    lib = presets.PresetLibrary([tmp_path])
    assert lib.get("WhiteLayer_v4").adjustments["exposure"] == 2
    assert lib.for_tag("night").name == "MyNight"
    assert lib.get("X") is None and lib.get("../evil") is None
    with pytest.raises(presets.PresetError):
        presets.parse({"name": "Y", "adjustments": {"sharpening": -1}})
    with pytest.raises(presets.PresetError):
        presets.parse({"name": "Y", "adjustments": {"contrast": True}})


# --- rendering ----------------------------------------------------------------


def _adj(**kw):
    return {**{k: 0.0 for k in presets.RANGES}, **kw}


def test_neutral_preset_changes_nothing():
    rgb = scene(120, 80, 5)
    out = render.render(rgb, _adj())
    assert np.abs(out.astype(int) - rgb).max() <= 1


def test_each_adjustment_moves_the_image_the_right_way():
    rgb = scene(160, 120, 6)
    mean = rgb.mean()
    assert render.render(rgb, _adj(exposure=1)).mean() > mean + 10
    assert render.render(rgb, _adj(exposure=-1)).mean() < mean - 10
    assert render.render(rgb, _adj(contrast=80)).std() > rgb.std()
    assert render.render(rgb, _adj(shadows=80)).mean() > mean
    assert render.render(rgb, _adj(highlights=-80)).mean() < mean
    warm = render.render(rgb, _adj(temperature=80))
    assert warm[..., 0].mean() > rgb[..., 0].mean() and warm[..., 2].mean() < rgb[..., 2].mean()
    assert render.render(rgb, _adj(tint=80))[..., 1].mean() < rgb[..., 1].mean()
    assert analysis.colourfulness(render.render(rgb, _adj(saturation=80))) > \
        analysis.colourfulness(rgb)
    assert analysis.colourfulness(render.render(rgb, _adj(vibrance=80))) > \
        analysis.colourfulness(rgb)
    assert analysis.laplacian_variance(analysis.luminance(render.render(rgb, _adj(
        sharpening=100)))) > analysis.laplacian_variance(analysis.luminance(rgb))
    assert render.render(rgb, _adj(clarity=80)).std() > rgb.std()
    flat = np.full((100, 100, 3), 128, np.uint8)
    vignetted = render.render(flat, _adj(vignette=-80))
    assert vignetted[0, 0].mean() < vignetted[50, 50].mean() - 20


def test_bands_report_progress_and_leave_no_seams():
    rgb = scene(300, 257, 7)
    adj = presets.PresetLibrary([]).get("Landscape_Vivid").adjustments
    seen = []
    banded = render.Renderer(rgb, adj, band_rows=20).run(lambda d, t: seen.append((d, t)))
    whole = render.Renderer(rgb, adj, band_rows=257).run()
    assert seen[-1][0] == seen[-1][1] == len(seen) == 13
    assert np.abs(banded.astype(int) - whole).max() <= 1


# --- database -----------------------------------------------------------------


def test_schema_version_wal_and_reopen(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    db = Database(url)
    assert db.create_schema() == SCHEMA_VERSION
    with db.read() as s:
        assert s.scalar(text("PRAGMA journal_mode")) == "wal"
        assert s.scalar(text("PRAGMA busy_timeout")) == 30000
    db.dispose()
    again = Database(url)
    assert again.create_schema() == SCHEMA_VERSION
    with again.read() as s:
        assert len(s.scalars(select(SchemaVersion)).all()) == 1
    again.dispose()


def test_claiming_is_atomic_under_concurrency(make_server, tmp_path):
    server = make_server(workers=1)
    p = pipeline_of(server)
    p.workers.pause()
    with p.db.write() as s:
        session = s.get(PhotoSession, 1)
        for i in range(40):
            photo = Photo(session_id=session.id, file_path=f"/x/{i}.jpg", file_name=f"{i}.jpg",
                          content_hash=f"{i:064d}", file_size=1, format="jpeg")
            s.add(photo)
            s.flush()
            s.add(Job(photo_id=photo.id, session_id=session.id, priority=1 + i % 10,
                      preset="WhiteLayer_v4"))
    claimed: list[int] = []
    lock = threading.Lock()

    def grab():
        while (ctx := p.workers.claim("test")) is not None:
            with lock:
                claimed.append(ctx.job_id)

    threads = [threading.Thread(target=grab) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert sorted(claimed) == list(range(1, 41))
    with p.db.read() as s:
        assert {j.status for j in s.scalars(select(Job))} == {"running"}
        assert all(j.attempts == 1 for j in s.scalars(select(Job)))
    # Jobs left running (as after a crash) are pending again.
    assert p.workers.recover() == 40


# --- monitor ------------------------------------------------------------------


def test_resource_warning_fires_once_per_crossing(make_server):
    from pipeline_support import Recorder

    live_server = make_server(monitor_interval=3600)  # only the ticks below
    mon = pipeline_of(live_server).monitor
    mon.thresholds = {"cpu": 1000.0, "memory": 1000.0, "disk": 1000.0}
    mon.warning = {k: False for k in mon.thresholds}
    rec = Recorder(live_server, ("system",))
    disk = mon.measure()["values"]["disk"]
    mon.thresholds["disk"] = disk - 1
    for _ in range(3):
        mon.tick()
    mon.thresholds["disk"] = disk + 1  # still within the hysteresis band: no re-arm
    mon.tick()
    mon.thresholds["disk"] = disk - 1
    mon.tick()
    mon.thresholds["disk"] = disk + 10  # well below: re-armed
    mon.tick()
    mon.thresholds["disk"] = disk - 1
    mon.tick()
    rec.wait(lambda ev: len(rec.of("resource_warning")) >= 2, what="two warnings")
    rec.drain()
    assert len(rec.of("resource_warning")) == 2
    rec.close()
