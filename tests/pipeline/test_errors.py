"""Unexpected errors: reported as error_occurred, answered as a 500 without a path; the pipeline goes on."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from imagegen import write_image
from pipeline_support import Recorder, error, ok, pipeline_of

pytestmark = pytest.mark.databases

ROOT = Path(__file__).resolve().parents[2]


def test_an_unexpected_error_is_reported_and_the_pipeline_goes_on(make_server, tmp_path):
    server = make_server(workers=1)
    p = pipeline_of(server)
    rec = Recorder(server, ("jobs", "system"))
    ok(server.post("/api/queue/pause"))
    first = ok(server.post("/import/file", {"file_path": str(write_image(tmp_path / "x.jpg",
                                                                         seed=31))}))
    second = ok(server.post("/import/file", {"file_path": str(write_image(tmp_path / "y.jpg",
                                                                          seed=32))}))
    # A directory where the developed file must go: writing fails in a way nobody expects.
    (p.render_dir / f"{first['photo_id']}.jpg").mkdir(parents=True)
    ok(server.post("/api/queue/resume"))
    rec.wait(lambda ev: rec.of("job_failed") and rec.of("job_completed"), what="both jobs")
    err = rec.of("error_occurred")[0]
    assert err["job_id"] == first["job_id"] and err["photo_id"] == first["photo_id"]
    assert err["error_type"] == "IsADirectoryError"
    assert rec.of("job_failed")[0]["error_details"]["expected"] is False
    assert rec.of("job_completed")[0]["photo_id"] == second["photo_id"]
    # Fixed, retried, done.
    (p.render_dir / f"{first['photo_id']}.jpg").rmdir()
    ok(server.post(f"/api/jobs/{first['job_id']}/retry"))
    rec.wait(lambda ev: rec.of("job_completed", job_id=first["job_id"]), what="retried job")
    job = ok(server.get(f"/api/jobs/{first['job_id']}"))["job"]
    assert job["status"] == "completed" and job["attempts"] == 2
    # The same in a request: the cache folder turned into a file.
    shutil.rmtree(p.cache_dir)
    p.cache_dir.write_text("in the way")
    photo = write_image(tmp_path / "z.jpg", seed=33)
    body = error(server.post("/import/file", {"file_path": str(photo)}), 500, "internal_error")
    assert str(p.data_dir) not in body["error"]
    rec.wait(lambda ev: any(e["error_details"]["where"] == "POST /import/file"
                            for e in rec.of("error_occurred")), what="the request's error")
    p.cache_dir.unlink()
    ok(server.post("/import/file", {"file_path": str(photo)}))
    rec.close()


DOMAIN_MODULES = (
    "darkroom.pipeline", "darkroom.pipeline.errors", "darkroom.pipeline.status",
    "darkroom.pipeline.reporter", "darkroom.pipeline.sessions", "darkroom.pipeline.approval",
    "darkroom.pipeline.photos", "darkroom.pipeline.presets", "darkroom.pipeline.selection",
    "darkroom.pipeline.monitor", "darkroom.pipeline.media.decode",
    "darkroom.pipeline.media.encode", "darkroom.pipeline.media.exif",
    "darkroom.pipeline.media.analysis", "darkroom.pipeline.media.render",
    "darkroom.pipeline.intake.importer", "darkroom.pipeline.intake.import_queue",
    "darkroom.pipeline.intake.scan", "darkroom.pipeline.intake.hotfolder",
    "darkroom.pipeline.jobs.lifecycle", "darkroom.pipeline.jobs.queue",
    "darkroom.pipeline.jobs.workers", "darkroom.pipeline.jobs.develop",
    "darkroom.pipeline.jobs.export", "darkroom.pipeline.jobs.notifier",
    "darkroom.pipeline.gallery", "darkroom.pipeline.eta", "darkroom.pipeline.media.histogram",
    "darkroom.pipeline.marks", "darkroom.pipeline.media.xmp_sidecar",
)


def test_the_domain_and_its_error_type_import_without_flask():
    code = ("import importlib, sys\n"
            f"for name in {DOMAIN_MODULES!r}:\n"
            "    importlib.import_module(name)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'werkzeug')))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=60, check=True).stdout
    assert out.strip() == "[]"


def test_a_domain_refusal_is_answered_as_the_documented_json_error(live_server, tmp_path):
    """One PipelineError raised deep in the importer, with its extra field, as JSON."""
    photo = write_image(tmp_path / "once.jpg", seed=81)
    first = ok(live_server.post("/import/file", {"file_path": str(photo)}))
    again = error(live_server.post("/import/file", {"file_path": str(photo)}), 409, "duplicate")
    assert set(again) == {"success", "code", "error", "photo_id"}
    assert again["photo_id"] == first["photo_id"]
