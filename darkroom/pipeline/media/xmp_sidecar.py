"""XMP sidecars beside an original: read at import, written when its marks change.

Two namings are in use and both are read: Lightroom's and Camera Raw's ``IMG_0001.xmp``
(the extension replaced) and darktable's ``IMG_0001.CR2.xmp`` (the extension kept); when
both exist the newer wins. Darkroom writes Lightroom's naming for raw files, DNG included
(what Lightroom, Bridge and Camera Raw look for beside a raw), and darktable's for every
other format: Lightroom embeds XMP in a JPEG, TIFF or HEIC instead of reading a sidecar,
and ``IMG_0001.xmp`` would be shared by the two halves of a RAW+JPEG pair. A write keeps
every other field of an existing sidecar (another tool's develop settings), goes through a
temporary file in the same folder and an atomic rename, and never opens the original.
"""

from __future__ import annotations

import logging
import os
import stat
import uuid
from pathlib import Path
from typing import Any, Optional

from darkroom.pipeline.media import metadata
from darkroom.pipeline.media.formats import is_raw

log = logging.getLogger("darkroom.sidecar")

MAX_SIDECAR = 4 << 20  # a sidecar is a few KB; anything this large is not one
EMPTY_PACKET = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"></rdf:RDF></x:xmpmeta>\n'
    '<?xpacket end="w"?>\n').encode("utf-8")


def names(original: Path) -> list[Path]:
    """Every sidecar name that may belong to ``original``."""
    out = []
    for suffix in (".xmp", ".XMP"):
        out += [original.with_suffix(suffix), original.with_name(original.name + suffix)]
    return out


def target(original: Path, fmt: str) -> Path:
    """The sidecar Darkroom writes for ``original`` (see the module's docstring)."""
    return original.with_suffix(".xmp") if is_raw(fmt) else original.with_name(
        original.name + ".xmp")


def _regular(path: Path) -> Optional[os.stat_result]:
    """The file's stat when it is a regular file of sidecar size (never through a symlink)."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return st if stat.S_ISREG(st.st_mode) and st.st_size <= MAX_SIDECAR else None


def find(original: Path) -> Optional[Path]:
    """The newest sidecar of ``original``, if any."""
    found = [(st.st_mtime_ns, path) for path in names(original)
             if (st := _regular(path)) is not None]
    return max(found)[1] if found else None


def read_marks(original: Path) -> dict[str, Any]:
    """The marks (``rating``, ``flag``, ``color_label``) a sidecar of ``original`` holds."""
    sidecar = find(original)
    if sidecar is None:
        return {}
    return metadata.marks_from_xmp(metadata.read(sidecar)["xmp"])


def write_marks(original: Path, fmt: str, rating: int, flag: Optional[str],
                color_label: Optional[str]) -> Path:
    """Write the marks into ``original``'s sidecar (created if missing), atomically."""
    path = target(original, fmt)
    if path == original:
        raise ValueError("a sidecar never replaces its original")
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise OSError(f"{path.name} is not a regular file; the sidecar is not written")
    base = path.read_bytes() if st is not None and st.st_size <= MAX_SIDECAR else EMPTY_PACKET
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
    try:
        with os.fdopen(fd, "wb") as fp:
            fp.write(base)
        metadata.modify_xmp_file(temp, metadata.marks_xmp(rating, flag, color_label))
        with open(temp, "rb+") as fp:
            os.fsync(fp.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return path
