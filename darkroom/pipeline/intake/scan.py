"""Importing a session's folder: every supported file in it and in its subfolders (a memory
card's ``DCIM/100CANON/`` tree), recorded as a durable import job before the request
answers, then imported in the background by the import queue.

Recursion rules: subfolders are walked (not followed when they are symlinks, at most
``MAX_DEPTH`` deep); hidden folders (a leading dot: ``.Trashes``, ``.Spotlight-V100``...)
and system folders (``SKIPPED_FOLDERS``: ``$RECYCLE.BIN``, ``System Volume Information``...)
are skipped with everything in them; hidden files are skipped; a symlinked file is listed
only if it leads to a file inside an import root. Files are listed by their path relative
to the folder, sorted (``IMG_1.jpg``, ``DCIM/100TEST/IMG_0001.JPG``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from darkroom.pipeline import sessions
from darkroom.pipeline.errors import PipelineError
from darkroom.pipeline.intake import items, roots
from darkroom.pipeline.media.formats import file_format

if TYPE_CHECKING:
    from darkroom.pipeline.intake.roots import ImportRoots
    from darkroom.pipeline.wiring import Pipeline

log = logging.getLogger("darkroom.import")

MAX_DEPTH = 16
# Folders that hold no photos of the user's, compared case-insensitively.
SKIPPED_FOLDERS = frozenset(name.casefold() for name in (
    "$RECYCLE.BIN", "RECYCLER", "RECYCLED", "System Volume Information", "lost+found",
    "@eaDir", "#recycle", "__MACOSX", "$Recycle.Bin",
))


def skipped_folder(name: str) -> bool:
    """A hidden or system folder that a folder import and the hot folder never enter."""
    return name.startswith(".") or name.casefold() in SKIPPED_FOLDERS


def skipped_relative(relative: str) -> bool:
    """Whether a path relative to a session folder lies in (or is) something skipped."""
    parts = Path(relative).parts
    return any(skipped_folder(part) for part in parts[:-1]) or bool(parts) \
        and parts[-1].startswith(".")


def _walk(folder: str, import_roots: "ImportRoots", depth: int) -> Iterator[str]:
    try:
        entries = list(os.scandir(folder))
    except OSError as exc:
        log.warning("cannot list a subfolder of an import: %s", type(exc).__name__)
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                if depth < MAX_DEPTH and not skipped_folder(entry.name):
                    yield from _walk(entry.path, import_roots, depth + 1)
                continue
            if not entry.is_file(follow_symlinks=True):
                continue
            if entry.is_symlink() and not import_roots.contains(os.path.realpath(entry.path)):
                continue
        except OSError:
            continue
        yield entry.path


def scan_folder(folder: Path, import_roots: "ImportRoots") -> list[Path]:
    """Regular files in ``folder`` (which must lie inside an import root) and its subfolders,
    by relative path; see the module's recursion rules."""
    found = [Path(path) for path in _walk(str(folder), import_roots, 0)]
    return sorted(found, key=lambda f: f.relative_to(folder).as_posix())


def queue_session_folder(p: "Pipeline", session_id: int) -> dict:
    """Record the session folder's photos as a durable import job and wake the import queue.

    Returns what the response says: ``found`` (supported files), ``files`` and ``skipped``
    (relative paths), ``batch``, ``queued`` (files to import: not imported before from this
    path with this size and mtime; the others are duplicates at once), and a snapshot of the
    batch's ``progress``, ``duplicates`` (``[{file, photo_id}]``) and ``refused``
    (``[{file, code, reason}]``): the queue may already be at work.
    More duplicates (the same content under another name) and refusals are found while the
    files import: ``import_progress`` counts them, ``import_rejected`` names each refusal.
    """
    with p.db.read() as s:
        folder = sessions.get(s, session_id).import_folder
    real = os.path.realpath(folder)
    if not p.import_roots.contains(real):
        # A session from before the roots (or roots changed since): never listed.
        log.warning("session %d: its folder is outside the import roots, not scanned", session_id)
        raise roots.folder_not_found()
    if not os.path.isdir(real):
        raise PipelineError(409, "folder_missing", "the session's import folder no longer exists")
    base = Path(real)
    files = scan_folder(base, p.import_roots)
    supported = [f for f in files if file_format(f) is not None]
    skipped = [f for f in files if file_format(f) is None]
    batch, known = items.record(p, session_id, supported)
    p.imports.wake()
    rel = {f: f.relative_to(base).as_posix() for f in files}
    log.info("session %d: recorded %d file(s) from its folder (batch %d, %d already imported)",
             session_id, len(supported), batch, len(known))
    items.emit_progress(p, session_id, batch)
    sessions.emit_updated(p, session_id)
    queued = len(supported) - len(known)
    return {"found": len(supported), "files": [rel[f] for f in supported],
            "skipped": [rel[f] for f in skipped], "batch": batch, "queued": queued,
            **items.details(p, session_id, batch, real)}
