"""Formats on real files: HEIC in and out, RAW accepted by LibRaw (any LibRaw suffix), random
files refused fast, 16-bit TIFF in and out."""

from __future__ import annotations

import io
import shutil

import numpy as np
import pytest
import tifffile
from export_support import add_preset, approve_and_export, import_photo
from imagegen import write_corrupt, write_dng, write_image
from PIL import Image
from pipeline_support import error, wait_developed

from darkroom.pipeline.media import colour, decode, encode, formats

# Media on real files: what is tested is decoding, encoding, colour and metadata, the same
# whichever database holds the rows, so SQLite only (the import, develop and export rows
# on PostgreSQL are the HTTP pipeline tests' own: test_http_import, test_session_flow...).


def test_heic_imports_develops_and_exports(live_server, tmp_path):
    path = write_image(tmp_path / "IMG_0001.HEIC", 160, 120, seed=5)
    body = import_photo(live_server, path)
    assert body["format"] == "heic" and (body["width"], body["height"]) == (160, 120)
    assert body["exif"]["camera"] == "Darkroom TestCam 1" and body["exif"]["iso"] == 200
    photo = wait_developed(live_server, body["photo_id"])
    assert photo["status"] == "developed"
    developed = live_server.get(f"/api/photos/{body['photo_id']}/developed")
    with Image.open(io.BytesIO(developed.content)) as img:
        assert img.format == "JPEG" and img.size == (160, 120)
    done = approve_and_export(live_server, body["photo_id"])
    with Image.open(done["output_path"]) as img:
        assert img.format == "JPEG" and img.size == (160, 120)
    done = approve_and_export(live_server, body["photo_id"], format="heic")
    assert done["output_path"].endswith(".heic")
    with Image.open(done["output_path"]) as img:
        assert img.format == "HEIF" and img.size == (160, 120)
        assert img.getexif().get(0x0110) == "TestCam 1"


@pytest.mark.parametrize("suffix", [".hif", ".heif"])
def test_other_heif_suffixes_decode(tmp_path, suffix):
    path = write_image(tmp_path / f"a{suffix}", 64, 48, seed=1)
    assert formats.file_format(path) == suffix[1:]
    assert decode.load(path).shape == (48, 64, 3)


def test_raw_is_accepted_by_libraw_not_by_suffix(live_server, tmp_path):
    dng = write_dng(tmp_path / "a.dng", 120, 80, seed=7)
    for suffix in ("pef", "iiq", "3fr", "srw", "nrw", "erf"):
        assert formats.file_format(f"x.{suffix}") == suffix
    # A DNG container under another LibRaw suffix is decoded by content.
    pef = shutil.copy(dng, tmp_path / "b.PEF")
    assert decode.load(pef).shape == (80, 120, 3)
    body = import_photo(live_server, dng)
    assert body["format"] == "dng"
    # A file with a raw suffix that LibRaw cannot read is refused as unreadable...
    error(live_server.post("/import/file", {"file_path": str(write_corrupt(tmp_path / "c.nef"))}),
          422, "unreadable_image")
    # ...and a suffix no decoder claims is refused before anything reads it.
    other = tmp_path / "notes.xyz"
    other.write_bytes(b"hello")
    error(live_server.post("/import/file", {"file_path": str(other)}), 415)


def test_sixteen_bit_tiff_export_is_sixteen_bit(live_server, tmp_path):
    pid = import_photo(live_server, write_dng(tmp_path / "raw.dng", 160, 120, seed=8))["photo_id"]
    wait_developed(live_server, pid)
    done = approve_and_export(live_server, pid, add_preset(live_server, exposure=1.0),
                              format="tiff", bit_depth=16, color_space="adobe-rgb")
    with tifffile.TiffFile(done["output_path"]) as tif:
        page = tif.pages[0]
        assert page.dtype == np.uint16 and page.shape == (120, 160, 3)
        pixels = page.asarray()
        assert "Adobe RGB" in colour.describe(bytes(page.tags[34675].value))
    # Real 16-bit content, not 8-bit values scaled up.
    assert len(np.unique(pixels)) > 256 or np.any(pixels % 257)
    error(live_server.post("/api/export", {"photo_ids": [pid], "bit_depth": 16}), 400)
    error(live_server.post("/api/export", {"photo_ids": [pid], "bit_depth": 12,
                                           "format": "tiff"}), 400)
    error(live_server.post("/api/export", {"photo_ids": [pid], "color_space": "cmyk"}), 400)
    done = approve_and_export(live_server, pid, format="tiff")
    with Image.open(done["output_path"]) as img:
        assert img.mode == "RGB"  # the default stays 8-bit


def test_sixteen_bit_tiff_is_read_at_sixteen_bits(tmp_path):
    ramp = (np.linspace(0, 65535, 64 * 48 * 3).reshape(48, 64, 3)).astype(np.uint16)
    path = tmp_path / "deep.tif"
    tifffile.imwrite(path, ramp, photometric="rgb")
    working = decode.load_working(path)
    assert working.rgb.dtype == np.uint16 and np.array_equal(working.rgb, ramp)
    assert decode.load(path).dtype == np.uint8


def test_sixteen_bit_png_and_resize(tmp_path):
    ramp = (np.linspace(0, 65535, 64 * 48 * 3).reshape(48, 64, 3)).astype(np.uint16)
    data = encode.encode(ramp, "png", 90, max_edge=32, icc_profile=colour.profile_bytes("srgb"))
    with Image.open(io.BytesIO(data)) as img:
        assert img.size == (32, 24) and img.info.get("icc_profile")
    tif = encode.encode(ramp, "tiff", 90)
    assert tifffile.imread(io.BytesIO(tif)).dtype == np.uint16
    jpeg = encode.encode(ramp, "jpeg", 90)
    with Image.open(io.BytesIO(jpeg)) as img:
        assert img.mode == "RGB"
