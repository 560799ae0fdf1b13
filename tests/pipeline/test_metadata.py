"""Metadata in and out on real files: EXIF/GPS/XMP read with exiv2 from JPEG, TIFF, HEIC and
DNG; exports keep the original's EXIF (GPS unless stripped), carry creator and copyright as
IPTC and XMP and the preset as XMP; orientation is applied once and reset to 1."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pyexiv2
import pytest
from export_support import add_preset, approve_and_export, import_photo
from imagegen import GPS_PARIS, write_dng, write_image
from PIL import Image
from pipeline_support import wait_developed

from darkroom.pipeline.media import decode, exif, metadata

# Media on real files: what is tested is decoding, encoding, colour and metadata, the same
# whichever database holds the rows, so SQLite only (the import, develop and export rows
# on PostgreSQL are the HTTP pipeline tests' own: test_http_import, test_session_flow...).

EXPECTED = {"camera": "Darkroom TestCam 1", "lens": "TestLens 35mm F1.8", "iso": 200,
            "shutter": "1/250", "aperture": 2.8, "focal_length": 35.0,
            "capture_time": "2025-11-09T12:34:56"}


def same(a: str, b: str) -> bool:
    """EXIF values equal as text or as numbers ("0.004" is "1/250")."""
    if a == b:
        return True
    try:
        return all(abs(float(Fraction(x)) - float(Fraction(y))) < 1e-9
                   for x, y in zip(a.split(), b.split(), strict=True))
    except (ValueError, ZeroDivisionError):
        return False


def tags_of(path) -> dict:
    with pyexiv2.Image(str(path)) as img:
        return {"exif": img.read_exif(), "iptc": img.read_iptc(), "xmp": img.read_xmp()}


@pytest.mark.parametrize("name", ["a.jpg", "a.tif", "a.png", "a.heic"])
def test_exif_read_from_every_raster_format(tmp_path, name):
    path = write_image(tmp_path / name, gps=GPS_PARIS)
    tags = exif.read_exif(path)
    for key, value in EXPECTED.items():
        assert tags.get(key) == value, (name, key, tags)
    if not name.endswith(".heic"):
        gps = tags["gps"]
        assert gps["latitude"] == pytest.approx(GPS_PARIS[0], abs=1e-5)
        assert gps["longitude"] == pytest.approx(GPS_PARIS[1], abs=1e-5)
        assert gps["altitude"] == pytest.approx(GPS_PARIS[2])


def test_exif_read_from_dng_with_gps(tmp_path):
    tags = exif.read_exif(write_dng(tmp_path / "a.dng", gps=(-33.8568, -151.2153, 5.0)))
    assert tags["camera"] == "Darkroom TestCam RAW" and tags["lens"] == "TestLens 35mm F1.8"
    assert tags["iso"] == 200 and tags["shutter"] == "1/250" and tags["aperture"] == 2.8
    assert tags["capture_time"] == "2025-11-09T12:34:56"
    assert tags["gps"]["latitude"] == pytest.approx(-33.8568, abs=1e-5)
    assert tags["gps"]["longitude"] == pytest.approx(-151.2153, abs=1e-5)


def test_xmp_rating_and_label_are_read(tmp_path):
    path = write_image(tmp_path / "a.jpg")
    with pyexiv2.Image(str(path)) as img:
        img.modify_xmp({"Xmp.xmp.Rating": "4", "Xmp.xmp.Label": "Green"})
    tags = exif.read_exif(path)
    assert tags["xmp_rating"] == 4 and tags["xmp_label"] == "Green"


def test_export_keeps_exif_and_writes_rights_and_preset(live_server, tmp_path):
    path = write_image(tmp_path / "shoot.jpg", 160, 120, seed=3, gps=GPS_PARIS)
    preset = add_preset(live_server, "Warm", exposure=0.5, temperature=20, sharpening=30)
    pid = import_photo(live_server, path)["photo_id"]
    photo = wait_developed(live_server, pid)
    assert photo["exif"]["gps"]["latitude"] == pytest.approx(GPS_PARIS[0], abs=1e-5)
    done = approve_and_export(live_server, pid, preset, creator="Ada Lovelace",
                              copyright="(c) 2026 Ada Lovelace", contact="ada@example.org")
    out = tags_of(done["output_path"])
    original = tags_of(path)["exif"]
    for key in ("Exif.Image.Make", "Exif.Image.Model", "Exif.Photo.LensModel",
                "Exif.Photo.ISOSpeedRatings", "Exif.Photo.ExposureTime", "Exif.Photo.FNumber",
                "Exif.Photo.FocalLength", "Exif.Photo.DateTimeOriginal",
                "Exif.GPSInfo.GPSLatitude", "Exif.GPSInfo.GPSLongitude"):
        assert same(out["exif"][key], original[key]), key
    assert out["exif"]["Exif.Image.Orientation"] == "1"
    assert exif.read_exif(done["output_path"])["gps"]["latitude"] == pytest.approx(GPS_PARIS[0],
                                                                                   abs=1e-5)
    assert out["iptc"]["Iptc.Application2.Byline"] == ["Ada Lovelace"]
    assert out["iptc"]["Iptc.Application2.Copyright"] == "(c) 2026 Ada Lovelace"
    assert out["xmp"]["Xmp.dc.creator"] == ["Ada Lovelace"]
    assert "(c) 2026 Ada Lovelace" in str(out["xmp"]["Xmp.dc.rights"])
    assert out["xmp"]["Xmp.darkroom.Preset"] == "Warm"
    assert out["xmp"]["Xmp.crs.Exposure2012"] == "+0.50"
    assert out["xmp"]["Xmp.crs.IncrementalTemperature"] == "20"
    assert out["xmp"]["Xmp.crs.Sharpness"] == "30"
    assert "ada@example.org" in str(out["xmp"])

    stripped = approve_and_export(live_server, pid, preset, strip_location=True, format="tiff")
    tags = tags_of(stripped["output_path"])["exif"]
    assert not [k for k in tags if k.startswith("Exif.GPSInfo.")]
    assert tags["Exif.Image.Model"] == "TestCam 1"
    assert "gps" not in exif.read_exif(stripped["output_path"])


def test_export_of_a_raw_copies_its_exif_not_its_sensor_tags(live_server, tmp_path):
    path = write_dng(tmp_path / "raw.dng", 200, 140, seed=2, gps=GPS_PARIS)
    pid = import_photo(live_server, path)["photo_id"]
    wait_developed(live_server, pid)
    done = approve_and_export(live_server, pid)
    out = tags_of(done["output_path"])["exif"]
    assert out["Exif.Image.Model"] == "TestCam RAW"
    assert out["Exif.Photo.LensModel"] == "TestLens 35mm F1.8"
    assert out["Exif.Photo.ISOSpeedRatings"] == "200"
    assert "Exif.GPSInfo.GPSLatitude" in out
    assert not [k for k in out if k.endswith(("CFAPattern", "ColorMatrix1", "DNGVersion",
                                               "BlackLevel"))]


def test_orientation_applied_once_and_reset(live_server, tmp_path):
    # Stored 96 wide and 64 high, shown rotated 90 degrees clockwise: 64 x 96 upright.
    path = write_image(tmp_path / "turned.jpg", 96, 64, seed=4, orientation=6)
    assert exif.read_exif(path)["orientation"] == 6
    upright = decode.load(path)
    assert upright.shape[:2] == (96, 64)
    body = import_photo(live_server, path)
    assert (body["width"], body["height"]) == (64, 96)
    pid = body["photo_id"]
    wait_developed(live_server, pid)
    done = approve_and_export(live_server, pid, add_preset(live_server), quality=100)
    with Image.open(done["output_path"]) as img:
        assert img.size == (64, 96)
        assert img.getexif().get(0x0112) == 1
        exported = np.asarray(img.convert("RGB")).astype(int)
    assert decode.load(done["output_path"]).shape[:2] == (96, 64)  # not rotated a second time
    assert np.abs(exported - upright.astype(int)).mean() < 4


def test_export_exif_never_carries_sensor_layout():
    src = {"Exif.Image.Make": "X", "Exif.Image.StripOffsets": "8", "Exif.Image.Orientation": "8",
           "Exif.Photo.MakerNote": "1 2 3", "Exif.Photo.ExposureTime": "1/8",
           "Exif.GPSInfo.GPSLatitude": "1/1 0/1 0/1"}
    out = metadata.export_exif(src, strip_location=False)
    assert out == {"Exif.Image.Make": "X", "Exif.Photo.ExposureTime": "1/8",
                   "Exif.GPSInfo.GPSLatitude": "1/1 0/1 0/1", "Exif.Image.Orientation": "1"}
    assert "Exif.GPSInfo.GPSLatitude" not in metadata.export_exif(src, strip_location=True)


def test_the_app_settings_name_the_creator_when_the_export_does_not(make_server, tmp_path):
    server = make_server(creator="Grace Hopper", copyright="(c) 2026 Grace Hopper")
    path = write_image(tmp_path / "settings.jpg", 160, 120, seed=5)
    preset = add_preset(server, "Plain", exposure=0.1)
    pid = import_photo(server, path)["photo_id"]
    wait_developed(server, pid)
    out = tags_of(approve_and_export(server, pid, preset)["output_path"])
    assert out["iptc"]["Iptc.Application2.Byline"] == ["Grace Hopper"]
    assert out["xmp"]["Xmp.dc.creator"] == ["Grace Hopper"]
    assert "(c) 2026 Grace Hopper" in str(out["xmp"]["Xmp.dc.rights"])
