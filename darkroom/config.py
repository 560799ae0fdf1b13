"""Settings: one dataclass, filled from defaults, then ``DARKROOM_*`` env, then CLI flags.

Secure defaults: loopback only, no extra origins or hosts.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Optional, Sequence

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def _default_data_dir() -> Path:
    return Path.home() / ".darkroom"


def _default_pictures_dir() -> Path:
    from platformdirs import user_pictures_path

    return user_pictures_path()


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


@dataclass
class Config:
    """Everything the app can be told. Env names are ``DARKROOM_<FIELD>`` upper-cased."""

    host: str = "127.0.0.1"
    port: int = 5100
    data_dir: Path = field(default_factory=_default_data_dir)
    # "gunicorn" (default on POSIX) or "werkzeug" (the fallback on Windows).
    server: str = "werkzeug" if sys.platform == "win32" else "gunicorn"
    log_level: str = "info"
    # LAN mode: bind beyond loopback, and every request needs the install's token.
    lan: bool = False
    # Verbose logs and Flask's debug flag (never the interactive debugger); refused with lan.
    debug: bool = False

    # --- hub ---------------------------------------------------------------
    ping_interval: float = 15.0
    max_message_size: int = 64 * 1024
    outbox_limit: int = 1024 * 1024
    stall_timeout: float = 10.0
    max_clients: int = 1000
    close_linger: float = 2.0
    # Inbound limits: messages per second per client (token bucket) and its burst,
    # channels one subscribe may name.
    inbound_rate: float = 50.0
    inbound_burst: int = 100
    max_subscribe_channels: int = 32
    # HTTP: largest request body, deepest JSON nesting, seconds to send the request headers.
    max_body_size: int = 1024 * 1024
    max_json_depth: int = 64
    header_timeout: float = 10.0
    allowed_origins: list[str] = field(default_factory=list)
    allowed_hosts: list[str] = field(default_factory=list)
    # State events (progress, counts) per key reach clients at most once per interval.
    coalesce_interval: float = 0.1
    # The durable event log that lets clients resume: newest N events, at most this old.
    log_max_events: int = 100_000
    log_max_age: float = 24 * 3600.0

    # --- pipeline ----------------------------------------------------------
    database_url: str = ""
    # Folders imports may come from (files, session folders, hot folders); default
    # the user's Pictures folder and <data_dir>/inbox. DARKROOM_IMPORT_ROOTS is a
    # path-separator list (":" on POSIX, ";" on Windows).
    import_roots: list[str] = field(default_factory=list)
    max_import_size: int = 2 * 1024**3
    workers: int = field(default_factory=lambda: os.cpu_count() or 2)
    export_dirs: list[str] = field(default_factory=list)
    preset_dirs: list[str] = field(default_factory=list)
    monitor_interval: float = 10.0
    # resource_warning fires when usage reaches these percentages (and re-arms 5 points below).
    cpu_warning: float = 90.0
    memory_warning: float = 90.0
    disk_warning: float = 90.0
    hot_folder: bool = True

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).expanduser()
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'darkroom.db'}"
        if not self.export_dirs:
            self.export_dirs = [str(self.data_dir / "exports"), str(_default_pictures_dir())]
        if not self.import_roots:
            self.import_roots = [str(_default_pictures_dir()), str(self.data_dir / "inbox")]

    @property
    def loopback_only(self) -> bool:
        return self.host in LOOPBACK_HOSTS

    @classmethod
    def load(cls, argv: Optional[Sequence[str]] = None, env: Optional[dict] = None) -> "Config":
        """Defaults, overridden by ``DARKROOM_*`` environment, overridden by ``argv``."""
        env = os.environ if env is None else env
        values: dict = {}
        for f in fields(cls):
            raw = env.get(f"DARKROOM_{f.name.upper()}")
            if raw is not None and raw != "":
                values[f.name] = _convert(f.type, raw, f.name)
        if "database_url" not in values and env.get("DATABASE_URL"):
            values["database_url"] = env["DATABASE_URL"]
        if argv is not None:
            argv = list(argv)
            if argv[:1] == ["serve"]:
                argv = argv[1:]
            args = _parser().parse_args(argv)
            for key, value in vars(args).items():
                if value is not None:
                    values[key] = value
        return cls(**values)


# Lists of paths are separated like PATH; other lists by commas.
_PATH_LISTS = frozenset({"import_roots"})


def _convert(type_name, raw: str, name: str = ""):
    type_name = str(type_name)
    if name in _PATH_LISTS:
        return [part for part in raw.split(os.pathsep) if part.strip()]
    if "list" in type_name:
        return _csv(raw)
    if "bool" in type_name:
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if "int" in type_name:
        return int(raw)
    if "float" in type_name:
        return float(raw)
    return raw


def _parser() -> argparse.ArgumentParser:
    from darkroom import __version__

    p = argparse.ArgumentParser(
        prog="darkroom", usage="darkroom [serve] [options]",
        description="Darkroom photo pipeline server. 'serve' (the default) starts it; "
                    "'python app.py' and 'python -m darkroom' are the same command.")
    p.add_argument("--version", action="version", version=f"darkroom {__version__}")
    p.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to listen on (default 5100)")
    p.add_argument("--data-dir", type=Path, help="where the database, renders and exports live")
    p.add_argument("--server", choices=("gunicorn", "werkzeug"),
                   help="HTTP server (default gunicorn; werkzeug on Windows)")
    p.add_argument("--workers", type=int, help="develop worker threads (default: cores)")
    p.add_argument("--ping-interval", type=float, help="WebSocket ping interval in seconds")
    p.add_argument("--allowed-origin", dest="allowed_origins", action="append",
                   help="extra Origin allowed on /ws (repeatable)")
    p.add_argument("--allowed-host", dest="allowed_hosts", action="append",
                   help="extra Host name the server answers to (repeatable)")
    p.add_argument("--log-level", choices=("debug", "info", "warning", "error"))
    p.add_argument("--lan", action="store_true", default=None,
                   help="serve the studio LAN: bind beyond loopback, every request needs the token")
    p.add_argument("--debug", action="store_true", default=None,
                   help="verbose logs (refused with --lan)")
    p.add_argument("--import-root", dest="import_roots", action="append",
                   help="folder imports may come from (repeatable; default Pictures and the inbox)")
    return p
