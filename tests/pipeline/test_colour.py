"""Colour management on real files: profiles, an Adobe RGB original exported to sRGB, Display
P3 and Adobe RGB, checked numerically against LittleCMS's own conversion (delta E)."""

from __future__ import annotations

import io

import numpy as np
from export_support import add_preset, approve_and_export, develop_with, import_photo
from imagegen import write_image
from PIL import Image, ImageCms
from pipeline_support import wait_developed

from darkroom.pipeline.media import colour, decode

# Media on real files: what is tested is decoding, encoding, colour and metadata, the same
# whichever database holds the rows, so SQLite only (the import, develop and export rows
# on PostgreSQL are the HTTP pipeline tests' own: test_http_import, test_session_flow...).

# Bruce Lindbloom's RGB -> XYZ (D50, Bradford) matrices.
PUBLISHED_D50 = {
    colour.ADOBE_RGB: [[0.6097559, 0.2052401, 0.1492240], [0.3111242, 0.6256560, 0.0632197],
                       [0.0194811, 0.0608902, 0.7448387]],
    colour.SRGB: [[0.4360747, 0.3850649, 0.1430804], [0.2225045, 0.7168786, 0.0606169],
                  [0.0139322, 0.0971045, 0.7141733]],
}


def lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB (D50) of sRGB pixels, through LittleCMS."""
    img = Image.fromarray(rgb.astype(np.uint8), "RGB")
    t = ImageCms.buildTransform(ImageCms.createProfile("sRGB"), ImageCms.createProfile("LAB"),
                                "RGB", "LAB")
    out = np.asarray(ImageCms.applyTransform(img, t)).astype(np.float64)
    return np.stack([out[..., 0] * 100 / 255, out[..., 1] - 128, out[..., 2] - 128], axis=-1)


def delta_e(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sqrt(((lab(a) - lab(b)) ** 2).sum(axis=-1))


def patches(width: int = 192, height: int = 128) -> np.ndarray:
    """Saturated and neutral patches: where Adobe RGB and sRGB differ most."""
    colours = [(250, 20, 20), (20, 230, 40), (30, 40, 240), (240, 220, 30), (20, 200, 210),
               (200, 40, 200), (128, 128, 128), (230, 180, 150), (60, 90, 40), (250, 250, 250),
               (10, 10, 10), (180, 100, 30)]
    out = np.zeros((height, width, 3), np.uint8)
    cols, rows = 4, 3
    for i, c in enumerate(colours):
        r, k = divmod(i, cols)
        out[r * height // rows:(r + 1) * height // rows, k * width // cols:(k + 1) * width // cols] = c
    return out


def interior(width: int = 192, height: int = 128, margin: int = 6) -> np.ndarray:
    """The patches less a margin round each (JPEG's chroma subsampling bleeds at edges)."""
    mask = np.ones((height, width), bool)
    for k in range(5):
        x = k * width // 4
        mask[:, max(0, x - margin):x + margin] = False
    for r in range(4):
        y = r * height // 3
        mask[max(0, y - margin):y + margin, :] = False
    return mask


def test_profiles_are_built_from_their_primaries():
    for name, published in PUBLISHED_D50.items():
        assert np.allclose(colour.d50_matrix(name), published, atol=5e-4), name
        parsed = colour.matrix_profile(colour.profile_bytes(name))
        assert np.allclose(parsed.matrix, published, atol=1e-3), name
    for name in colour.SPACES:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(colour.profile_bytes(name)))
        assert ImageCms.getProfileDescription(profile).strip()
    # Display P3 white and sRGB white are the same D65, adapted to D50.
    assert np.allclose(colour.d50_matrix(colour.DISPLAY_P3).sum(axis=1),
                       colour.d50_matrix(colour.SRGB).sum(axis=1), atol=1e-4)


def test_sixteen_bit_conversion_matches_littlecms():
    src = patches(48, 24)
    adobe = colour.profile_bytes(colour.ADOBE_RGB)
    reference = np.asarray(ImageCms.applyTransform(
        Image.fromarray(src), colour._transform(adobe, colour.profile_bytes(colour.SRGB))))
    deep = colour.convert(src.astype(np.uint16) * 257, adobe, colour.SRGB)
    assert deep.dtype == np.uint16
    assert delta_e((deep / 257).round(), reference).max() < 1.5


def test_previews_of_a_tagged_original_are_srgb(tmp_path):
    adobe = colour.profile_bytes(colour.ADOBE_RGB)
    path = write_image(tmp_path / "adobe.jpg", pixels=patches(), icc=adobe)
    with Image.open(path) as img:
        stored = np.asarray(img.convert("RGB"))
        reference = np.asarray(ImageCms.profileToProfile(
            img.convert("RGB"), io.BytesIO(adobe), ImageCms.createProfile("sRGB")))
    preview = decode.load(path, max_edge=1600)
    assert delta_e(preview, reference).mean() < 1.0
    assert delta_e(stored, reference).mean() > 3.0  # the profile matters for these patches


def test_adobe_rgb_original_exports_in_the_chosen_space(live_server, tmp_path):
    adobe = colour.profile_bytes(colour.ADOBE_RGB)
    path = write_image(tmp_path / "adobe.jpg", pixels=patches(), icc=adobe)
    with Image.open(path) as img:
        original = img.convert("RGB")
        stored = np.asarray(original)
        reference = np.asarray(ImageCms.profileToProfile(
            original, io.BytesIO(adobe), ImageCms.createProfile("sRGB")))
    preset = add_preset(live_server)
    pid = import_photo(live_server, path)["photo_id"]
    wait_developed(live_server, pid)
    inside = interior()
    # The develop (what the browser shows) is sRGB.
    develop_with(live_server, pid, preset)
    developed = live_server.get(f"/api/photos/{pid}/developed")
    with Image.open(io.BytesIO(developed.content)) as img:
        shown = np.asarray(img.convert("RGB"))
    # Quality 92 with 4:2:0 chroma bleeds further at the patch edges than the exports below.
    assert np.median(delta_e(shown, reference)[inside]) < 1.5

    done = approve_and_export(live_server, pid, preset, quality=100)
    with Image.open(done["output_path"]) as img:
        icc = img.info.get("icc_profile")
        assert icc == colour.profile_bytes(colour.SRGB)
        srgb_out = np.asarray(img.convert("RGB"))
    assert delta_e(srgb_out, reference)[inside].mean() < 1.5
    assert np.percentile(delta_e(srgb_out, reference)[inside], 95) < 3.0
    assert delta_e(stored, reference)[inside].mean() > 3.0  # unconverted would be far off

    done = approve_and_export(live_server, pid, preset, quality=100, color_space="display-p3")
    with Image.open(done["output_path"]) as img:
        icc = img.info.get("icc_profile")
        assert "Display P3" in colour.describe(icc)
        as_srgb = np.asarray(ImageCms.profileToProfile(img.convert("RGB"), io.BytesIO(icc),
                                                       ImageCms.createProfile("sRGB")))
    assert delta_e(as_srgb, reference)[inside].mean() < 1.5

    done = approve_and_export(live_server, pid, preset, quality=100, color_space="adobe-rgb",
                              format="tiff")
    with Image.open(done["output_path"]) as img:
        assert "Adobe RGB" in colour.describe(img.info.get("icc_profile"))
        kept = np.asarray(img.convert("RGB")).astype(int)
    assert np.abs(kept - stored.astype(int)).mean() < 1.0  # same space: pixels as they were

