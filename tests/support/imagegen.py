"""Real test photos made on the fly: JPEG/PNG/TIFF/HEIC with EXIF (Pillow, pillow-heif), an ICC
profile, GPS and orientation (exiv2), DNG (pidng) with or without an embedded JPEG preview,
corrupt files.

Every generator takes a ``seed`` so two calls with different seeds give files
with different content hashes (the importer refuses duplicates by hash).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pillow_heif
from PIL import Image

pillow_heif.register_heif_opener()

# EXIF tag numbers (IFD0 and the Exif sub-IFD).
MAKE, MODEL, DATETIME, EXIF_IFD = 0x010F, 0x0110, 0x0132, 0x8769
EXPOSURE_TIME, FNUMBER, ISO, DATETIME_ORIGINAL = 0x829A, 0x829D, 0x8827, 0x9003
FOCAL_LENGTH, LENS_MODEL = 0x920A, 0xA434

DEFAULT_EXIF = {
    "make": "Darkroom", "model": "TestCam 1", "lens": "TestLens 35mm F1.8",
    "iso": 200, "exposure_time": (1, 250), "f_number": (28, 10), "focal_length": (35, 1),
    "datetime": "2025:11:09 12:34:56",
}


MAX_DIRECT_PIXELS = 400_000


def scene(width: int, height: int, seed: int = 0, brightness: float = 0.5) -> np.ndarray:
    """An RGB uint8 scene with gradients, edges and texture (something to analyse).

    Large scenes are drawn small and enlarged: same look, a fraction of the time.
    """
    if width * height > MAX_DIRECT_PIXELS:
        factor = (width * height / MAX_DIRECT_PIXELS) ** 0.5
        small = scene(max(8, int(width / factor)), max(8, int(height / factor)), seed,
                      brightness)
        big = Image.fromarray(small, "RGB").resize((width, height), Image.Resampling.BILINEAR)
        return np.asarray(big)
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    r = x / max(width - 1, 1)
    g = y / max(height - 1, 1)
    b = 0.5 + 0.5 * np.sin((x + y) / 9.0 + seed)
    img = np.stack([r, g, b], axis=-1)
    # Hard-edged squares give the Laplacian something to find.
    step = max(4, min(width, height) // 6)
    checker = ((x // step + y // step + seed) % 2).astype(np.float32)[..., None]
    img = 0.6 * img + 0.4 * checker
    img = img * (brightness / 0.5)
    img += rng.normal(0, 0.02, img.shape).astype(np.float32)
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


def _exif(values: dict) -> Image.Exif:
    exif = Image.Exif()
    exif[MAKE] = values["make"]
    exif[MODEL] = values["model"]
    exif[DATETIME] = values["datetime"]
    sub = exif.get_ifd(EXIF_IFD)
    sub[ISO] = values["iso"]
    sub[EXPOSURE_TIME] = values["exposure_time"][0] / values["exposure_time"][1]
    sub[FNUMBER] = values["f_number"][0] / values["f_number"][1]
    sub[FOCAL_LENGTH] = values["focal_length"][0] / values["focal_length"][1]
    sub[DATETIME_ORIGINAL] = values["datetime"]
    sub[LENS_MODEL] = values["lens"]
    return exif


def _tiff_ifd0(values: dict):
    from PIL import TiffImagePlugin

    ifd = TiffImagePlugin.ImageFileDirectory_v2()
    flat = _exif(values)
    for tag, value in [*flat.items(), *flat.get_ifd(EXIF_IFD).items()]:
        if tag != EXIF_IFD:
            ifd[tag] = value
    return ifd


GPS_PARIS = (48.858222, 2.2945, 35.0)  # latitude, longitude, altitude (m)


def _gps_tags(lat: float, lon: float, alt: float) -> dict[str, str]:
    def dms(v: float) -> str:
        v = abs(v)
        d, m = int(v), int(abs(v) * 60) % 60
        s = round((v * 3600 - d * 3600 - m * 60) * 10000)
        return f"{d}/1 {m}/1 {s}/10000"
    return {"Exif.GPSInfo.GPSVersionID": "2 3 0 0",
            "Exif.GPSInfo.GPSLatitudeRef": "N" if lat >= 0 else "S",
            "Exif.GPSInfo.GPSLatitude": dms(lat),
            "Exif.GPSInfo.GPSLongitudeRef": "E" if lon >= 0 else "W",
            "Exif.GPSInfo.GPSLongitude": dms(lon),
            "Exif.GPSInfo.GPSAltitudeRef": "0", "Exif.GPSInfo.GPSAltitude": f"{round(alt * 100)}/100"}


def add_exif_tags(path: Path, tags: dict[str, str]) -> Path:
    """Write exiv2 EXIF keys (``Exif.GPSInfo.GPSLatitude``...) into an existing file."""
    import pyexiv2

    with pyexiv2.Image(str(path)) as img:
        img.modify_exif(tags)
    return Path(path)


def write_image(path: Path, width: int = 96, height: int = 64, seed: int = 0,
                brightness: float = 0.5, exif: dict | None = None, icc: bytes | None = None,
                gps: tuple | None = None, orientation: int | None = None,
                pixels: np.ndarray | None = None) -> Path:
    """Write a JPEG, PNG, TIFF or HEIC (by suffix) with EXIF; return the path.

    ``icc`` embeds that profile (the pixels are taken as already in it), ``gps`` is
    (latitude, longitude, altitude), ``orientation`` an EXIF orientation (the stored pixels
    are then ``width`` x ``height`` as given: a viewer shows them rotated), ``pixels``
    replaces the generated scene.
    """
    path = Path(path)
    values = {**DEFAULT_EXIF, **(exif or {})}
    rgb = scene(width, height, seed, brightness) if pixels is None else pixels
    img = Image.fromarray(rgb, "RGB")
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF",
           ".heic": "HEIF", ".heif": "HEIF", ".hif": "HEIF"}
    kind = fmt[path.suffix.lower()]
    ex = _exif(values)
    if orientation and kind != "HEIF":
        ex[0x0112] = orientation
    kw = {"exif": ex}
    if kind == "TIFF":
        # Pillow's TIFF writer drops the Exif sub-IFD; TIFF/EP puts these tags in IFD0.
        kw = {"tiffinfo": _tiff_ifd0(values)}
    if kind in ("JPEG", "HEIF"):
        kw["quality"] = 90
    if icc:
        kw["icc_profile"] = icc
    if kind == "HEIF":
        kw["exif"] = ex.tobytes()
    img.save(path, kind, **kw)
    extra = {}
    if orientation and kind == "TIFF":
        extra["Exif.Image.Orientation"] = str(orientation)
    if gps and kind != "HEIF":
        extra.update(_gps_tags(*gps))
    if extra:
        add_exif_tags(path, extra)
    return path


def rewrite_keeping_size_and_mtime(path: Path, seed: int) -> Path:
    """Give an uncompressed TIFF new pixels in place, keeping its byte size and mtime: a
    different photo (another content hash) that a size-and-mtime check cannot tell apart."""
    path = Path(path)
    before = path.stat()
    fresh = path.with_name(f".fresh-{path.name}")
    with Image.open(path) as img:
        width, height = img.size
    write_image(fresh, width, height, seed=seed)
    data = fresh.read_bytes()
    fresh.unlink()
    if len(data) != before.st_size:
        raise ValueError("rewrite_keeping_size_and_mtime needs an uncompressed TIFF")
    with open(path, "r+b") as fp:
        fp.write(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    return path


def write_dng(path: Path, width: int = 96, height: int = 64, seed: int = 0,
              brightness: float = 0.5, exif: dict | None = None,
              preview_edge: int | None = None, gps: tuple | None = None) -> Path:
    """Write a real Bayer (RGGB, 12-bit) DNG with camera EXIF, readable by LibRaw.

    ``preview_edge`` embeds a JPEG preview of the scene that long (as cameras do: LibRaw's
    ``extract_thumb`` finds it), ``gps`` adds GPS tags.
    """
    from pidng.core import RAW2DNG, DNGTags, Tag
    from pidng.defs import (
        CalibrationIlluminant,
        CFAPattern,
        DNGVersion,
        Orientation,
        PhotometricInterpretation,
        PreviewColorSpace,
    )

    values = {**DEFAULT_EXIF, "model": "TestCam RAW", **(exif or {})}
    width, height = width - width % 2, height - height % 2
    rgb = scene(width, height, seed, brightness).astype(np.float32) / 255.0
    linear = rgb ** 2.2
    bpp, black, white = 12, 256, 4095
    mosaic = np.empty((height, width), np.float32)
    mosaic[0::2, 0::2] = linear[0::2, 0::2, 0]
    mosaic[0::2, 1::2] = linear[0::2, 1::2, 1]
    mosaic[1::2, 0::2] = linear[1::2, 0::2, 1]
    mosaic[1::2, 1::2] = linear[1::2, 1::2, 2]
    raw = (black + mosaic * (white - black)).astype(np.uint16)

    t = DNGTags()
    t.set(Tag.ImageWidth, width)
    t.set(Tag.ImageLength, height)
    t.set(Tag.TileWidth, width)
    t.set(Tag.TileLength, height)
    t.set(Tag.Orientation, Orientation.Horizontal)
    t.set(Tag.PhotometricInterpretation, PhotometricInterpretation.Color_Filter_Array)
    t.set(Tag.SamplesPerPixel, 1)
    t.set(Tag.BitsPerSample, bpp)
    t.set(Tag.CFARepeatPatternDim, [2, 2])
    t.set(Tag.CFAPattern, CFAPattern.RGGB)
    t.set(Tag.BlackLevel, black)
    t.set(Tag.WhiteLevel, white)
    t.set(Tag.ColorMatrix1, [[10000, 10000], [0, 10000], [0, 10000],
                             [0, 10000], [10000, 10000], [0, 10000],
                             [0, 10000], [0, 10000], [10000, 10000]])
    t.set(Tag.CalibrationIlluminant1, CalibrationIlluminant.D65)
    t.set(Tag.AsShotNeutral, [[1, 1], [1, 1], [1, 1]])
    t.set(Tag.Make, values["make"])
    t.set(Tag.Model, values["model"])
    t.set(Tag.UniqueCameraModel, f"{values['make']} {values['model']}")
    t.set(Tag.PhotographicSensitivity, values["iso"])
    t.set(Tag.ExposureTime, [list(values["exposure_time"])])
    t.set(Tag.FNumber, [list(values["f_number"])])
    t.set(Tag.FocalLength, [list(values["focal_length"])])
    t.set(Tag.DateTimeOriginal, values["datetime"])
    t.set(Tag.EXIFPhotoLensModel, values["lens"])
    t.set(Tag.DNGVersion, DNGVersion.V1_4)
    t.set(Tag.DNGBackwardVersion, DNGVersion.V1_2)
    t.set(Tag.PreviewColorSpace, PreviewColorSpace.sRGB)
    conv = RAW2DNG()
    conv.options(t, path="", compress=False)
    data = conv.convert(raw)
    Path(path).write_bytes(bytes(data))
    if preview_edge or gps:
        import pyexiv2

        with pyexiv2.Image(str(path)) as img:
            if gps:
                img.modify_exif(_gps_tags(*gps))
            if preview_edge:
                small = Image.fromarray(scene(width, height, seed, brightness), "RGB")
                small.thumbnail((preview_edge, preview_edge), Image.Resampling.BILINEAR)
                buf = io.BytesIO()
                small.save(buf, "JPEG", quality=90)
                img.modify_thumbnail(buf.getvalue())
    return Path(path)


def write_corrupt(path: Path, seed: int = 0) -> Path:
    """A file with an image suffix whose content is not an image."""
    Path(path).write_bytes(b"this is not an image " * 8 + bytes([seed % 256]) * 16)
    return Path(path)


def write_truncated_jpeg(path: Path, seed: int = 0) -> Path:
    """A JPEG cut off half way: the header parses, the pixels do not."""
    full = Path(path).with_suffix(".full.jpg")
    write_image(full, 64, 48, seed)
    data = full.read_bytes()
    full.unlink()
    Path(path).write_bytes(data[: len(data) // 3])
    return Path(path)
