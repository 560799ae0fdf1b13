"""The HTTP side of a client: the server's address, its token and JSON requests (stdlib only).

``Api("http://127.0.0.1:5100", token=...)`` sends ``Authorization: Bearer`` when it
has a token and ``Content-Type: application/json`` on every write, as the server
requires (LAN mode refuses anything else; a write without JSON is 415).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Callable, Optional, Union

DEFAULT_URL = "http://127.0.0.1:5100"
WS_PATH = "/ws"

Token = Union[None, str, Callable[[], Optional[str]]]


class ClientError(Exception):
    """Base of every error the client raises."""


class Unreachable(ClientError, ConnectionError):
    """Nothing answers at the server's address (refused, timed out, no such host)."""


class ApiError(ClientError):
    """The server answered with an error: ``status`` and the body's ``code`` and ``error``."""

    def __init__(self, status: int, code: str, message: str, body: Optional[dict] = None):
        super().__init__(f"{message} (HTTP {status}{', ' + code if code else ''})")
        self.status = status
        self.code = code
        self.message = message
        self.body = body or {}


class AuthError(ApiError):
    """401/403: the server wants the install's token (LAN mode) or refused this one."""


def server_urls(url: Optional[str]) -> tuple[str, str]:
    """``(http_base, ws_url)`` for a server given as ``http(s)://host:port`` or ``ws(s)://.../ws``.

    A bare ``host:port`` means http. The base keeps a path prefix (a proxy's), without ``/ws``.
    """
    url = (url or DEFAULT_URL).strip()
    if "://" not in url:
        url = "http://" + url
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https", "ws", "wss"):
        raise ValueError(f"not a server URL: {url!r} (use http://host:port)")
    if not parts.hostname:
        raise ValueError(f"not a server URL: {url!r} (no host)")
    secure = scheme in ("https", "wss")
    path = parts.path.rstrip("/")
    if path.endswith(WS_PATH):
        path = path[: -len(WS_PATH)]
    http = urllib.parse.urlunsplit(("https" if secure else "http", parts.netloc, path, "", ""))
    ws = urllib.parse.urlunsplit(("wss" if secure else "ws", parts.netloc, path + WS_PATH, "", ""))
    return http, ws


def resolve_token(token: Token) -> Optional[str]:
    value = token() if callable(token) else token
    return value or None


class Api:
    """JSON over HTTP to one server. Every method returns the decoded body or raises.

    Raises ``Unreachable`` when no server answers, ``AuthError`` on 401/403 and
    ``ApiError`` on any other error status.
    """

    def __init__(self, url: Optional[str] = None, token: Token = None, timeout: float = 10.0):
        self.url, self.ws_url = server_urls(url)
        self.token = token
        self.timeout = timeout

    def headers(self) -> dict[str, str]:
        token = resolve_token(self.token)
        return {"Authorization": f"Bearer {token}"} if token else {}

    def request(self, method: str, path: str, body: Any = None, query: Optional[dict] = None,
                timeout: Optional[float] = None) -> dict:
        url = self.url + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        headers = {"Accept": "application/json", **self.headers()}
        data = None
        if method != "GET":
            headers["Content-Type"] = "application/json"
            data = b"" if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout or self.timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raise _error(exc) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise Unreachable(f"cannot reach Darkroom at {self.url}: {reason}") from None
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            raise ApiError(200, "not_json", f"{method} {path}: the answer is not JSON") from None

    def get(self, path: str, **query) -> dict:
        return self.request("GET", path, query=query or None)

    def post(self, path: str, body: Any = None) -> dict:
        return self.request("POST", path, body)

    def patch(self, path: str, body: Any = None) -> dict:
        return self.request("PATCH", path, body)


def _error(exc: urllib.error.HTTPError) -> ApiError:
    try:
        body = json.loads(exc.read() or b"{}")
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    code = str(body.get("code") or "")
    message = str(body.get("error") or exc.reason or "error")
    cls = AuthError if exc.code in (401, 403) else ApiError
    return cls(exc.code, code, message, body)
