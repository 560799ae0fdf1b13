"""Import roots: the folders imports may come from, and the one check every path goes through.

Roots are configuration (``--import-root``, ``DARKROOM_IMPORT_ROOTS``; by
default the user's Pictures folder), plus ``<data_dir>/inbox`` always. A path
a client names is resolved with realpath (so every symlink is followed) and
must then lie inside a root by ``os.path.commonpath``; a file must be a regular
file (no directory, FIFO, socket or device) of at most ``max_import_size``
bytes, a folder a directory. Whatever the reason a path is refused (outside
the roots, missing, a symlink out, not a regular file) the answer is the same
404 ``not_found`` with the same message, so the API cannot be used to learn
what exists on the disk. Nothing here opens a file: ``stat`` never blocks, even
on a FIFO; the importer opens with ``O_NOFOLLOW | O_NONBLOCK`` and compares
``fstat`` with the ``stat`` taken here.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import sys
from pathlib import Path
from typing import Iterable

from darkroom.pipeline.errors import PipelineError

log = logging.getLogger("darkroom.import")

MAX_PATH = 4096
FILE_NOT_FOUND = "no importable file at that path"
FOLDER_NOT_FOUND = "no import folder at that path"
# Never import from these, even if a root is misconfigured to hold them.
POSIX_FORBIDDEN = ("/dev", "/proc", "/sys")
_WINDOWS_DEVICE = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)"
                             r"\s*(\..*)?$", re.IGNORECASE)


def file_not_found() -> PipelineError:
    return PipelineError(404, "not_found", FILE_NOT_FOUND)


def folder_not_found() -> PipelineError:
    return PipelineError(404, "not_found", FOLDER_NOT_FOUND)


def check_raw(raw: str, field: str = "file_path") -> None:
    """400 ``invalid_path`` for what no file system path can be (from the string alone)."""
    if not isinstance(raw, str) or not raw or len(raw) > MAX_PATH or "\x00" in raw:
        raise PipelineError(400, "invalid_path", f"{field} must be a path of 1-{MAX_PATH} characters")


def windows_unsafe(raw: str) -> bool:
    """A Windows path that must never reach the file system: UNC (``\\\\host\\share``,
    ``//host/share``), device or long-path prefixes (``\\\\?\\``, ``\\\\.\\``), drive-relative
    (``C:foo``), alternate data streams and reserved device names in any segment. A pure
    function of the string, checked on Windows before any file system call."""
    s = raw.replace("/", "\\")
    if s.startswith("\\\\"):
        return True
    if len(s) >= 2 and s[1] == ":" and (len(s) == 2 or s[2] != "\\"):
        return True
    body = s[2:] if len(s) >= 2 and s[1] == ":" else s
    if ":" in body:
        return True
    return any(_WINDOWS_DEVICE.match(part.rstrip(" .")) for part in body.split("\\") if part)


def _norm(path: str) -> str:
    return os.path.normcase(os.path.normpath(path))


class ImportRoots:
    """The real paths of the import roots, and containment checks against them."""

    def __init__(self, roots: Iterable[str | os.PathLike], always: Iterable[str | os.PathLike] = ()):
        real: list[str] = []
        for root in [*roots, *always]:
            path = os.path.realpath(os.path.expanduser(os.fspath(root)))
            if _forbidden(path):
                log.warning("ignoring import root %s: system folders are never imported from", path)
                continue
            if path not in real:
                real.append(path)
        self.roots = real

    def contains(self, real: str) -> bool:
        """Whether the (already resolved) path ``real`` is a root or inside one."""
        if _forbidden(real):
            return False
        target = _norm(real)
        for root in self.roots:
            base = _norm(root)
            try:
                if os.path.commonpath([base, target]) == base:
                    return True
            except ValueError:  # different drives, or relative vs absolute
                continue
        return False

    def _real(self, raw: str, field: str) -> str:
        check_raw(raw, field)
        if sys.platform == "win32" and windows_unsafe(raw):
            raise PipelineError(404, "not_found",
                                FILE_NOT_FOUND if field == "file_path" else FOLDER_NOT_FOUND)
        return os.path.realpath(os.path.expanduser(raw))

    def resolve_file(self, raw: str, max_size: int) -> tuple[Path, os.stat_result]:
        """The real path of a regular file inside a root and its ``stat``; 404 ``not_found``
        for anything else, 413 ``file_too_large`` for a file over ``max_size`` bytes."""
        real = self._real(raw, "file_path")
        if not self.contains(real):
            log.info("refused import of %r: outside the import roots", raw)
            raise file_not_found()
        try:
            st = os.lstat(real)
        except (OSError, ValueError):
            raise file_not_found() from None
        if not stat.S_ISREG(st.st_mode):
            log.info("refused import of %r: not a regular file", raw)
            raise file_not_found()
        if st.st_size > max_size:
            raise PipelineError(413, "file_too_large",
                                f"the file is larger than the import limit of {max_size} bytes")
        return Path(real), st

    def resolve_folder(self, raw: str, field: str = "import_folder") -> str:
        """The real path of a folder inside a root; 404 ``not_found`` for anything else."""
        real = self._real(raw, field)
        if not self.contains(real):
            log.info("refused folder %r: outside the import roots", raw)
            raise folder_not_found()
        try:
            st = os.stat(real)
        except (OSError, ValueError):
            raise folder_not_found() from None
        if not stat.S_ISDIR(st.st_mode):
            raise folder_not_found()
        return real

    def folder_ok(self, folder: str) -> bool:
        """Whether a stored folder (a session's) is still a folder inside a root."""
        real = os.path.realpath(folder)
        return self.contains(real) and os.path.isdir(real)


def _forbidden(real: str) -> bool:
    if os.name == "nt":
        return False
    return any(real == top or real.startswith(top + "/") for top in POSIX_FORBIDDEN)
