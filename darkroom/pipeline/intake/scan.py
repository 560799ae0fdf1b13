"""Importing a session's folder: every supported file directly in it, queued in the
background so the request answers at once with what was found."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from darkroom.pipeline import sessions
from darkroom.pipeline.errors import PipelineError
from darkroom.pipeline.intake import roots
from darkroom.pipeline.media.formats import file_format

if TYPE_CHECKING:
    from darkroom.pipeline import Pipeline
    from darkroom.pipeline.intake.roots import ImportRoots

log = logging.getLogger("darkroom.import")


def scan_folder(folder: Path, import_roots: "ImportRoots") -> list[Path]:
    """Regular files directly in ``folder`` (which must lie inside an import root), sorted
    by name; hidden files and symlinks that lead out of the import roots are skipped."""
    found = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith(".") or not entry.is_file(follow_symlinks=True):
                continue
            if entry.is_symlink() and not import_roots.contains(os.path.realpath(entry.path)):
                continue
            found.append(Path(entry.path))
    return sorted(found, key=lambda f: f.name)


def queue_session_folder(p: "Pipeline", session_id: int) -> tuple[list[Path], list[Path]]:
    """Queue the session folder's photos for import: (queued, skipped as unsupported)."""
    with p.db.read() as s:
        folder = sessions.get(s, session_id).import_folder
    real = os.path.realpath(folder)
    if not p.import_roots.contains(real):
        # A session from before the roots (or roots changed since): never listed.
        log.warning("session %d: its folder is outside the import roots, not scanned", session_id)
        raise roots.folder_not_found()
    if not os.path.isdir(real):
        raise PipelineError(409, "folder_missing", "the session's import folder no longer exists")
    files = scan_folder(Path(real), p.import_roots)
    supported = [f for f in files if file_format(f) is not None]
    skipped = [f for f in files if file_format(f) is None]
    for path in supported:
        p.imports.submit(path, session_id)
    log.info("session %d: queued %d file(s) from its folder", session_id, len(supported))
    return supported, skipped
