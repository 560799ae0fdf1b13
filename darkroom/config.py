"""Settings: one dataclass, filled from defaults, a TOML file, ``DARKROOM_*`` env, then flags.

Every setting is a field of ``Config`` with three names: the key in the config
file (the field name, ``max_clients = 500``), the environment variable
(``DARKROOM_MAX_CLIENTS``) and the flag (``--max-clients``). Later sources win:
defaults < file < environment < flags. The file is ``--config PATH``
(``DARKROOM_CONFIG``) or ``darkroom.toml`` in the platform's user config
directory (platformdirs: ``~/.config/darkroom/darkroom.toml`` on Linux) when it
exists. Values are parsed strictly: ``DARKROOM_LAN=ture`` is an error, not False,
and an unknown key in the file is an error too.

Secure defaults: loopback only, no extra origins or hosts.
``explain(argv)`` says what the effective configuration is and where each value came from.
"""

from __future__ import annotations

import argparse
import os
import sys
import tomllib
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
APP_NAME = "darkroom"
CONFIG_FILE_NAME = "darkroom.toml"
CONFIG_ENV = "DARKROOM_CONFIG"

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class ConfigError(ValueError):
    """A setting that cannot be used as given (one line, names the source)."""


def _legacy_data_dir() -> Path:
    return Path.home() / ".darkroom"


def _default_data_dir() -> Path:
    """``~/.darkroom`` when it already exists (older installs), else the platform's user data dir."""
    legacy = _legacy_data_dir()
    if legacy.is_dir():
        return legacy
    from platformdirs import user_data_path

    return user_data_path(APP_NAME, appauthor=False)


def default_config_file() -> Path:
    from platformdirs import user_config_path

    return user_config_path(APP_NAME, appauthor=False) / CONFIG_FILE_NAME


def _default_pictures_dir() -> Path:
    from platformdirs import user_pictures_path

    return user_pictures_path()


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def opt(default: Any = MISSING, help: str = "", *, factory: Any = MISSING, group: str = "server",
        choices: Optional[Sequence[str]] = None, flag: Optional[str] = None, shown: Optional[str] = None,
        extra_env: Sequence[str] = (), path_list: bool = False, minimum: Optional[float] = None):
    """A ``Config`` field with what its flag, env variable and file key need to say about it."""
    meta = {"help": help, "group": group, "choices": tuple(choices) if choices else None,
            "flag": flag, "shown": shown, "extra_env": tuple(extra_env), "path_list": path_list,
            "minimum": minimum}
    if factory is not MISSING:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


GROUPS = {
    "server": "server",
    "logs": "logs",
    "security": "security (Host, Origin, LAN mode, HTTP limits)",
    "hub": "real-time hub (WebSocket, SSE, long polling) and the event log",
    "pipeline": "photo pipeline",
    "monitor": "system monitor and resource warnings",
    "studio": "studio scale (Redis event stream, PostgreSQL job queue, several processes)",
}


