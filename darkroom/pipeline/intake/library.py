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
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from datetime import date
from pathlib import Path
from typing import Optional

from darkroom.pipeline.errors import PipelineError

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


def _place(tmp: Path, target_dir: Path, name: str, digest: str) -> tuple[Path, bool]:
    """Give the verified copy a final name that was free (never replacing a file); whether
    it is a new file."""
    stem, suffix = os.path.splitext(name)
    for n in range(10000):
        final = target_dir / (name if n == 0 else f"{stem}_{n}{suffix}")
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
    raise copy_failed("no free name for the copy")


def copy_verified(source: Path, digest: str, folder: str, exif: Optional[dict],
                  what: str = "library") -> tuple[Path, bool]:
    """A verified copy of ``source`` (whose SHA-256 is ``digest``) under ``folder``, and
    whether it is a new file (False: that content was already there under that name)."""
    name = source.name
    target_dir = Path(folder) / day_folder(exif)
    tmp: Optional[Path] = None
    try:
        if not Path(folder).is_dir():
            raise copy_failed(f"the {what} folder does not exist")
        target_dir.mkdir(exist_ok=True)
        tmp = _write(source, target_dir, name)
        if _sha256(tmp) != digest:
            raise copy_failed(f"the {what} copy of {name} does not match the original")
        final, created = _place(tmp, target_dir, name, digest)
        tmp = None
    except PipelineError:
        log.warning("copy of %s into the %s folder failed verification", name, what)
        raise
    except OSError as exc:
        log.warning("cannot copy %s into the %s folder: %s", name, what, type(exc).__name__)
        raise copy_failed(f"cannot copy {name} into the {what} folder: "
                          f"{exc.strerror or type(exc).__name__}") from None
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
    log.info("copied %s into the %s folder, verified by SHA-256", name, what)
    return final, created
