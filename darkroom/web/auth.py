"""LAN mode's authority: the install's token, the session cookie and one-time pairing links.

- The token: ``secrets.token_urlsafe(32)`` in ``<data_dir>/token`` (mode 0600),
  made on first start, replaced by ``darkroom rotate-token``. A client proves it
  with ``Authorization: Bearer <token>``, or ``?token=`` on the paths of
  ``QUERY_TOKEN_PATHS`` (``/ws``, ``/events``, ``/ws/poll``: browsers cannot set headers on
  a WebSocket or an ``EventSource``).
- The cookie: a pairing link ``/pair?code=...`` (10 minutes, once) sets an
  HttpOnly, SameSite=Strict cookie ``<nonce>.<HMAC-SHA256(token, nonce)>``: it
  is not the token (it cannot be used as a Bearer credential, a device's cookie
  is its own) and it dies with the token, so a rotation ends every session.
- A write authorised by the cookie also needs ``X-Darkroom-Request: 1`` (CSRF:
  a foreign page cannot set a custom header without a CORS preflight, which we
  never grant). A Bearer token needs no such header: no page can attach it.

Every comparison of a secret is ``hmac.compare_digest``.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import io
import ipaddress
import logging
import os
import secrets
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Optional, Sequence

from flask import Blueprint, current_app, jsonify, make_response, render_template, request

from darkroom import logs
from darkroom.config import Config
from darkroom.periodic import Periodic
from darkroom.web.errors import ApiError

log = logging.getLogger("darkroom.auth")

TOKEN_FILE = "token"
PAIR_TTL = 600.0  # seconds a pairing code stays valid
MAX_CODES = 64  # live pairing codes kept at once (the oldest go first)
COOKIE_MAX_AGE = 30 * 24 * 3600
CSRF_HEADER = "X-Darkroom-Request"
QUERY_TOKEN_PATHS = frozenset({"/ws", "/events", "/ws/poll"})
# Probes (systemd, a load balancer) have no token: /readyz gives them its status only.
# The pairing page and its stylesheet (an unpaired phone sees it), and the probes.
PUBLIC_PATHS = frozenset({"/pair", "/static/css/base.css", "/healthz", "/readyz"})
PAIR_NEXT = ("/", "/mobile")  # where a pairing link may lead
CHECK_INTERVAL = 1.0  # seconds between looks at the token file
EXTENSION = "darkroom_auth"
WILDCARDS = ("0.0.0.0", "::", "")

# What LAN mode puts on the network, said at start.
EXPOSED = ("the dashboard (/), the phone view (/mobile), the HTTP API that approves, rejects, "
           "exports and imports photos, and the event streams (/ws, /events, /ws/poll)")


# --- the token file -------------------------------------------------------------------

def token_path(data_dir: Path) -> Path:
    return Path(data_dir) / TOKEN_FILE


def read_token(path: Path) -> Optional[str]:
    try:
        value = path.read_text(encoding="ascii").strip()
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    return value or None


def _write_new(path: Path, value: str) -> None:
    """Write ``value`` to ``path`` atomically, owner-only from its first byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(value + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def ensure_token(data_dir: Path) -> str:
    """The install's token, made on first use; the file is (made) owner-only."""
    path = token_path(data_dir)
    value = read_token(path)
    if value is None:
        value = secrets.token_urlsafe(32)
        _write_new(path, value)
        log.info("token created", extra={"path": str(path)})
    elif os.name == "posix" and path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)
    return value


def rotate_token(data_dir: Path) -> str:
    """A new token in place of the old one (a running server notices within a second)."""
    value = secrets.token_urlsafe(32)
    _write_new(token_path(data_dir), value)
    return value