@dataclass
class Config:
    """Everything the app can be told. Env names are ``DARKROOM_<FIELD>`` upper-cased."""

    host: str = opt("127.0.0.1", "address to listen on; loopback only unless --lan")
    port: int = opt(5100, "port to listen on")
    data_dir: Path = opt(factory=_default_data_dir, shown="platform user data dir, or ~/.darkroom if it exists",
                         help="database, renders, thumbnails, exports, the token")
    # "gunicorn" (default on POSIX) or "werkzeug" (the fallback on Windows).
    server: str = opt("werkzeug" if sys.platform == "win32" else "gunicorn", "HTTP server",
                      choices=("gunicorn", "werkzeug"))
    log_level: str = opt("info", "log level", group="logs", choices=("debug", "info", "warning", "error"))
    log_format: str = opt("text", "log lines: text (key=value) or json (one object a line, for journald/Loki)",
                          group="logs", choices=("text", "json"))
    access_log: bool = opt(False, "log one line per HTTP request (method, path, status, ms, request id)",
                           group="logs")
    # LAN mode: bind beyond loopback, and every request needs the install's token.
    lan: bool = opt(False, "serve the studio LAN: bind beyond loopback, every request needs the token",
                    group="security")
    # Verbose logs and Flask's debug flag (never the interactive debugger); refused with lan.
    debug: bool = opt(False, "verbose logs (refused with --lan)", group="logs")

    # --- hub ---------------------------------------------------------------
    ping_interval: float = opt(15.0, "seconds between WebSocket pings; a silent peer is dropped within two",
                               group="hub")
    max_message_size: int = opt(64 * 1024, "largest inbound WebSocket message, bytes", group="hub")
    outbox_limit: int = opt(1024 * 1024, "bytes a client may fall behind before it is dropped (1013)",
                            group="hub")
    stall_timeout: float = opt(10.0, "seconds without write progress before a client is dropped (1013)",
                               group="hub")
    max_clients: int = opt(1000, "real-time clients; the next one gets HTTP 503", group="hub")
    close_linger: float = opt(2.0, "seconds a closing client may take to answer the close", group="hub")
    # Inbound limits: messages per second per client (token bucket) and its burst,
    # channels one subscribe may name.
    inbound_rate: float = opt(50.0, "inbound messages per second per client", group="hub")
    inbound_burst: int = opt(100, "inbound burst per client", group="hub")
    max_subscribe_channels: int = opt(32, "channels one subscribe may name", group="hub")
    # State events (progress, counts) per key reach clients at most once per interval.
    coalesce_interval: float = opt(0.1, "seconds between two updates of one state (progress) to a client",
                                   group="hub")
    # The durable event log that lets clients resume: newest N events, at most this old.
    log_max_events: int = opt(100_000, "event log retention: newest N events", group="hub")
    log_max_age: float = opt(24 * 3600.0, "event log retention: at most this many seconds old", group="hub")

    # --- HTTP limits and origins ---------------------------------------------
    # HTTP: largest request body, deepest JSON nesting, seconds to send the request headers.
    max_body_size: int = opt(1024 * 1024, "largest HTTP request body, bytes (413)", group="security")
    max_json_depth: int = opt(64, "deepest JSON nesting (400)", group="security")
    header_timeout: float = opt(10.0, "seconds a client has to send its request headers", group="security")
    allowed_origins: list[str] = opt(factory=list, group="security", flag="--allowed-origin",
                                     help="extra browser Origin allowed on /ws and writes (repeatable)")
    allowed_hosts: list[str] = opt(factory=list, group="security", flag="--allowed-host",
                                   help="extra Host name the server answers to (repeatable)")

    # --- pipeline ----------------------------------------------------------
    database_url: str = opt("", "SQLAlchemy URL (PostgreSQL works too)", group="pipeline",
                            shown="SQLite file in the data dir", extra_env=("DATABASE_URL",))
    # Folders imports may come from (files, session folders, hot folders); default
    # the user's Pictures folder and <data_dir>/inbox. DARKROOM_IMPORT_ROOTS is a
    # path-separator list (":" on POSIX, ";" on Windows).
    import_roots: list[str] = opt(factory=list, group="pipeline", flag="--import-root", path_list=True,
                                  shown="Pictures and <data_dir>/inbox",
                                  help=f"folder imports may come from (repeatable; env: '{os.pathsep}' list)")
    max_import_size: int = opt(2 * 1024**3, "largest file an import reads, bytes", group="pipeline")
    workers: int = opt(factory=lambda: os.cpu_count() or 2, shown="number of cores", group="pipeline",
                       minimum=0, help="develop worker threads (0: this process runs no jobs)")
    export_dirs: list[str] = opt(factory=list, group="pipeline", flag="--export-dir",
                                 shown="<data_dir>/exports and Pictures",
                                 help="folder exports may write to (repeatable; env: comma list)")
    preset_dirs: list[str] = opt(factory=list, group="pipeline", flag="--preset-dir",
                                 help="extra folder of presets, later ones win (repeatable; env: comma list)")
    hot_folder: bool = opt(True, "import files that appear in an active session's folder", group="pipeline")
    # Written into every export's IPTC and XMP unless the export request names its own.
    creator: str = opt("", "photographer named in exports (IPTC By-line, XMP dc:creator)", group="pipeline")
    copyright: str = opt("", "copyright notice written into exports", group="pipeline")
    contact: str = opt("", "contact written into exports (XMP CreatorContactInfo)", group="pipeline")
    # Ratings, flags and labels also go to an XMP sidecar beside each original
    # (Lightroom's naming: IMG_0001.CR2 -> IMG_0001.xmp), read back on re-import.
    write_sidecars: bool = opt(False, "write ratings, flags and labels to XMP sidecars beside the originals",
                               group="pipeline")

    # --- studio scale ----------------------------------------------------------
    redis_url: str = opt("", "Redis URL: the event stream every process shares (empty: in-process)",
                         group="studio", extra_env=("REDIS_URL",))
    redis_prefix: str = opt("darkroom", "prefix of every Redis key (several installs may share one Redis)",
                            group="studio")
    redis_buffer: int = opt(10_000, "events a process buffers while Redis is unreachable", group="studio")
    presence_ttl: float = opt(15.0, "seconds a process's clients stay listed in Redis without a refresh",
                              group="studio", minimum=1.0)
    media_dir: str = opt("", "renders, previews and thumbnails, shared by every process", group="studio",
                         shown="<data_dir>")
    job_lease: float = opt(30.0, "seconds a worker's claim on a job lasts without a heartbeat",
                           group="studio", minimum=1.0)

    # --- monitor -------------------------------------------------------------
    monitor_interval: float = opt(10.0, "seconds between system_status events", group="monitor")
    # resource_warning fires on sustained pressure (and re-arms 5 points below).
    cpu_warning: float = opt(90.0, "CPU percent that counts as saturated", group="monitor")
    cpu_warning_duration: float = opt(180.0, "seconds CPU must stay saturated, while a job runs late, "
                                             "before a warning", group="monitor")
    job_late_factor: float = opt(3.0, "a job runs late after this many times the usual time of its kind",
                                 group="monitor")
    memory_warning: float = opt(90.0, "memory percent used that warns", group="monitor")
    memory_warning_duration: float = opt(30.0, "seconds memory must stay that high before a warning",
                                         group="monitor")
    disk_warning: float = opt(95.0, "disk percent used (data dir) that warns", group="monitor")
    disk_warning_duration: float = opt(0.0, "seconds the disk must stay that full before a warning",
                                       group="monitor")

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).expanduser()
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'darkroom.db'}"
        if not self.export_dirs:
            self.export_dirs = [str(self.data_dir / "exports"), str(_default_pictures_dir())]
        if not self.import_roots:
            self.import_roots = [str(_default_pictures_dir()), str(self.data_dir / "inbox")]

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @classmethod
    def load(cls, argv: Optional[Sequence[str]] = None, env: Optional[Mapping[str, str]] = None) -> "Config":
        """Defaults < config file < ``DARKROOM_*`` environment < ``argv`` (flags).

        With ``argv`` (the command line) a bad value exits like a bad flag (status 2,
        one line); without it a bad value raises ``ConfigError``.
        """
        values, _ = resolve(argv, env)
        return cls(**values)


