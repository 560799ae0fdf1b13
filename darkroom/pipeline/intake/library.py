"""Copy on import: a session with a ``library_folder`` keeps its own copy of every photo
(and, with a ``backup_folder``, a second one), as Lightroom's "Copy" import does.

Each copy is written to a new file created exclusively next to its final name, flushed to
disk, read back and compared with the SHA-256 of the original the importer already took;
only a copy that matches gets its final name (never replacing an existing file: ``IMG_1.jpg``
becomes ``IMG_1_1.jpg``; an existing file with the same content is the copy, so a run
that crashed after copying does not copy again). The photo then points at the library copy,
so the original (a memory card, say) is only ever read. A copy that cannot be written or
does not match is removed and the file is refused with ``copy_failed``: the import does not
count it. Copies go to ``<folder>/<capture date or today>/<file name>`` and keep the
original's modification time.

The original's XMP sidecar (``IMG_1.xmp`` or ``IMG_1.jpg.xmp``: another tool's ratings,
keywords or develop settings) travels with it, verified the same way and named after the
photo's copy (``IMG_1_1.xmp`` beside ``IMG_1_1.jpg``). A sidecar of that name already
there with other content (a RAW+JPEG pair shares ``IMG_1.xmp``) is never replaced: the
copy goes without it, with a warning, since its marks are already in the catalogue.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from datetime import date
from pathlib import Path
from typing import Iterable, Iterator, Optional

from darkroom.pipeline.errors import PipelineError
from darkroom.pipeline.media import xmp_sidecar

log = logging.getLogger("darkroom.import")

_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


def copy_failed(message: str) -> PipelineError:
    return PipelineError(409, "copy_failed", message)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fp:
        while chunk := fp.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def day_folder(exif: Optional[dict]) -> str:
    match = _DATE.match(str((exif or {}).get("capture_time") or ""))
    return "-".join(match.groups()) if match else date.today().isoformat()


def _write(source: Path, target_dir: Path, name: str) -> Path:
    """Copy ``source`` to a new temporary file in ``target_dir``; its path."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for n in range(1000):
        tmp = target_dir / f".{name}.darkroom-copy-{os.getpid()}-{n}"
        try:
            fd = os.open(tmp, flags, 0o644)
            break
        except FileExistsError:
            continue
    else:
        raise copy_failed("no temporary name for the copy")
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            while chunk := src.read(1 << 20):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        st = os.stat(source)
        os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _candidates(target_dir: Path, name: str) -> Iterator[Path]:
    """``IMG_1.jpg``, then ``IMG_1_1.jpg``, ``IMG_1_2.jpg``... in ``target_dir``."""
    stem, suffix = os.path.splitext(name)
    for n in range(10000):
        yield target_dir / (name if n == 0 else f"{stem}_{n}{suffix}")


def _place(tmp: Path, names: Iterable[Path], digest: str) -> Optional[tuple[Path, bool]]:
    """Give the verified copy ``tmp`` the first of ``names`` that is free or already holds
    this content (never replacing a file): that name, and whether it is a new file. None
    (``tmp`` left as it is) when every name holds something else."""
    for final in names:
        if final.exists():
            if final.is_file() and final.stat().st_size == tmp.stat().st_size \
                    and _sha256(final) == digest:
                tmp.unlink()
                return final, False  # this very content is already there
            continue
        try:
            os.link(tmp, final)  # fails if the name was taken meanwhile
        except FileExistsError:
            continue
        except OSError:
            if final.exists():
                continue
            os.rename(tmp, final)  # a file system without hard links
            return final, True
        tmp.unlink()
        return final, True
    return None


def _sidecar_name(source: Path, sidecar: Path, copy: Path) -> Path:
    """``sidecar``'s name for ``copy`` of ``source``: ``IMG_1.xmp`` -> ``IMG_1_1.xmp``,
    ``IMG_1.jpg.xmp`` -> ``IMG_1_1.jpg.xmp``."""
    if sidecar.name.startswith(source.name):
        return copy.with_name(copy.name + sidecar.name[len(source.name):])
    return copy.with_name(copy.stem + sidecar.suffix)


def _copy_sidecar(source: Path, copy: Path, what: str) -> Optional[Path]:
    """Copy ``source``'s sidecar, if it has one, beside ``copy``; the new file, if any."""
    sidecar = xmp_sidecar.find(source)
    if sidecar is None:
        return None
    final = _sidecar_name(source, sidecar, copy)
    digest = _sha256(sidecar)
    tmp: Optional[Path] = _write(sidecar, final.parent, final.name)
    try:
        if _sha256(tmp) != digest:
            raise copy_failed(f"the {what} copy of {sidecar.name} does not match the original")
        placed = _place(tmp, [final], digest)
        if placed is None:
            log.warning("%s in the %s folder has other content; %s copied without its "
                        "sidecar", final.name, what, copy.name)
            return None
        tmp = None
        return final if placed[1] else None
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def copy_verified(source: Path, digest: str, folder: str, exif: Optional[dict],
                  what: str = "library") -> tuple[Path, list[Path]]:
    """A verified copy of ``source`` (whose SHA-256 is ``digest``) under ``folder``, with
    its sidecar, and the files this call created (none: that content was already there)."""
    name = source.name
    target_dir = Path(folder) / day_folder(exif)
    tmp: Optional[Path] = None
    created: list[Path] = []
    try:
        if not Path(folder).is_dir():
            raise copy_failed(f"the {what} folder does not exist")
        target_dir.mkdir(exist_ok=True)
        tmp = _write(source, target_dir, name)
        if _sha256(tmp) != digest:
            raise copy_failed(f"the {what} copy of {name} does not match the original")
        placed = _place(tmp, _candidates(target_dir, name), digest)
        if placed is None:
            raise copy_failed("no free name for the copy")
        final, new = placed
        tmp = None
        created += [final] if new else []
        sidecar = _copy_sidecar(source, final, what)
        created += [sidecar] if sidecar else []
    except PipelineError:
        log.warning("copy of %s into the %s folder failed verification", name, what)
        _remove(created)
        raise
    except OSError as exc:
        log.warning("cannot copy %s into the %s folder: %s", name, what, type(exc).__name__)
        _remove(created)
        raise copy_failed(f"cannot copy {name} into the {what} folder: "
                          f"{exc.strerror or type(exc).__name__}") from None
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
    log.info("copied %s into the %s folder, verified by SHA-256", name, what)
    return final, created


def _remove(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