def same_secret(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8", "replace"))


# --- the authority of one app ------------------------------------------------------------

class Authority:
    """The current token (followed on disk), the cookie it signs, and the live pairing codes."""

    def __init__(self, config: Config, clock: Callable[[], float] = time.monotonic):
        self.lan = config.lan
        self.port = config.port
        self.path = token_path(config.data_dir)
        self.clock = clock
        self._lock = threading.Lock()
        self._token = ensure_token(config.data_dir)
        self._stat = self._stat_key()
        self._codes: dict[str, float] = {}
        self.listeners: list[Callable[[], None]] = []
        self.cookie_name = f"darkroom_session_{config.port}"
        logs.add_secret(self._token)

    # token ---------------------------------------------------------------------------

    def _stat_key(self):
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def refresh(self) -> bool:
        """Follow ``darkroom rotate-token``: True (and listeners told) when the token changed."""
        key = self._stat_key()
        if key is None or key == self._stat:
            return False
        value = read_token(self.path)
        with self._lock:
            self._stat = key
            if value is None or value == self._token:
                return False
            self._token = value
            self._codes.clear()
        logs.add_secret(value)
        log.warning("token rotated: every session that used the old one ends")
        for listener in list(self.listeners):
            try:
                listener()
            except Exception:
                log.exception("token rotation listener failed")
        return True

    def token_ok(self, given: Optional[str]) -> bool:
        return bool(given) and same_secret(given, self._token)

    # cookie --------------------------------------------------------------------------

    def _sign(self, nonce: str) -> str:
        return hmac.new(self._token.encode(), f"darkroom-session:{nonce}".encode(),
                        hashlib.sha256).hexdigest()

    def new_cookie(self) -> str:
        nonce = secrets.token_urlsafe(16)
        return f"{nonce}.{self._sign(nonce)}"

    def cookie_ok(self, value: Optional[str]) -> bool:
        if not value or value.count(".") != 1:
            return False
        nonce, signature = value.split(".")
        return bool(nonce) and same_secret(signature, self._sign(nonce))

    # pairing codes -----------------------------------------------------------------------

    def new_code(self) -> str:
        code = secrets.token_urlsafe(16)
        now = self.clock()
        with self._lock:
            for old in [c for c, expiry in self._codes.items() if expiry <= now]:
                del self._codes[old]
            while len(self._codes) >= MAX_CODES:
                del self._codes[next(iter(self._codes))]
            self._codes[code] = now + PAIR_TTL
        return code

    def redeem(self, code: Optional[str]) -> bool:
        """True once for a live code; never again, and never after its 10 minutes."""
        if not code:
            return False
        now = self.clock()
        with self._lock:
            match = next((c for c in self._codes if same_secret(code, c)), None)
            if match is None:
                return False
            expiry = self._codes.pop(match)
        return now < expiry

    # requests ----------------------------------------------------------------------------

    def authenticate(self, req) -> Optional[str]:
        """How ``req`` proved the token: ``"bearer"``, ``"query"``, ``"cookie"`` or None."""
        self.refresh()
        scheme, _, credential = req.headers.get("Authorization", "").strip().partition(" ")
        if scheme.lower() == "bearer" and self.token_ok(credential.strip()):
            return "bearer"
        if req.path in QUERY_TOKEN_PATHS and self.token_ok(req.args.get("token")):
            return "query"
        if self.cookie_ok(req.cookies.get(self.cookie_name)):
            return "cookie"
        return None


def authority(app=None) -> Authority:
    return (app or current_app).extensions[EXTENSION]


# --- modes and addresses ------------------------------------------------------------------

def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def machine_addresses() -> list[str]:
    """This machine's IP addresses (every interface), lower-case, without IPv6 zone ids."""
    import socket

    import psutil

    out = []
    for entries in psutil.net_if_addrs().values():
        for entry in entries:
            if entry.family in (socket.AF_INET, socket.AF_INET6) and entry.address:
                out.append(entry.address.split("%", 1)[0].lower())
    return out


def lan_address(config: Config) -> str:
    """The address a phone should use: the bound one, else this machine's first LAN IPv4."""
    if config.host not in WILDCARDS:
        return config.host
    candidates = []
    for address in machine_addresses():
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            continue
        if ip.version == 4 and not (ip.is_loopback or ip.is_link_local):
            candidates.append((not ip.is_private, address))
    return min(candidates)[1] if candidates else "127.0.0.1"


def base_url(host: str, port: int) -> str:
    host = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{host}:{port}"


def pairing_url(base: str, code: str, next_page: str = "/mobile") -> str:
    return f"{base}/pair?code={code}&next={next_page}"


def start_problem(config: Config) -> Optional[str]:
    """Why the server must not start with ``config`` (one line), or None."""
    if config.debug and config.lan:
        return "--debug is refused with --lan: debug output is for a server only this machine can reach"
    if not config.lan and not is_loopback(config.host):
        return (f"refusing to listen on {config.host} without --lan: that exposes the dashboard and "
                f"the API to the network; start with --lan (or DARKROOM_LAN=1) to opt in, and every "
                f"request will need the install's token")
    return None


def lan_host(config: Config, argv: Sequence[str], env=None) -> str:
    """The address to bind: in LAN mode 0.0.0.0 unless ``--host`` or ``DARKROOM_HOST`` chose one."""
    env = os.environ if env is None else env
    if not config.lan or env.get("DARKROOM_HOST"):
        return config.host
    probe = Config.load(argv, env={**env, "DARKROOM_HOST": "\x00unset"})
    return "0.0.0.0" if probe.host == "\x00unset" else config.host


# --- the terminal ------------------------------------------------------------------------

def announce(config: Config, auth: Authority, out=None) -> None:
    """Say what LAN mode exposes, and print a fresh pairing link and its QR code."""
    import segno

    out = out or sys.stderr
    where = base_url(lan_address(config), config.port)
    log.warning(f"LAN mode: {EXPOSED} are reachable from the network at {where}; every request "
                f"needs the install's token ({auth.path}) or a paired device's cookie")
    link = pairing_url(where, auth.new_code())
    print(f"\nPair a phone or browser (the link works once, for {int(PAIR_TTL // 60)} minutes; "
          f"the dashboard shows fresh codes):\n  {link}\n", file=out, flush=True)
    segno.make(link, error="m").terminal(out=out, compact=True)
    print("", file=out, flush=True)


class TokenWatcher(Periodic):
    """Looks at the token file every second, so a rotation ends sessions without a request."""

    def __init__(self, auth: Authority):
        super().__init__("token-watch", CHECK_INTERVAL, first=CHECK_INTERVAL)
        self.auth = auth

    def tick(self) -> None:
        self.auth.refresh()


class LanAnnouncer:
    """A runtime service: the LAN warning and pairing link when the app starts."""

    def __init__(self, config: Config, auth: Authority):
        self.config = config
        self.auth = auth

    def start(self) -> None:
        announce(self.config, self.auth)

    def stop(self) -> None:
        pass


def install(app, config: Config, runtime) -> Authority:
    """The app's authority; in LAN mode the watcher, the announcement and the pairing routes."""
    auth = Authority(config)
    app.extensions[EXTENSION] = auth
    app.register_blueprint(bp)
    if config.lan:
        hub = runtime.hub

        def end_sessions() -> None:
            clients = hub.clients()
            for client in clients:
                hub.close(client, 1008, "token rotated")
            log.warning("sessions ended", extra={"clients": len(clients)})
            announce(config, auth)

        auth.listeners.append(end_sessions)
        runtime.add(TokenWatcher(auth))
        runtime.add(LanAnnouncer(config, auth))
    return auth


# --- routes ------------------------------------------------------------------------------

bp = Blueprint("auth", __name__)


def _lan_only(auth: Authority) -> None:
    if not auth.lan:
        raise ApiError(404, "not_found", "pairing is for LAN mode (--lan)")


@bp.get("/pair")
def pair():
    """A one-time pairing link: sets the session cookie, then goes to ``next`` (/ or /mobile)."""
    auth = authority()
    _lan_only(auth)
    next_page = request.args.get("next", "/")
    if next_page not in PAIR_NEXT:
        next_page = "/"
    if not auth.redeem(request.args.get("code")):
        response = make_response(render_template("pair.html", paired=False), 403)
    else:
        # A page, not a 303: a navigation that began on another site (a QR scanner) would
        # not carry a SameSite=Strict cookie through a redirect; a refresh from here does.
        response = make_response(render_template("pair.html", paired=True, next_page=next_page))
        response.set_cookie(auth.cookie_name, auth.new_cookie(), max_age=COOKIE_MAX_AGE,
                            path="/", httponly=True, samesite="Strict")
        log.info("device paired", extra={"remote": request.remote_addr})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/api/pairing")
def new_pairing():
    """A fresh pairing link and its QR code (SVG) for an authorised client (the dashboard)."""
    import segno

    auth = authority()
    _lan_only(auth)
    config = current_app.extensions["darkroom"].config
    from darkroom.web.security import split_host

    host = (split_host(request.host) or ("127.0.0.1", None))[0]
    if is_loopback(host):
        host = lan_address(config)
    next_page = request.get_json(silent=True) or {}
    next_page = next_page.get("next", "/mobile") if isinstance(next_page, dict) else "/mobile"
    if next_page not in PAIR_NEXT:
        next_page = "/mobile"
    link = pairing_url(base_url(host, config.port), auth.new_code(), next_page)
    buf = io.BytesIO()
    segno.make(link, error="m").save(buf, kind="svg", scale=4, dark="#111", light="#fff",
                                     xmldecl=False)
    response = jsonify({"success": True, "url": link, "svg": buf.getvalue().decode(), "expires_in": int(PAIR_TTL)})
    response.headers["Cache-Control"] = "no-store"
    return response


# --- darkroom rotate-token -------------------------------------------------------------

def rotate_command(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="darkroom rotate-token",
        description="Replace the install's token: a running server ends every session that "
                    "used the old one (WebSocket clients get 1008, paired cookies stop working).")
    parser.add_argument("--data-dir", type=Path, help="the data directory (default ~/.darkroom)")
    args = parser.parse_args(list(argv))
    config = Config.load(["--data-dir", str(args.data_dir)] if args.data_dir else [])
    rotate_token(config.data_dir)
    print(f"darkroom: new token in {token_path(config.data_dir)} (owner-only); a running server "
          f"ends the old sessions within {CHECK_INTERVAL:g} s: pair your devices again")
    return 0