# --- sources -------------------------------------------------------------------------------

def _kind(f) -> str:
    name = str(f.type)
    for kind in ("list", "bool", "int", "float", "Path"):
        if kind in name:
            return kind
    return "str"


def env_names(f) -> tuple[str, ...]:
    return (f"DARKROOM_{f.name.upper()}", *f.metadata.get("extra_env", ()))


def flag_name(f) -> str:
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


def parse_bool(raw: str, where: str) -> bool:
    text = raw.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{where}: {raw!r} is not a boolean (use true/false, 1/0, yes/no, on/off)")


def _convert(f, raw: str, where: str):
    """A string (environment variable) as the field's type, strictly."""
    kind = _kind(f)
    try:
        if kind == "list":
            if f.metadata.get("path_list"):
                return [part for part in raw.split(os.pathsep) if part.strip()]
            return _csv(raw)
        if kind == "bool":
            return parse_bool(raw, where)
        if kind == "int":
            return _check_minimum(f, int(raw.strip()), where)
        if kind == "float":
            return _check_minimum(f, float(raw.strip()), where)
    except ValueError as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"{where}: {raw!r} is not {'an integer' if kind == 'int' else 'a number'}") from None
    value = raw
    _check_choice(f, value, where)
    return Path(value) if kind == "Path" else value


