"""The command line as a user runs it: ``python -m darkroom ...`` in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys

from harness import ROOT

# A developer's own settings must not point the commands at their server or token.
_CLEAN_ENV = {k: v for k, v in os.environ.items()
              if k not in ("DARKROOM_URL", "DARKROOM_TOKEN", "DARKROOM_DATA_DIR", "DARKROOM_CONFIG")}


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "darkroom", *args]


def run_cli(*args: str, timeout: float = 60, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cli_command(*args), cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**_CLEAN_ENV, **(env or {})}, stdin=subprocess.DEVNULL)


def popen_cli(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(cli_command(*args), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**_CLEAN_ENV, **(env or {})},
                            stdin=subprocess.DEVNULL)


def wait_line(stream, needle: str, lines: list[str] | None = None) -> str:
    """Read ``stream`` until a line containing ``needle`` (the process says it is ready)."""
    for line in stream:
        if lines is not None:
            lines.append(line)
        if needle in line:
            return line
    raise AssertionError(f"stream ended before {needle!r}: {''.join(lines or [])}")
