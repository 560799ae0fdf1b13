"""Real clients of the HTTP transports, for the tests: an SSE reader on a raw socket (it
sees every byte: the head, each record, the heartbeats) and a long-polling client."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Optional
from urllib.parse import urlencode

import requests


class SseClient:
    """``GET /events`` on a raw socket; ``record()`` parses the stream as EventSource does."""

    def __init__(self, server, query: Optional[dict] = None, headers: Optional[dict] = None,
                 rcvbuf: Optional[int] = None, path: str = "/events", read_head: bool = True):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(10)
        self.sock.connect((server.host, server.port))
        headers = dict(headers or {})
        if server.token and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {server.token}"
        target = path + ("?" + urlencode(query) if query else "")
        lines = [f"GET {target} HTTP/1.1", f"Host: {server.host}:{server.port}",
                 "Accept: text/event-stream"] + [f"{k}: {v}" for k, v in headers.items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buffer = b""
        self.status = None
        self.headers: dict[str, str] = {}
        self.comments: list[bytes] = []
        self.last_id: Optional[str] = None
        self.retry: Optional[int] = None  # ms, as the server last set it
        if read_head:
            self.read_head()

    def read_head(self) -> None:
        while b"\r\n\r\n" not in self.buffer:
            self._fill(10)
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        self.status = int(status_line.split(" ", 2)[1])
        self.headers = {k.strip().lower(): v.strip()
                        for k, _, v in (line.partition(":") for line in header_lines)}

    def body(self, timeout: float = 10) -> dict:
        """The JSON body of a refusal (read to the end of the response)."""
        length = int(self.headers.get("content-length", 0))
        while len(self.buffer) < length:
            self._fill(timeout)
        return json.loads(self.buffer[:length])

    def _fill(self, timeout: float) -> None:
        self.sock.settimeout(max(timeout, 0.001))
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError("nothing from the server in time") from None
        if not chunk:
            raise ConnectionError("the server closed the stream")
        self.buffer += chunk

    def record(self, timeout: float = 10, stop_at_comment: bool = False) -> Optional[dict]:
        """The next dispatched record: ``{"event", "id", "data" (parsed), "raw" (data bytes)}``;
        with ``stop_at_comment``, None as soon as a comment (a heartbeat) has been read."""
        deadline = time.monotonic() + timeout
        while True:
            while b"\n\n" not in self.buffer:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no SSE record within {timeout}s")
                self._fill(left)
            block, self.buffer = self.buffer.split(b"\n\n", 1)
            fields: dict[str, list[bytes]] = {}
            for line in block.split(b"\n"):
                if line.startswith(b":"):
                    self.comments.append(line)
                    continue
                name, _, value = line.partition(b":")
                fields.setdefault(name.decode(), []).append(value[1:] if value[:1] == b" " else value)
            if "id" in fields:
                self.last_id = fields["id"][-1].decode()
            if "retry" in fields:
                self.retry = int(fields["retry"][-1])
            if "data" not in fields:
                if stop_at_comment and block.startswith(b":"):
                    return None
                continue  # a comment (heartbeat) or an empty record dispatches nothing
            raw = b"\n".join(fields["data"])
            return {"event": fields.get("event", [b"message"])[-1].decode(),
                    "id": fields["id"][-1].decode() if "id" in fields else None,
                    "data": json.loads(raw), "raw": raw, "data_lines": len(fields["data"])}

    def until(self, event: str, timeout: float = 10) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            rec = self.record(max(deadline - time.monotonic(), 0.001))
            if rec["event"] == event:
                return rec

    def events(self, count: int, timeout: float = 10) -> list[dict]:
        """The next ``count`` events (records with an ``id`` that carry a channel), as data."""
        out: list[dict] = []
        deadline = time.monotonic() + timeout
        while len(out) < count:
            rec = self.record(max(deadline - time.monotonic(), 0.001))
            if "channel" in rec["data"]:
                out.append(rec["data"])
        return out

    def heartbeat(self, timeout: float = 10) -> bytes:
        """Wait for the next heartbeat comment."""
        seen = len(self.comments)
        deadline = time.monotonic() + timeout
        while len(self.comments) == seen:
            self.record(max(deadline - time.monotonic(), 0.001), stop_at_comment=True)
        return self.comments[seen]

    def ended(self, timeout: float = 10) -> bool:
        """Read until the server closes the connection."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                self._fill(max(deadline - time.monotonic(), 0.001))
        except ConnectionError:
            return True

    def close(self) -> None:
        self.sock.close()


class Poller:
    """A long-polling client, as the Lightroom plugin talks to the server."""

    def __init__(self, server, client_type: str = "lightroom", client_name: str = "test",
                 body=None, headers: Optional[dict] = None):
        self.server = server
        self.headers = headers or {}
        shake = server.post("/ws/handshake", {"client_type": client_type, "client_name": client_name}
                            if body is None else body, headers=self.headers)
        assert shake.status_code == 200, shake.text
        self.handshake = shake.json()
        self.id = self.handshake["client_id"]
        self.messages: list[dict] = []

    def send(self, message, status: int = 200) -> dict:
        r = self.server.post("/ws/send", {"client_id": self.id, "message": message},
                             headers=self.headers)
        assert r.status_code == status, r.text
        return r.json()

    def subscribe(self, *channels, since: Optional[dict] = None) -> dict:
        message = {"type": "subscribe", "channels": list(channels)}
        if since is not None:
            message["since"] = since
        return self.send(message)["reply"]

    def poll(self, wait: float = 5, since: Optional[str] = None, status: int = 200) -> dict:
        params = {"client_id": self.id, "wait": wait}
        if since:
            params["since"] = since
        r = self.server.get("/ws/poll", params=params, timeout=wait + 10, headers=self.headers)
        assert r.status_code == status, r.text
        body = r.json()
        if status == 200:
            self.messages.extend(body["messages"])
        return body

    def events(self, count: int, timeout: float = 10) -> list[dict]:
        """Poll until ``count`` more events came; return them."""
        start = len([m for m in self.messages if "channel" in m])
        deadline = time.monotonic() + timeout
        while True:
            got = [m for m in self.messages if "channel" in m][start:]
            if len(got) >= count:
                return got[:count]
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"got {len(got)} of {count} events")
            self.poll(wait=min(left, 5))

    def poll_in_background(self, wait: float) -> tuple[threading.Thread, list]:
        out: list = []
        thread = threading.Thread(target=lambda: out.append(self.poll(wait=wait)), daemon=True)
        thread.start()
        return thread, out

    def disconnect(self) -> requests.Response:
        return self.server.post("/ws/disconnect", {"client_id": self.id}, headers=self.headers)


def position(message: dict, epoch: Optional[str] = None) -> str:
    """``<epoch>:<seq>`` of a handshake or subscription_confirmed, or of an event (which
    carries no epoch: give the handshake's)."""
    return f"{epoch or message['epoch']}:{message['seq']}"