def _check_minimum(f, value, where: str):
    minimum = f.metadata.get("minimum")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{where}: {value!r} is below the least allowed, {minimum:g}")
    return value


def _check_choice(f, value, where: str) -> None:
    choices = f.metadata.get("choices")
    if choices and value not in choices:
        raise ConfigError(f"{where}: {value!r} is not one of {', '.join(choices)}")


def _from_file(f, value, where: str):
    """A TOML value as the field's type: TOML has types, so they must match."""
    kind = _kind(f)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: {value!r} is not a boolean (true or false, unquoted)")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: {value!r} is not an integer")
        return _check_minimum(f, value, where)
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: {value!r} is not a number")
        return _check_minimum(f, float(value), where)
    if kind == "list":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: {value!r} is not a list of strings")
        return list(value)
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {value!r} is not a string")
    _check_choice(f, value, where)
    return Path(value) if kind == "Path" else value


def read_file(path: Path) -> dict:
    """The settings of one TOML file (top-level keys; a ``[darkroom]`` table works too)."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {path}: not found") from None
    except OSError as exc:
        raise ConfigError(f"config file {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: {exc}") from None
    if isinstance(data.get("darkroom"), dict):
        data = {**{k: v for k, v in data.items() if k != "darkroom"}, **data["darkroom"]}
    known = {f.name: f for f in fields(Config)}
    out = {}
    for key, value in data.items():
        name = key.replace("-", "_")
        if name not in known:
            raise ConfigError(f"config file {path}: unknown key {key!r}")
        out[name] = _from_file(known[name], value, f"config file {path}: {key}")
    return out


def _split_serve(argv: Sequence[str]) -> list[str]:
    argv = list(argv)
    return argv[1:] if argv[:1] == ["serve"] else argv


def config_file_for(args_config: Optional[str], env: Mapping[str, str]) -> tuple[Optional[Path], str]:
    """(the config file to read or None, where its name came from)."""
    if args_config:
        return Path(args_config).expanduser(), "--config"
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV]).expanduser(), CONFIG_ENV
    path = default_config_file()
    return (path, "platform config dir") if path.is_file() else (None, "")


def resolve(argv: Optional[Sequence[str]] = None, env: Optional[Mapping[str, str]] = None
            ) -> tuple[dict, dict[str, str]]:
    """(field values to build a Config with, where each came from: file/env/flag names)."""
    env = os.environ if env is None else env
    parser = _parser()
    args = parser.parse_args(_split_serve(argv)) if argv is not None else None
    try:
        return _resolve(args, env)
    except ConfigError as exc:
        if argv is None:
            raise
        parser.exit(2, f"darkroom: error: {exc}\n")
        raise  # not reached


def _resolve(args, env) -> tuple[dict, dict[str, str]]:
    values: dict = {}
    sources: dict[str, str] = {}
    path, _ = config_file_for(getattr(args, "config", None), env)
    if path is not None:
        for name, value in read_file(path).items():
            values[name], sources[name] = value, f"file {path}"
    for f in fields(Config):
        for name in env_names(f):
            raw = env.get(name)
            if raw is not None and raw != "":
                values[f.name], sources[f.name] = _convert(f, raw, f"env {name}"), f"env {name}"
                break
    if args is not None:
        by_dest = {f.name: f for f in fields(Config)}
        for key, value in vars(args).items():
            if value is not None and key in by_dest:
                values[key], sources[key] = value, f"flag {flag_name(by_dest[key])}"
    return values, sources


# --- the command line --------------------------------------------------------------------------

def _shown_default(f) -> str:
    if f.metadata.get("shown"):
        return f.metadata["shown"]
    if f.default is not MISSING:
        value = f.default
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value) if value != "" else "none"
    return "none"


def _parser() -> argparse.ArgumentParser:
    from darkroom import __version__

    p = argparse.ArgumentParser(
        prog="darkroom", usage="darkroom [serve] [options]",
        description="Darkroom photo pipeline server. 'serve' (the default) starts it; "
                    "'python app.py' and 'python -m darkroom' are the same command. "
                    "Every option is also an environment variable and a key of the config file "
                    "(the field name, e.g. max_clients = 500); flags beat the environment, "
                    "which beats the file.",
        epilog=_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"darkroom {__version__}")
    p.add_argument("--config", metavar="PATH",
                   help=f"TOML config file [env {CONFIG_ENV}; default {default_config_file()} if it exists]")
    groups = {key: p.add_argument_group(title) for key, title in GROUPS.items()}
    for f in fields(Config):
        kind = _kind(f)
        envs = " or ".join(env_names(f))
        help_text = f"{f.metadata.get('help', '')} [env {envs}; default {_shown_default(f)}]"
        group = groups[f.metadata.get("group", "server")]
        kwargs: dict[str, Any] = {"dest": f.name, "help": help_text, "default": None}
        choices = f.metadata.get("choices")
        if kind == "bool":
            kwargs["action"] = argparse.BooleanOptionalAction
        elif kind == "list":
            kwargs.update(action="append", metavar=f.name.rstrip("s").upper())
        else:
            kwargs["type"] = {"int": int, "float": float, "Path": Path}.get(kind, str)
            if choices:
                kwargs["choices"] = choices
            else:
                kwargs["metavar"] = f.name.upper()
        group.add_argument(flag_name(f), **kwargs)
    return p


def _epilog() -> str:
    try:
        data_dir = str(_default_data_dir())
    except Exception:  # a platform without a home: the flag still works
        data_dir = "(none)"
    return ("Serves http://127.0.0.1:5100 by default (the dashboard at /, the API under /api, "
            "/ws for events, /healthz, /readyz, /metrics, /api/openapi.json).\n"
            f"Data directory: {data_dir}\n"
            f"Config file: {default_config_file()} (if it exists)\n"
            "'darkroom config' prints the effective configuration and where each value came from.")


def explain(argv: Optional[Sequence[str]] = None, env: Optional[Mapping[str, str]] = None) -> str:
    """The effective configuration, one ``name = value  # source`` line per setting (TOML-ish)."""
    env = os.environ if env is None else env
    values, sources = resolve(list(argv or []), env)
    config = Config(**values)
    args = _parser().parse_args(_split_serve(argv or []))
    path, how = config_file_for(args.config, env)
    lines = [f"# config file: {path} ({how})" if path else
             f"# config file: none ({default_config_file()} does not exist)"]
    width = max(len(f.name) for f in fields(Config))
    for f in fields(Config):
        value = getattr(config, f.name)
        shown = _toml_value(value)
        if f.name == "database_url":
            shown = _toml_value(_hide_password(str(value)))
        source = sources.get(f.name, "default")
        lines.append(f"{f.name.ljust(width)} = {shown}  # {source}")
    return "\n".join(lines) + "\n"


def _hide_password(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":[redacted]@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'
