"""Helpers shared by the pipeline tests: an event recorder over a real WebSocket client,
schema validation against the served catalogue, and small HTTP shortcuts."""

from __future__ import annotations

import time
from typing import Callable, Optional

import jsonschema

import websocket_events as events

ALL_CHANNELS = events.CHANNELS


class Recorder:
    """Reads every event a real client receives, validating each against the catalogue."""

    def __init__(self, server, channels=ALL_CHANNELS):
        self.server = server
        self.schemas = {name: e["schema"] for name, e in
                        server.get("/websocket/catalog").json()["events"].items()}
        self.client = server.ws()
        self.client.subscribe(*channels)
        self.events: list[dict] = []

    def _take(self, timeout: float) -> Optional[dict]:
        try:
            msg = self.client.recv(timeout=timeout)
        except TimeoutError:
            return None
        if "seq" not in msg or msg.get("type") not in self.schemas:
            return None
        jsonschema.validate(msg, self.schemas[msg["type"]])
        self.events.append(msg)
        return msg

    def wait(self, predicate: Callable[[list[dict]], bool], timeout: float = 20.0,
             what: str = "events") -> list[dict]:
        """Read until ``predicate(all events so far)`` holds."""
        deadline = time.monotonic() + timeout
        while not predicate(self.events):
            left = deadline - time.monotonic()
            if left <= 0:
                seen = [e["type"] for e in self.events][-40:]
                raise TimeoutError(f"{what} not seen within {timeout}s; last: {seen}")
            self._take(min(left, 0.5))
        return self.events

    def drain(self, quiet: float = 0.3) -> list[dict]:
        """Read until nothing arrives for ``quiet`` seconds."""
        while self._take(quiet) is not None:
            pass
        return self.events

    def of(self, type_: str, **match) -> list[dict]:
        return [e for e in self.events if e["type"] == type_
                and all(e.get(k) == v for k, v in match.items())]

    def close(self) -> None:
        self.client.close()


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert body.get("success") is True, body
    return body


def error(response, status: int, code: Optional[str] = None) -> dict:
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert body["success"] is False and isinstance(body["error"], str), body
    if code:
        assert body["code"] == code, body
    assert "Traceback" not in response.text
    return body


def pipeline_of(server):
    return server.app.extensions["darkroom_pipeline"]


def create_session(server, name: str, folder) -> int:
    body = ok(server.post("/api/sessions", {"name": name, "import_folder": str(folder)}), 201)
    return body["session"]["id"]


def wait_developed(server, photo_id: int, timeout: float = 15) -> dict:
    """The photo once its develop job has ended (developed or failed)."""
    server.wait_for(lambda: server.get(f"/api/photos/{photo_id}").json()["photo"]["status"]
                    in ("developed", "failed"), timeout=timeout, what="develop")
    return server.get(f"/api/photos/{photo_id}").json()["photo"]
