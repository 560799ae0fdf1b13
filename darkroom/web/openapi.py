"""The OpenAPI 3.1 document of Darkroom's whole HTTP API, served at ``GET /api/openapi.json``.

Written here by hand, one entry per route, and kept true by ``tests/ops/test_openapi.py``:
every rule of Flask's URL map is documented, every documented operation exists,
and real responses validate against their schemas. ``TRANSPORT_PATHS`` are the
SSE and long-polling routes: documented when the app has them.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, current_app, jsonify

PATH = "/api/openapi.json"

# --- schemas -------------------------------------------------------------------------------

S = "#/components/schemas/"


def ref(name: str) -> dict:
    return {"$ref": S + name}


def obj(required: dict[str, Any], optional: dict[str, Any] | None = None, **extra) -> dict:
    props = {**required, **(optional or {})}
    return {"type": "object", "properties": props, "required": list(required), **extra}


def nullable(kind: str | list, **extra) -> dict:
    kinds = kind if isinstance(kind, list) else [kind]
    return {"type": [*kinds, "null"], **extra}


STR, INT, NUM, BOOL = {"type": "string"}, {"type": "integer"}, {"type": "number"}, {"type": "boolean"}
OBJ, ARR = {"type": "object"}, {"type": "array"}
TIME = nullable("string", format="date-time")
TRUE = {"const": True}
FLAG = {"enum": ["pick", "reject", None]}
LABEL = {"enum": ["red", "yellow", "green", "blue", "purple", None]}
CURSOR = {"type": "string", "maxLength": 4096}


def ok(fields: dict[str, Any] | None = None, optional: dict[str, Any] | None = None) -> dict:
    return obj({"success": TRUE, **(fields or {})}, optional)


SCHEMAS: dict[str, Any] = {
    "Error": obj({"success": {"const": False}, "code": STR, "error": STR},
                 description="Every error: a stable code and a human sentence (extra fields per code)"),
    "Session": obj({"id": INT, "name": STR, "import_folder": nullable("string"), "status": STR, "phase": STR,
                    "created_at": TIME, "updated_at": TIME, "completed_at": TIME, "total_photos": INT,
                    "processed_photos": INT, "approved_photos": INT, "progress_percent": NUM,
                    "approval_rate": NUM}, {"develop": {"enum": ["all", "picks"]}}),
    "Photo": obj({"id": INT, "session_id": INT, "file_name": STR, "file_path": STR, "file_size": nullable("integer"),
                  "format": nullable("string"), "width": nullable("integer"), "height": nullable("integer"),
                  "content_hash": nullable("string"), "exif": OBJ, "analysis": nullable("object"),
                  "ai_score": nullable("number"), "context_tag": nullable("string"), "preset": nullable("string"),
                  "status": STR, "decision": nullable("string"), "decision_reason": nullable("string"),
                  "decided_at": TIME, "error": nullable("string"), "imported_at": TIME, "updated_at": TIME,
                  "thumbnail_url": STR, "preview_url": STR, "developed_url": nullable("string"),
                  "developed_thumbnail_url": nullable("string"), "full_url": STR,
                  "rating": {"type": "integer", "minimum": 0, "maximum": 5}, "flag": FLAG,
                  "color_label": LABEL, "captured_at": TIME},
                 {"burst": nullable("object", properties={"id": INT, "size": INT, "index": INT}),
                  "histogram": nullable("object", description="r, g, b and l: 64 bins each (GET one photo)"),
                  "exif_summary": nullable("object", description="shutter, aperture, iso, focal_length, lens, "
                                                                 "camera and the one-line summary"),
                  "jobs": {"type": "array", "items": ref("Job")},
                  "exports": {"type": "array", "items": ref("Export")}}),
    "Job": obj({"id": INT, "kind": {"enum": ["develop", "export"]}, "photo_id": INT, "session_id": INT,
                "priority": {"type": "integer", "minimum": 1, "maximum": 10}, "preset": nullable("string"),
                "status": {"enum": ["pending", "running", "completed", "failed", "cancelled"]},
                "stage": nullable("string"), "progress": NUM, "attempts": INT, "params": OBJ,
                "result": nullable("object"), "error_message": nullable("string"),
                "error_details": nullable("object"), "created_at": TIME, "started_at": TIME, "finished_at": TIME}),
    "Export": obj({"id": INT, "photo_id": INT, "job_id": nullable("integer"), "destination": STR, "format": STR,
                   "quality": nullable("integer"), "long_edge": nullable("integer"), "status": STR,
                   "output_path": nullable("string"), "file_size": nullable("integer"), "error": nullable("string"),
                   "created_at": TIME, "finished_at": TIME}),
    "QueueCounts": obj({"pending": INT, "processing": INT, "completed": INT, "failed": INT, "cancelled": INT}),
    "Decision": ok({"photo_id": INT, "session_id": INT, "decision": {"enum": ["approved", "rejected"]},
                    "session_completed": BOOL}, {"exports": ARR}),
    "Client": obj({"id": STR, "transport": STR, "client_type": STR, "client_name": nullable("string"),
                   "connected_at": STR, "last_ping": nullable("string"),
                   "subscriptions": {"type": "array", "items": STR}}),
    "Stats": obj({"total_clients": INT, "clients_by_type": OBJ, "active_channels": ARR, "channel_count": INT,
                  "events_published": OBJ, "events_published_total": INT, "messages_delivered": INT,
                  "disconnected": OBJ, "refused": OBJ, "outbox_high_water_bytes": INT, "replays": OBJ,
                  "log_failures": INT, "uptime_seconds": NUM, "seq": INT, "epoch": STR}),
    "Event": obj({"type": STR, "channel": STR, "timestamp": STR, "seq": INT},
                 description="An event as clients receive it (see /websocket/asyncapi.json for each type)"),
    "Readiness": obj({"status": {"enum": ["ready", "not_ready"]}},
                     {"failing": {"type": "array", "items": {"enum": ["database", "hub", "event_log", "redis"]}},
                      "checks": {"type": "object", "additionalProperties": obj(
                          {"ok": BOOL, "ms": NUM}, {"error": STR})}}),
}

# --- operations: (method, path, tag, summary, {status: schema or media}, extras) -----------------

JSON_BODY = {"required": True, "content": {"application/json": {"schema": OBJ}}}
EMPTY_BODY = {"required": False, "content": {"application/json": {"schema": OBJ}}}
JPEG = {"content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}}}
# What an export may choose, on POST /api/export and on an approval that exports.
EXPORT_OPTIONS = {"format": {"enum": ["jpeg", "png", "tiff", "heic"]},
                  "color_space": {"enum": ["srgb", "display-p3", "adobe-rgb"]},
                  "bit_depth": {"enum": [8, 16]}, "strip_location": BOOL,
                  "creator": STR, "copyright": STR, "contact": STR}
HTML = {"content": {"text/html": {"schema": STR}}}
ANY = {"content": {"*/*": {"schema": {}}}}


def body(required: dict, optional: dict | None = None, needed: bool = True) -> dict:
    return {"required": needed, "content": {"application/json": {"schema": obj(required, optional)}}}


def q(name: str, schema: dict, description: str = "") -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


ID = {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}
LIMIT = {"type": "integer", "minimum": 1}
# What PATCH /api/photos[/<id>] may change.
MARKS = {"rating": {"type": "integer", "minimum": 0, "maximum": 5}, "flag": FLAG, "color_label": LABEL}
DEVELOP = {"enum": ["all", "picks"], "description": "picks: develop only flagged-pick or rated photos"}
SESSION_STATUS = {"enum": ["active", "paused", "completed"]}
JOB_STATUS = {"enum": ["pending", "running", "processing", "completed", "failed", "cancelled"]}

OPERATIONS: list[tuple] = [
    # pages
    ("get", "/", "pages", "The dashboard", {"200": HTML}, {}),
    ("get", "/mobile", "pages", "The phone view", {"200": HTML}, {}),
    ("get", "/examples", "pages", "The quick reference's JavaScript examples, live", {"200": HTML}, {}),
    ("get", "/static/{filename}", "pages", "Static files (JavaScript modules, CSS)", {"200": ANY}, {}),
    ("get", "/pair", "lan", "Redeem a one-time pairing link (LAN mode): sets the session cookie",
     {"200": HTML, "403": HTML}, {"parameters": [q("code", STR), q("next", {"enum": ["/", "/mobile"]})]}),
    ("post", "/api/pairing", "lan", "A fresh pairing link and its QR code (LAN mode)",
     {"200": ok({"url": STR, "svg": STR, "expires_in": INT})},
     {"requestBody": body({}, {"next": {"enum": ["/", "/mobile"]}}, needed=False)}),
    # operations
    ("get", "/healthz", "operations", "Liveness: the process answers (no token needed in LAN mode)",
     {"200": obj({"status": {"const": "ok"}})}, {}),
    ("get", "/readyz", "operations", "Readiness: database, hub dispatcher and event log (details need the "
     "token in LAN mode)", {"200": ref("Readiness"), "503": ref("Readiness")}, {}),
    ("get", "/metrics", "operations", "Prometheus metrics (text exposition format 0.0.4)",
     {"200": {"content": {"text/plain": {"schema": STR}}}}, {}),
    ("get", "/api/openapi.json", "operations", "This document", {"200": OBJ}, {}),
    ("get", "/websocket/asyncapi.json", "operations", "The AsyncAPI 3.0 document of /ws, SSE and long polling",
     {"200": OBJ}, {}),
    # sessions
    ("post", "/api/sessions", "sessions", "Create a session (a folder of photos)",
     {"201": ok({"session": ref("Session"), "session_id": INT})},
     {"requestBody": body({"name": {"type": "string", "minLength": 1, "maxLength": 200}, "import_folder": STR},
                          {"develop": DEVELOP, "library_folder": STR, "backup_folder": STR})}),
    ("get", "/api/sessions", "sessions", "List sessions", {"200": ok({"sessions": {"type": "array", "items": ref(
        "Session")}, "count": INT})}, {"parameters": [q("status", SESSION_STATUS)]}),
    ("get", "/api/sessions/{session_id}", "sessions", "One session", {"200": ok({"session": ref("Session")})}, {}),
    ("patch", "/api/sessions/{session_id}", "sessions", "Rename, move or pause a session",
     {"200": ok({"session": ref("Session")})},
     {"requestBody": body({}, {"name": STR, "import_folder": STR, "status": {"enum": ["active", "paused"]},
                               "develop": DEVELOP})}),
    ("post", "/api/sessions/{session_id}/import", "imports", "Import the session's folder (in the background)",
     {"202": ok({"session_id": INT, "found": INT}, {"files": ARR, "skipped": {}})}, {"requestBody": EMPTY_BODY}),
    ("post", "/import/file", "imports", "Import one file now (analysis, preset, develop job)",
     {"200": ok({"photo_id": INT, "file_name": STR, "session_id": INT})},
     {"requestBody": body({"file_path": STR}, {"session_id": ID})}),
    # photos
    ("get", "/api/photos", "photos", "List photos", {"200": ok({"photos": {"type": "array", "items": ref("Photo")},
                                                               "count": INT, "total": INT,
                                                               "next_cursor": nullable("string")})},
     {"parameters": [q("session_id", ID), q("status", STR), q("decision", {"enum": ["approved", "rejected", "none"]}),
                     q("min_rating", {"type": "integer", "minimum": 0, "maximum": 5}),
                     q("flag", {"enum": ["pick", "reject", "none"]}),
                     q("color_label", {"enum": ["red", "yellow", "green", "blue", "purple", "none"]}),
                     q("sort", {"enum": ["captured", "score", "name"]}), q("order", {"enum": ["asc", "desc"]}),
                     q("cursor", CURSOR, "next_cursor of the page before, sent with the same filters and sort"),
                     q("limit", LIMIT), q("offset", {"type": "integer", "minimum": 0})]}),
    ("patch", "/api/photos", "photos", "Rate, flag or label many photos (one photo_rated each)",
     {"200": ok({"updated": INT, "photos": {"type": "array", "items": ref("Photo")}})},
     {"requestBody": body({"ids": {"type": "array", "items": ID, "minItems": 1, "maxItems": 1000}}, MARKS)}),
    ("patch", "/api/photos/{photo_id}", "photos", "Rate, flag or label a photo (photo_rated)",
     {"200": ok({"photo": ref("Photo")})}, {"requestBody": body({}, MARKS)}),
    ("get", "/api/photos/{photo_id}/full", "photos", "Full-resolution JPEG: the develop, else the original in sRGB",
     {"200": JPEG}, {}),
    ("get", "/api/photos/{photo_id}", "photos", "One photo with its jobs and exports",
     {"200": ok({"photo": ref("Photo")})}, {}),
    ("get", "/api/photos/{photo_id}/thumbnail", "photos", "320 px JPEG", {"200": JPEG}, {}),
    ("get", "/api/photos/{photo_id}/preview", "photos", "1600 px JPEG of the original", {"200": JPEG}, {}),
    ("get", "/api/photos/{photo_id}/developed", "photos", "1600 px JPEG, developed", {"200": JPEG}, {}),
    ("get", "/api/photos/{photo_id}/developed/thumbnail", "photos", "320 px JPEG, developed", {"200": JPEG}, {}),
    # jobs and queue
    ("post", "/api/jobs", "jobs", "Ask for a develop job", {"201": ok({"job": ref("Job"), "job_id": INT})},
     {"requestBody": body({"photo_id": ID}, {"priority": {"type": "integer", "minimum": 1, "maximum": 10},
                                              "preset": STR})}),
    ("get", "/api/jobs", "jobs", "List jobs in run order",
     {"200": ok({"jobs": {"type": "array", "items": ref("Job")}, "count": INT, "counts": ref("QueueCounts")})},
     {"parameters": [q("status", JOB_STATUS), q("kind", {"enum": ["develop", "export"]}), q("photo_id", ID),
                     q("session_id", ID), q("limit", LIMIT)]}),
    ("get", "/api/jobs/{job_id}", "jobs", "One job (stage and progress live while it runs)",
     {"200": ok({"job": ref("Job")})}, {}),
    ("patch", "/api/jobs/{job_id}", "jobs", "Change a pending job's priority",
     {"200": ok({"job": ref("Job"), "old_priority": INT})},
     {"requestBody": body({"priority": {"type": "integer", "minimum": 1, "maximum": 10}}, {"reason": STR})}),
    ("post", "/api/jobs/{job_id}/cancel", "jobs", "Cancel a job (a running one stops at its next band)",
     {"200": ok({"job_id": INT, "status": {"const": "cancelled"}}),
      "202": ok({"job_id": INT, "status": {"const": "cancelling"}})}, {"requestBody": EMPTY_BODY}),
    ("post", "/api/jobs/{job_id}/retry", "jobs", "Retry a failed or cancelled job",
     {"200": ok({"job": ref("Job")})}, {"requestBody": EMPTY_BODY}),
    ("get", "/api/queue", "jobs", "Queue counts and state",
     {"200": ok({"counts": ref("QueueCounts"), "paused": BOOL, "workers": INT, "eta": obj(
         {"seconds": nullable("number"), "remaining": INT, "sessions": {
             "type": "object", "additionalProperties": obj({"seconds": nullable("number"), "remaining": INT})}})})},
     {}),
    ("post", "/api/queue/pause", "jobs", "Pause the develop workers", {"200": ok({"paused": {"const": True}})},
     {"requestBody": EMPTY_BODY}),
    ("post", "/api/queue/resume", "jobs", "Resume the develop workers", {"200": ok({"paused": {"const": False}})},
     {"requestBody": EMPTY_BODY}),
    # approval and export
    ("get", "/api/approval/queue", "approval", "Developed photos awaiting a decision, in capture order",
     {"200": ok({"photos": {"type": "array", "items": ref("Photo")}, "count": INT,
                 "next_cursor": nullable("string")})},
     {"parameters": [q("session_id", ID), q("cursor", CURSOR), q("limit", LIMIT)]}),
    ("post", "/api/approval/{photo_id}/undo", "approval", "Take a decision back: the photo waits again",
     {"200": ok({"photo": ref("Photo"), "previous_decision": {"enum": ["approved", "rejected"]}})},
     {"requestBody": EMPTY_BODY}),
    ("post", "/api/approval/{photo_id}/approve", "approval", "Approve a developed photo (optionally export it)",
     {"200": ref("Decision")},
     {"requestBody": body({}, {"auto_export": BOOL, "destination": STR, **EXPORT_OPTIONS,
                               "quality": INT, "long_edge": INT}, needed=False)}),
    ("post", "/api/approval/{photo_id}/reject", "approval", "Reject a photo",
     {"200": ref("Decision")}, {"requestBody": body({}, {"reason": {"type": "string", "maxLength": 1000}},
                                                     needed=False)}),
    ("post", "/api/export", "exports", "Export approved photos",
     {"202": ok({"destination": STR, "exports": ARR, "count": INT})},
     {"requestBody": body({}, {"photo_ids": {"type": "array", "items": ID}, "session_id": ID, "destination": STR,
                               **EXPORT_OPTIONS,
                               "quality": {"type": "integer", "minimum": 1, "maximum": 100},
                               "long_edge": {"type": "integer", "minimum": 16, "maximum": 20000},
                               "priority": {"type": "integer", "minimum": 1, "maximum": 10}})}),
    ("get", "/api/exports", "exports", "List exports",
     {"200": ok({"exports": {"type": "array", "items": ref("Export")}, "count": INT})},
     {"parameters": [q("photo_id", ID), q("limit", LIMIT)]}),
    ("get", "/api/presets", "presets", "Develop presets",
     {"200": ok({"presets": {"type": "array", "items": obj({"name": STR, "description": STR, "context_tags": ARR,
                                                            "adjustments": OBJ, "source": STR})}, "count": INT})}, {}),
    ("get", "/api/system", "system", "The last system_status, the schema version and the warning thresholds",
     {"200": ok({"status": STR, "details": OBJ, "schema_version": INT, "thresholds": OBJ})}, {}),
    # the hub
    ("get", "/api/events", "events", "The durable event log, paged",
     {"200": ok({"epoch": STR, "latest_seq": INT, "complete": BOOL, "events": {"type": "array", "items": ref("Event")},
                 "next_since": INT, "has_more": BOOL})},
     {"parameters": [q("since", {"type": "integer", "minimum": 0}), q("channels", STR, "comma list"),
                     q("limit", LIMIT)]}),
    ("get", "/ws", "realtime", "The WebSocket (see /websocket/asyncapi.json); answers 101 to an upgrade",
     {"101": {"description": "Switching Protocols"}, "400": ref("Error"), "503": ref("Error")}, {}),
    ("get", "/websocket/clients", "realtime", "Connected clients",
     {"200": ok({"clients": {"type": "array", "items": ref("Client")}, "count": INT})}, {}),
    ("get", "/websocket/stats", "realtime", "Hub counters", {"200": ok({"stats": ref("Stats")})}, {}),
    ("get", "/websocket/catalog", "realtime", "The event catalogue as JSON Schema",
     {"200": ok({"channels": {"type": "array", "items": STR}, "events": OBJ})}, {}),
    ("post", "/websocket/broadcast", "realtime", "Publish an event (200: it is in the durable log)",
     {"200": ok({"type": STR, "channel": STR, "seq": INT, "subscribers": INT})},
     {"requestBody": body({"type": STR}, {"channel": STR, "data": OBJ})}),
    ("post", "/websocket/disconnect/{client_id}", "realtime", "Close a client with 1000",
     {"200": ok({"client_id": STR})}, {"requestBody": EMPTY_BODY}),
    # transports beside /ws (documented when the server has them)
    ("get", "/events", "realtime", "Server-Sent Events: the event stream over HTTP (see AsyncAPI)",
     {"200": {"content": {"text/event-stream": {"schema": STR}}}},
     {"parameters": [q("channels", STR, "comma list"), q("client_type", STR), q("client_name", STR)]}),
    ("post", "/ws/handshake", "realtime", "Long polling: open a session (see AsyncAPI)", {"200": OBJ},
     {"requestBody": EMPTY_BODY}),
    ("post", "/ws/send", "realtime", "Long polling: send client messages", {"200": OBJ}, {"requestBody": JSON_BODY}),
    ("get", "/ws/poll", "realtime", "Long polling: wait for messages", {"200": OBJ}, {}),
    ("post", "/ws/disconnect", "realtime", "Long polling: end the session", {"200": OBJ},
     {"requestBody": EMPTY_BODY}),
]

# The photo pipeline's routes: documented when the app has the pipeline (``create_app(with_pipeline=False)``
# serves the hub alone).
PIPELINE_TAGS = frozenset({"sessions", "imports", "photos", "jobs", "approval", "exports", "presets", "system"})
TRANSPORT_PATHS = frozenset({"/events", "/ws/handshake", "/ws/send", "/ws/poll", "/ws/disconnect"})

_CONVERTER = re.compile(r"<(?:(?P<conv>[a-z_]+):)?(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)>")


def openapi_path(rule: str) -> str:
    """A Flask rule in OpenAPI's form: ``/api/photos/<id:photo_id>`` -> ``/api/photos/{photo_id}``."""
    return _CONVERTER.sub(lambda m: "{" + m.group("name") + "}", rule)


