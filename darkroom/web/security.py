"""Host and Origin checks for every request, and safe headers on every response.

- ``Host`` must name this server (loopback names, the bound address, or a
  configured host) on the server's port: a DNS-rebinding page cannot talk to us.
- ``Origin``, when a browser sends one on the WebSocket upgrade or on a request
  that writes, must be this server's own origin, a loopback origin on our port
  or a configured one: any other page the user visits cannot read the event
  stream or post to the API. ``Origin: null`` is refused.
- ``Sec-Fetch-Site: cross-site`` on a request that writes is refused.
- A request that writes (any method but GET, HEAD, OPTIONS) must say
  ``Content-Type: application/json`` (415 otherwise), body or not: a form or a
  ``no-cors`` fetch of another page cannot.
- LAN mode (``--lan``): every request but the pairing page needs the install's
  token or a paired device's cookie (401), and a write on the cookie alone
  also needs ``X-Darkroom-Request: 1`` (403; see ``darkroom/web/auth.py``).
  ``Host`` may also be any address of this machine. A loopback caller is not
  trusted in LAN mode: a proxy on this machine would make everyone loopback.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from typing import Optional
from urllib.parse import urlsplit

from flask import Flask, g, make_response, render_template, request

from darkroom.config import LOOPBACK_HOSTS, Config
from darkroom.web import auth as lan_auth
from darkroom.web.errors import ApiError

log = logging.getLogger("darkroom.security")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# connect-src also names our loopback WebSocket origins, so a page opened at
# 127.0.0.1 can run code that says ws://localhost:<port>/ws (the quick reference's).
# Not ws://[::1]:<port>: browsers do not accept IPv6 literals in CSP sources (Chromium
# reports the whole directive on every page); 'self' covers a page opened at [::1].
CSP = ("default-src 'self'; img-src 'self' data: blob:; connect-src 'self' {sockets}; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'")


def split_host(value: str) -> Optional[tuple[str, Optional[int]]]:
    """``host[:port]`` -> (lower-case host, port); None when malformed."""
    if not value or "@" in value or any(ch.isspace() for ch in value):
        return None
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        host, rest = value[1:end], value[end + 1:]
        if rest and not rest.startswith(":"):
            return None
        port_text = rest[1:] if rest else None
    else:
        host, sep, port_text = value.partition(":")
        if not sep:
            port_text = None
        elif ":" in port_text:
            return None
    if not host or host.endswith("."):
        return None
    port = None
    if port_text is not None:
        if not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) < 65536:
            return None
        port = int(port_text)
    return host.lower(), port


def _is_loopback_ip(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Guard:
    """The checks of one app, computed once from its config."""

    def __init__(self, config: Config):
        self.port = config.port
        names = set(LOOPBACK_HOSTS) | {h.lower() for h in config.allowed_hosts}
        if config.host not in ("0.0.0.0", "::"):
            names.add(config.host.lower())
        if config.lan:
            names.update(lan_auth.machine_addresses())
        self.host_names = frozenset(names)
        self.origins = frozenset(self._origin(o) for o in config.allowed_origins)
        loopback = {f"http://{h}:{config.port}" for h in ("localhost", "127.0.0.1", "[::1]")}
        self.loopback_origins = frozenset(loopback)
        sockets = " ".join(sorted(o.replace("http://", "ws://") for o in loopback if "[" not in o))
        self.csp = CSP.format(sockets=sockets)

    @staticmethod
    def _origin(value: str) -> str:
        parts = urlsplit(value.strip())
        return f"{parts.scheme.lower()}://{parts.netloc.lower()}"

    def host_allowed(self, value: str) -> bool:
        parsed = split_host(value)
        if parsed is None:
            return False
        host, port = parsed
        if port is not None and port != self.port:
            return False
        if port is None and self.port != 80:
            return False
        return host in self.host_names or _is_loopback_ip(host)

    def origin_allowed(self, origin: str, host_header: str) -> bool:
        if origin == "null":
            return False
        normal = self._origin(origin)
        if normal in self.loopback_origins or normal in self.origins:
            return True
        return normal == f"{request.scheme}://{host_header.lower()}"


class _Once:
    """Log each distinct refusal (reason and value) once, at warning; repeats at debug."""

    LIMIT = 1024

    def __init__(self):
        self._seen: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def refused(self, reason: str, value: str) -> None:
        key = (reason, value[:200])
        with self._lock:
            first = key not in self._seen
            if first and len(self._seen) < self.LIMIT:
                self._seen.add(key)
        (log.warning if first else log.debug)(
            "request refused", extra={"reason": reason, "value": key[1], "method": request.method,
                                      "path": request.path, "remote": request.remote_addr})


def _unauthorized(upgrade: bool):
    """401: JSON for the API and the WebSocket upgrade, a page that says how to pair for a browser."""
    if (request.method == "GET" and not upgrade
            and "text/html" in request.headers.get("Accept", "")):
        response = make_response(render_template("pair.html", paired=False, unpaired=True), 401)
    else:
        response, _ = ApiError(401, "unauthorized",
                               "this server is in LAN mode: send the install's token "
                               "(Authorization: Bearer ...) or pair this device").response()
        response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Bearer realm="darkroom"'
    return response


def init_app(app: Flask, config: Config, authority: Optional[lan_auth.Authority] = None) -> None:
    guard = Guard(config)
    once = _Once()
    if config.lan and authority is None:
        authority = lan_auth.Authority(config)

    @app.before_request
    def _check_request():
        host = request.headers.get("Host", "")
        if not guard.host_allowed(host):
            once.refused("forbidden_host", host)
            raise ApiError(403, "forbidden_host", "this server does not answer to that Host")
        writes = request.method not in SAFE_METHODS
        upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
        how = None
        if config.lan and request.path not in lan_auth.PUBLIC_PATHS:
            how = authority.authenticate(request)
            if how is None:
                return _unauthorized(upgrade)
        g.darkroom_auth = how
        if not (writes or upgrade):
            return
        origin = request.headers.get("Origin")
        if origin is not None and not guard.origin_allowed(origin, host):
            once.refused("forbidden_origin", origin)
            raise ApiError(403, "forbidden_origin", "requests from that Origin are not allowed")
        if not writes:
            return
        if request.headers.get("Sec-Fetch-Site") == "cross-site":
            once.refused("cross_site", origin or "")
            raise ApiError(403, "forbidden_origin", "cross-site requests are not allowed")
        if request.mimetype != "application/json":
            raise ApiError(415, "unsupported_media_type",
                           "a request that writes must send Content-Type: application/json "
                           "(with an empty body or {} when it has nothing to say)")
        if how == "cookie" and request.headers.get(lan_auth.CSRF_HEADER) != "1":
            raise ApiError(403, "csrf_header_missing",
                           f"a write authorised by the session cookie needs {lan_auth.CSRF_HEADER}: 1")

    @app.after_request
    def _safe_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if response.mimetype == "text/html":
            response.headers.setdefault("Content-Security-Policy", guard.csp)
            response.headers.setdefault("X-Frame-Options", "DENY")
        return response
