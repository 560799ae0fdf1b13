"""The preset library: JSON files shipped in ``darkroom/pipeline/presets`` plus the user's own.

A preset file::

    {"name": "WhiteLayer_v4", "description": "...", "context_tags": ["standard"],
     "adjustments": {"exposure": 0.15, "contrast": 12, ...}}

Adjustments (all optional, 0 when absent): ``exposure`` in EV (-5..5);
``contrast``, ``highlights``, ``shadows``, ``temperature``, ``tint``,
``saturation``, ``vibrance``, ``clarity``, ``vignette`` in -100..100;
``sharpening`` in 0..150. Later directories override earlier ones by name
(shipped, then each of ``config.preset_dirs``, then ``<data_dir>/presets``),
so a user can replace a shipped preset or add new ones. Invalid files are
logged and skipped, never fatal.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

log = logging.getLogger("darkroom.presets")

SHIPPED_DIR = Path(__file__).resolve().parent / "presets"
DEFAULT_PRESET = "WhiteLayer_v4"
RANGES = {
    "exposure": (-5.0, 5.0), "contrast": (-100.0, 100.0), "highlights": (-100.0, 100.0),
    "shadows": (-100.0, 100.0), "temperature": (-100.0, 100.0), "tint": (-100.0, 100.0),
    "saturation": (-100.0, 100.0), "vibrance": (-100.0, 100.0), "clarity": (-100.0, 100.0),
    "vignette": (-100.0, 100.0), "sharpening": (0.0, 150.0),
}
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,99}$")
MAX_FILE_SIZE = 64 * 1024


class PresetError(ValueError):
    """A preset file that is not a valid preset."""


@dataclass(frozen=True)
class Preset:
    name: str
    adjustments: dict[str, float]
    description: str = ""
    context_tags: tuple[str, ...] = ()
    source: str = "shipped"

    def to_json(self) -> dict:
        return {"name": self.name, "description": self.description,
                "context_tags": list(self.context_tags), "adjustments": dict(self.adjustments),
                "source": self.source}


def parse(data: object, source: str = "user") -> Preset:
    """Validate a decoded preset document (types and ranges)."""
    if not isinstance(data, dict):
        raise PresetError("a preset must be a JSON object")
    name = data.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise PresetError("name must be 1-100 letters, digits, spaces, '_', '.' or '-'")
    adjustments = data.get("adjustments", {})
    if not isinstance(adjustments, dict):
        raise PresetError("adjustments must be an object")
    clean: dict[str, float] = {}
    for key, value in adjustments.items():
        if key not in RANGES:
            raise PresetError(f"unknown adjustment '{key}'")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise PresetError(f"adjustment '{key}' must be a number")
        lo, hi = RANGES[key]
        if not lo <= value <= hi:
            raise PresetError(f"adjustment '{key}' must be within {lo:g}..{hi:g}")
        clean[key] = float(value)
    for key in RANGES:
        clean.setdefault(key, 0.0)
    description = data.get("description", "")
    tags = data.get("context_tags", [])
    if not isinstance(description, str) or not isinstance(tags, list) \
            or not all(isinstance(t, str) and len(t) <= 40 for t in tags):
        raise PresetError("description must be a string and context_tags a list of strings")
    return Preset(name, clean, description[:500], tuple(tags), source)


class PresetLibrary:
    """All presets known to one app, reloaded from disk on demand."""

    def __init__(self, dirs: Iterable[Path]):
        self.dirs = [SHIPPED_DIR, *[Path(d) for d in dirs]]
        self._lock = threading.Lock()
        self._presets: dict[str, Preset] = {}
        self.reload()

    def reload(self) -> None:
        presets: dict[str, Preset] = {}
        for directory in self.dirs:
            source = "shipped" if directory == SHIPPED_DIR else "user"
            if not directory.is_dir():
                continue
            for path in sorted(directory.glob("*.json")):
                try:
                    if not path.is_file() or path.stat().st_size > MAX_FILE_SIZE:
                        raise PresetError("not a regular file of at most 64 KiB")
                    preset = parse(json.loads(path.read_text(encoding="utf-8")), source)
                except (OSError, ValueError) as exc:
                    log.warning("skipping preset file %s: %s", path, exc)
                    continue
                presets[preset.name] = preset
        with self._lock:
            changed = presets != self._presets
            self._presets = presets
        # GET /api/presets re-reads the folders: a request may not write a log line.
        if changed:
            log.info("loaded %d presets from %d directories", len(presets), len(self.dirs))

    def get(self, name: str) -> Optional[Preset]:
        with self._lock:
            return self._presets.get(name)

    def all(self) -> list[Preset]:
        with self._lock:
            return sorted(self._presets.values(), key=lambda p: p.name.lower())

    def for_tag(self, tag: str) -> Preset:
        """The preset for a context tag: a user preset claiming it first, then a shipped one,
        then the default."""
        candidates = [p for p in self.all() if tag in p.context_tags]
        candidates.sort(key=lambda p: (p.source != "user", p.name.lower()))
        if candidates:
            return candidates[0]
        default = self.get(DEFAULT_PRESET)
        if default is None:
            raise PresetError(f"no preset for '{tag}' and the default {DEFAULT_PRESET} is missing")
        return default