def rule_kinds(rule: str) -> dict[str, str]:
    return {m.group("name"): m.group("conv") or "string" for m in _CONVERTER.finditer(rule)}


def app_operations(app: Flask) -> set[tuple[str, str]]:
    """(method, OpenAPI path) of every route of ``app`` (HEAD and OPTIONS are implied)."""
    out = set()
    for rule in app.url_map.iter_rules():
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            out.add((method.lower(), openapi_path(rule.rule)))
    return out


def _responses(responses: dict) -> dict:
    out = {}
    for status, spec in responses.items():
        if "content" in spec or "description" in spec:
            out[status] = {"description": spec.get("description", f"HTTP {status}"), **spec}
        else:
            out[status] = {"description": f"HTTP {status}", "content": {"application/json": {"schema": spec}}}
    out.setdefault("default", {"description": "An error", "content": {"application/json": {"schema": ref("Error")}}})
    return out


def document(app: Flask) -> dict:
    from darkroom import __version__

    present = app_operations(app)
    with_pipeline = "darkroom_pipeline" in app.extensions
    kinds = {openapi_path(r.rule): rule_kinds(r.rule) for r in app.url_map.iter_rules()}
    paths: dict[str, dict] = {}
    for method, path, tag, summary, responses, extra in OPERATIONS:
        if path in TRANSPORT_PATHS and (method, path) not in present:
            continue
        if tag in PIPELINE_TAGS and not with_pipeline:
            continue
        op: dict[str, Any] = {"tags": [tag], "summary": summary,
                              "operationId": f"{method}_{re.sub(r'[^a-zA-Z0-9]+', '_', path).strip('_') or 'root'}",
                              "responses": _responses(responses)}
        params = [{"name": name, "in": "path", "required": True,
                   "schema": ID if conv == "id" else STR}
                  for name, conv in kinds.get(path, {}).items()]
        params += extra.get("parameters", [])
        if params:
            op["parameters"] = params
        if "requestBody" in extra:
            op["requestBody"] = extra["requestBody"]
        paths.setdefault(path, {})[method] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Darkroom HTTP API", "version": __version__,
                 "description": "A local photo pipeline. Writes need Content-Type: application/json (415); "
                                "errors are {success: false, code, error}. Events: /websocket/asyncapi.json.",
                 "license": {"name": "GPL-3.0-or-later", "identifier": "GPL-3.0-or-later"}},
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer",
                                          "description": "LAN mode only: the install's token (<data_dir>/token)"}},
        },
    }


def init_app(app: Flask) -> None:
    cache: dict[str, dict] = {}

    @app.get(PATH)
    def openapi_document():
        if "doc" not in cache:
            cache["doc"] = document(current_app)
        return jsonify(cache["doc"])
