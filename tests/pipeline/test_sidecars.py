"""Marks in and out of XMP on real files: into every export's XMP (read back with pyexiv2),
into sidecars beside the originals when ``write_sidecars`` is on (atomic, other tools'
fields kept, the original untouched), and back from embedded XMP and both sidecar namings
on a re-import by another install."""

from __future__ import annotations

import hashlib

import pyexiv2
import pytest
from export_support import approve_and_export, import_photo
from imagegen import write_dng, write_image
from pipeline_support import ok, pipeline_of, wait_developed

from darkroom.db import Photo
from darkroom.pipeline.media import metadata, xmp_sidecar

# Media on real files: what is tested is decoding, encoding, colour and metadata, the same
# whichever database holds the rows, so SQLite only (the import, develop and export rows
# on PostgreSQL are the HTTP pipeline tests' own: test_http_import, test_session_flow...).


def xmp_of(path) -> dict:
    with pyexiv2.Image(str(path)) as img:
        return img.read_xmp()


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def other_tools_sidecar(path, fields: dict) -> None:
    """A sidecar as another tool would leave it."""
    path.write_bytes(xmp_sidecar.EMPTY_PACKET)
    metadata.modify_xmp_file(path, fields)


def test_marks_travel_in_the_exported_jpeg(live_server, tmp_path):
    pid = import_photo(live_server, write_image(tmp_path / "keeper.jpg", 160, 120))["photo_id"]
    wait_developed(live_server, pid)
    ok(live_server.patch(f"/api/photos/{pid}", {"rating": 4, "flag": "pick",
                                                "color_label": "purple"}))
    out = xmp_of(approve_and_export(live_server, pid)["output_path"])
    assert (out["Xmp.xmp.Rating"], out["Xmp.xmp.Label"], out["Xmp.darkroom.Flag"]) == \
        ("4", "Purple", "pick")
    # A reject is Bridge's and darktable's -1; our own field keeps the stars.
    ok(live_server.patch(f"/api/photos/{pid}", {"flag": "reject", "color_label": None}))
    out = xmp_of(approve_and_export(live_server, pid)["output_path"])
    assert (out["Xmp.xmp.Rating"], out["Xmp.darkroom.Rating"], out["Xmp.darkroom.Flag"]) == \
        ("-1", "4", "reject")
    assert "Xmp.xmp.Label" not in out
    assert metadata.marks_from_xmp(out) == {"rating": 4, "flag": "reject"}


def test_sidecars_are_written_beside_the_originals_and_read_back_on_reimport(
        make_server, tmp_path):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    jpeg = write_image(shoot / "IMG_0001.jpg", 120, 90, seed=1)
    raw = write_dng(shoot / "IMG_0002.dng", 96, 64, seed=2)
    originals = {jpeg: sha(jpeg), raw: sha(raw)}
    # Another tool's develop settings in the raw's sidecar must survive our write.
    other_tools_sidecar(shoot / "IMG_0002.xmp", {"Xmp.crs.Exposure2012": "+0.50"})
    first = make_server(write_sidecars=True)
    ids = {path: import_photo(first, path)["photo_id"] for path in (jpeg, raw)}
    ok(first.patch(f"/api/photos/{ids[jpeg]}", {"rating": 5, "color_label": "yellow"}))
    ok(first.patch("/api/photos", {"ids": [ids[raw]], "rating": 2}))
    ok(first.patch(f"/api/photos/{ids[raw]}", {"flag": "reject"}))
    jpeg_sidecar, raw_sidecar = shoot / "IMG_0001.jpg.xmp", shoot / "IMG_0002.xmp"
    assert xmp_of(jpeg_sidecar)["Xmp.xmp.Rating"] == "5"
    assert xmp_of(jpeg_sidecar)["Xmp.xmp.Label"] == "Yellow"
    raw_xmp = xmp_of(raw_sidecar)
    assert (raw_xmp["Xmp.xmp.Rating"], raw_xmp["Xmp.darkroom.Rating"]) == ("-1", "2")
    assert raw_xmp["Xmp.crs.Exposure2012"] == "+0.50"
    assert {path: sha(path) for path in originals} == originals
    assert not [p.name for p in shoot.iterdir() if p.name.startswith(".")]  # no temp left
    first.stop()

    # Another install (its own data and database) imports the same files.
    second = make_server(data_dir=tmp_path / "data2",
                         database_url=f"sqlite:///{tmp_path / 'second.db'}")
    again = {path: import_photo(second, path) for path in (jpeg, raw)}
    assert (again[jpeg]["rating"], again[jpeg]["flag"], again[jpeg]["color_label"]) == \
        (5, None, "yellow")
    assert (again[raw]["rating"], again[raw]["flag"]) == (2, "reject")
    # A photo that arrives rejected is culled, not developed.
    assert again[raw]["job_id"] is None and again[raw]["status"] == "analyzed"
    assert again[jpeg]["job_id"] is not None


def test_embedded_xmp_and_both_sidecar_namings_are_read(live_server, tmp_path):
    embedded = write_image(tmp_path / "a.jpg", 100, 80, seed=3)
    with pyexiv2.Image(str(embedded)) as img:
        img.modify_xmp({"Xmp.xmp.Rating": "2", "Xmp.xmp.Label": "Green"})
    lightroom = write_dng(tmp_path / "b.dng", 96, 64, seed=4)
    other_tools_sidecar(tmp_path / "b.xmp", {"Xmp.xmp.Rating": "3", "Xmp.xmp.Label": "Red"})
    darktable = write_image(tmp_path / "c.tif", 100, 80, seed=5)
    other_tools_sidecar(tmp_path / "c.tif.xmp", {"Xmp.xmp.Rating": "1",
                                                 "Xmp.xmp.Label": "Approved"})
    # A sidecar overrides the file's own XMP.
    both = write_image(tmp_path / "d.jpg", 100, 80, seed=6)
    with pyexiv2.Image(str(both)) as img:
        img.modify_xmp({"Xmp.xmp.Rating": "5"})
    other_tools_sidecar(tmp_path / "d.jpg.xmp", {"Xmp.xmp.Rating": "-1"})
    got = {path.name: import_photo(live_server, path)
           for path in (embedded, lightroom, darktable, both)}
    marks = {name: (b["rating"], b["flag"], b["color_label"]) for name, b in got.items()}
    assert marks == {"a.jpg": (2, None, "green"), "b.dng": (3, None, "red"),
                     "c.tif": (1, None, None), "d.jpg": (0, "reject", None)}
    photo = ok(live_server.get(f"/api/photos/{got['a.jpg']['photo_id']}"))["photo"]
    assert photo["exif"]["capture_time"] == "2025-11-09T12:34:56"


def test_captured_at_is_the_exif_capture_time(live_server, tmp_path):
    pid = import_photo(live_server, write_image(tmp_path / "a.jpg"))["photo_id"]
    with pipeline_of(live_server).db.read() as s:
        captured = s.get(Photo, pid).captured_at
    assert captured.replace(tzinfo=None).isoformat() == "2025-11-09T12:34:56"


def test_a_sidecar_name_taken_by_a_symlink_is_never_written_through(tmp_path):
    """The sidecar path beside a photo may be a symlink planted elsewhere: it is refused,
    and what it points at keeps its bytes."""
    original = write_image(tmp_path / "a.jpg")
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me")
    (tmp_path / "a.jpg.xmp").symlink_to(precious)
    with pytest.raises(OSError):
        xmp_sidecar.write_marks(original, "jpeg", 3, None, None)
    assert precious.read_text() == "keep me"
    assert xmp_sidecar.read_marks(original) == {}  # nor read through
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
