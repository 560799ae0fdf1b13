"""The event catalogue and the ``broadcast_*`` helpers that publish it.

Every event Darkroom sends is declared exactly once in ``CATALOGUE``: its name,
channel, fields, their types and which are required. The helpers, their
signatures, validation, the JSON Schema served at ``GET /websocket/catalog``,
the README table and the JavaScript client all derive from that declaration.

Import and job handlers call the helpers directly::

    from websocket_events import broadcast_photo_imported
    broadcast_photo_imported(photo_id=123, session_id=1, file_name="IMG_5432.CR3")

A helper validates its arguments in the caller's thread (``TypeError`` for a
missing, unknown or mistyped field, ``ValueError`` for a value out of range)
and hands the event to the hub, which never does network I/O in the caller's
thread. Before a hub is attached the helper validates and returns: a cheap
no-op.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

CHANNELS = ("jobs", "photos", "sessions", "system", "queue", "approval", "export")

# Keys the server owns in every event; a payload can never set them.
RESERVED_KEYS = frozenset({"type", "timestamp", "channel", "seq", "epoch", "source"})

_JSON_TYPES = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list, tuple),
    "id": (str, int),
}
_SCHEMA_TYPES = {"id": ["string", "integer"]}


@dataclass(frozen=True)
class Field:
    """One field of an event: its JSON type, whether it is required, and bounds."""

    name: str
    type: str
    required: bool = True
    description: str = ""
    minimum: Optional[float] = None
    maximum: Optional[float] = None
    max_length: Optional[int] = None
    default: Any = None
    choices: Optional[tuple[str, ...]] = None  # the only values a string may take


    def check(self, event: str, value: Any) -> Any:
        """Return ``value`` if it fits this field; raise TypeError/ValueError otherwise."""
        if value is None and not self.required:
            return None
        allowed = _JSON_TYPES[self.type]
        # bool is an int in Python but never a number on the wire.
        if isinstance(value, bool) and self.type != "boolean" or not isinstance(value, allowed):
            raise TypeError(
                f"{event}: field '{self.name}' must be {self.type}, got {type(value).__name__}"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{event}: field '{self.name}' must be a finite number")
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"{event}: field '{self.name}' must be >= {self.minimum}, got {value}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"{event}: field '{self.name}' must be <= {self.maximum}, got {value}")
        if self.max_length is not None and len(value) > self.max_length:
            raise ValueError(f"{event}: field '{self.name}' is longer than {self.max_length}")
        if self.choices is not None and value not in self.choices:
            raise ValueError(f"{event}: field '{self.name}' must be one of "
                             f"{', '.join(self.choices)}, got {value!r}")
        return value

    def schema(self) -> dict:
        out: dict[str, Any] = {"type": _SCHEMA_TYPES.get(self.type, self.type)}
        if self.description:
            out["description"] = self.description
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        if self.max_length is not None:
            out["maxLength"] = self.max_length
        if self.choices is not None:
            out["enum"] = list(self.choices)
        return out


def _percent(part: Any, total: Any) -> float:
    """A percentage 0-100 rounded to 2 places, 0.0 when the total is 0."""
    if not total:
        return 0.0
    return round(min(max(part / total * 100.0, 0.0), 100.0), 2)


@dataclass(frozen=True)
class Derived:
    """A field the helper computes from other fields (never passed by callers)."""

    field: Field
    compute: Callable[[Mapping[str, Any]], Any]


@dataclass(frozen=True)
class EventType:
    """A catalogue entry: everything the server knows about one event."""

    name: str
    channel: str
    description: str
    fields: tuple[Field, ...]
    derived: tuple[Derived, ...] = field(default_factory=tuple)
    # A state event: the latest one per key (these fields) is the current state,
    # so the hub may coalesce superseded ones (keeping the first and last of
    # every ``phase``) and replays the latest on ``subscribe`` with a snapshot.
    state_key: Optional[tuple[str, ...]] = None
    phase: Optional[str] = None
    # A terminal event ends the state of (event name, key field) for its key.
    ends: Optional[tuple[str, str]] = None

    def key(self, payload: Mapping[str, Any]) -> Optional[tuple]:
        """The state this event sets, or None for an event that is not state."""
        if self.state_key is None:
            return None
        return (self.name, *(payload.get(f) for f in self.state_key))

    def ended_key(self, payload: Mapping[str, Any]) -> Optional[tuple]:
        """The state this terminal event ends, if any."""
        if self.ends is None:
            return None
        name, key_field = self.ends
        return (name, payload.get(key_field))

    def build(self, args: Mapping[str, Any]) -> dict:
        """Validate ``args`` (already bound to fields) and return the event payload."""
        payload: dict[str, Any] = {}
        for f in self.fields:
            value = args.get(f.name, f.default)
            if value is None:
                if f.required:
                    raise TypeError(f"{self.name}: missing required field '{f.name}'")
                continue
            payload[f.name] = f.check(self.name, value)
        for d in self.derived:
            payload[d.field.name] = d.compute(payload)
        return payload

    def schema(self) -> dict:
        """JSON Schema (draft 2020-12) of the event as it arrives on the wire."""
        props: dict[str, Any] = {
            "type": {"const": self.name},
            "channel": {"const": self.channel},
            "timestamp": {"type": "string", "format": "date-time"},
            "seq": {"type": "integer", "minimum": 1},
        }
        required = ["type", "channel", "timestamp", "seq"]
        for f in self.fields:
            props[f.name] = f.schema()
            if f.required:
                required.append(f.name)
        for d in self.derived:
            props[d.field.name] = d.field.schema()
            required.append(d.field.name)
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": self.name,
            "description": self.description,
            "type": "object",
            "properties": props,
            "required": required,
        }

    def signature(self) -> inspect.Signature:
        params = []
        for f in sorted(self.fields, key=lambda f: not f.required):
            default = inspect.Parameter.empty if f.required else f.default
            params.append(
                inspect.Parameter(f.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default)
            )
        return inspect.Signature(params)


def _id(name: str, what: str, required: bool = True) -> Field:
    return Field(name, "integer", required, f"id of the {what}", minimum=0)


# A photographer's marks, as Lightroom names them (the API and XMP use these values).
FLAGS = ("pick", "reject")
COLOR_LABELS = ("red", "yellow", "green", "blue", "purple")

_JOB_ID = Field("job_id", "id", description="id of the develop or export job")
_PRIORITY = "1 is most urgent, 10 least"

CATALOGUE: tuple[EventType, ...] = (
    # --- jobs ---------------------------------------------------------------
    EventType("job_created", "jobs", "A job was submitted.", (
        _JOB_ID, _id("photo_id", "photo"),
        Field("priority", "integer", description=_PRIORITY, minimum=1, maximum=10),
        Field("preset", "string", False, "develop preset the job applies"),
        _id("session_id", "session", required=False),
    )),
    EventType("job_started", "jobs", "A worker started processing a job.", (
        _JOB_ID, _id("photo_id", "photo"),
    )),
    EventType("job_progress", "jobs", "Progress of a running job.", (
        _JOB_ID,
        Field("stage", "string", description="loading, applying_preset, rendering or writing"),
        Field("progress", "number", description="percent done, 0-100", minimum=0, maximum=100),
        Field("message", "string", False, "what the job is doing, for people", default=""),
        _id("photo_id", "photo", required=False),
    ), state_key=("job_id",), phase="stage"),
    EventType("job_completed", "jobs", "A job finished.", (
        _JOB_ID, _id("photo_id", "photo"),
        Field("result", "object", description="output paths, sizes and timings"),
    ), ends=("job_progress", "job_id")),
    EventType("job_failed", "jobs", "A job failed.", (
        _JOB_ID, _id("photo_id", "photo"),
        Field("error_message", "string"),
        Field("error_details", "object", False),
    ), ends=("job_progress", "job_id")),
    # --- photos -------------------------------------------------------------
    EventType("photo_imported", "photos", "A photo was imported.", (
        _id("photo_id", "photo"), _id("session_id", "session"),
        Field("file_name", "string"),
        Field("file_path", "string", False, "where the photo was imported from"),
        Field("thumbnail_url", "string", False, "URL of a small preview"),
    )),
    EventType("photo_analyzed", "photos", "Analysis of a photo is complete.", (
        _id("photo_id", "photo"),
        Field("ai_score", "number", description="0-5", minimum=0, maximum=5),
        Field("analysis_results", "object", description="every measured metric"),
        _id("session_id", "session", required=False),
    )),
    EventType("photo_selected", "photos", "A photo was selected for processing.", (
        _id("photo_id", "photo"),
        Field("context_tag", "string"),
        Field("selected_preset", "string"),
        _id("session_id", "session", required=False),
    )),
    EventType("photo_approved", "photos", "A person approved a photo.", (
        _id("photo_id", "photo"), _id("session_id", "session"),
    )),
    EventType("photo_rejected", "photos", "A person rejected a photo.", (
        _id("photo_id", "photo"), _id("session_id", "session"),
        Field("reason", "string", max_length=1000),
    )),
    # A photo's marks are state: the latest per photo is what it has now (absent flag or
    # color_label: none).
    EventType("photo_rated", "photos", "A photo's star rating, flag or colour label changed.", (
        _id("photo_id", "photo"), _id("session_id", "session"),
        Field("rating", "integer", description="stars, 0-5 (0: none)", minimum=0, maximum=5),
        Field("flag", "string", False, "absent when unflagged", choices=FLAGS),
        Field("color_label", "string", False, "absent when none", choices=COLOR_LABELS),
    ), state_key=("photo_id",)),
    # --- sessions -----------------------------------------------------------
    EventType("session_created", "sessions", "A session was created.", (
        _id("session_id", "session"),
        Field("session_name", "string"),
        Field("import_folder", "string"),
    )),
    EventType("session_updated", "sessions", "Progress of a session.", (
        _id("session_id", "session"),
        Field("total_photos", "integer", minimum=0),
        Field("processed_photos", "integer", minimum=0),
        Field("status", "string", False),
    ), (
        Derived(Field("progress_percent", "number", description="0-100, 2 places"),
                lambda p: _percent(p["processed_photos"], p["total_photos"])),
    ), state_key=("session_id",), phase="status"),
    EventType("session_completed", "sessions", "Every photo of a session is decided.", (
        _id("session_id", "session"),
        Field("total_photos", "integer", minimum=0),
        Field("approved_photos", "integer", minimum=0),
        Field("session_name", "string", False),
    ), (
        Derived(Field("approval_rate", "number", description="0-100, 2 places"),
                lambda p: _percent(p["approved_photos"], p["total_photos"])),
    ), ends=("session_updated", "session_id")),
    EventType("import_progress", "sessions", "Progress of a session's folder import: files "
              "found, and what became of each so far (found = imported + duplicates + refused "
              "+ remaining).", (
        _id("session_id", "session"),
        Field("found", "integer", minimum=0),
        Field("imported", "integer", minimum=0),
        Field("duplicates", "integer", minimum=0),
        Field("refused", "integer", minimum=0),
        Field("remaining", "integer", minimum=0),
        Field("batch", "integer", False, "which folder import of the session (1, 2, ...)",
              minimum=0),
    ), state_key=("session_id",)),
    # --- system -------------------------------------------------------------
    EventType("system_status", "system", "Periodic status of the machine and pipeline.", (
        Field("status", "string"),
        Field("details", "object"),
    ), state_key=()),
    EventType("resource_warning", "system", "A resource crossed its threshold.", (
        Field("resource_type", "string"),
        Field("current_value", "number"),
        Field("threshold", "number"),
        Field("message", "string", False),
    )),
    EventType("error_occurred", "system", "An unexpected error in the pipeline.", (
        Field("error_type", "string"),
        Field("error_message", "string"),
        Field("error_details", "object", False),
        Field("job_id", "id", False),
        _id("photo_id", "photo", required=False),
    )),
    # --- queue --------------------------------------------------------------
    EventType("queue_status", "queue", "Job counts by status.", (
        Field("pending", "integer", minimum=0),
        Field("processing", "integer", minimum=0),
        Field("completed", "integer", minimum=0),
        Field("failed", "integer", minimum=0),
        Field("paused", "boolean", False, "the queue is paused (POST /api/queue/pause): "
              "no job starts until it is resumed"),
    ), (
        Derived(Field("total", "integer", description="sum of the four counts", minimum=0),
                lambda p: p["pending"] + p["processing"] + p["completed"] + p["failed"]),
    ), state_key=()),
    EventType("priority_changed", "queue", "A job's priority was changed.", (
        _JOB_ID,
        Field("old_priority", "integer", minimum=1, maximum=10),
        Field("new_priority", "integer", minimum=1, maximum=10),
        Field("reason", "string", False, default=""),
    )),
    # --- approval -----------------------------------------------------------
    EventType("approval_queue_updated", "approval", "The approval queue changed.", (
        Field("queue_count", "integer", minimum=0),
        _id("session_id", "session", required=False),
    ), state_key=("session_id",)),
    EventType("photo_decision_reverted", "approval", "A decision was undone: the photo awaits "
              "approval again.", (
        _id("photo_id", "photo"), _id("session_id", "session"),
        Field("previous_decision", "string", choices=("approved", "rejected")),
    )),
    # --- export -------------------------------------------------------------
    EventType("export_started", "export", "An export of a photo started.", (
        _id("photo_id", "photo"),
        Field("preset_name", "string"),
        Field("destination", "string"),
        Field("export_id", "id", False),
    )),
    EventType("export_completed", "export", "A photo was exported.", (
        _id("photo_id", "photo"),
        Field("preset_name", "string"),
        Field("output_path", "string"),
        Field("file_size", "integer", minimum=0),
        Field("export_id", "id", False),
    )),
    EventType("export_failed", "export", "An export of a photo failed.", (
        _id("photo_id", "photo"),
        Field("preset_name", "string"),
        Field("error_message", "string"),
        Field("export_id", "id", False),
    )),
)

EVENTS: dict[str, EventType] = {e.name: e for e in CATALOGUE}


# --- the hub the helpers publish to ------------------------------------------

_hub = None


def attach(hub) -> None:
    """Route every helper to ``hub`` (called by the app when its hub starts)."""
    global _hub
    _hub = hub


def detach(hub) -> None:
    """Stop routing to ``hub`` if it is the attached one."""
    global _hub
    if _hub is hub:
        _hub = None


class HubBinding:
    """A runtime service: the helpers publish to ``hub`` from its start until its stop.

    Added right after the hub, it stops just before it, so the pipeline's
    services can still publish while they wind down.
    """

    def __init__(self, hub):
        self.hub = hub

    def start(self) -> None:
        attach(self.hub)

    def stop(self) -> None:
        detach(self.hub)


def build_event(name: str, data: Mapping[str, Any]) -> tuple[str, dict]:
    """Validate a catalogue event given as a mapping; return (channel, payload).

    Used by ``POST /websocket/broadcast``: unknown and reserved keys are a
    TypeError, exactly as for the helpers.
    """
    event = EVENTS[name]
    names = {f.name for f in event.fields}
    unknown = sorted(set(data) - names)
    if unknown:
        raise TypeError(f"{name}: unknown field(s) {', '.join(unknown)}")
    return event.channel, event.build(data)


def publish(name: str, channel: str, payload: dict, source: Optional[str] = None):
    """Hand an already validated event to the attached hub.

    Without one (a script that imports the helpers, no server in this process)
    nothing is sent, and the first such call warns (``RuntimeWarning``, once per
    process) how to send the event from another process instead.
    """
    hub = _hub
    if hub is None:
        if not getattr(publish, "warned", False):
            import warnings

            publish.warned = True  # type: ignore[attr-defined]
            warnings.warn(
                f"broadcast_{name}: no Darkroom server runs in this process, so nothing was sent "
                f"(and later calls will not warn again). From another process, send events to the "
                f"running server with `darkroom broadcast {name} --channel {channel} --data JSON` "
                f"or darkroom.client (POST /websocket/broadcast).",
                RuntimeWarning, stacklevel=3)
        return None
    return hub.publish(name, channel, payload, source=source)


def _helper(name: str) -> Callable[..., Any]:
    event = EVENTS[name]
    sig = event.signature()

    def helper(*args, **kwargs):
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"broadcast_{name}: {exc}") from None
        payload = event.build(bound.arguments)
        return publish(name, event.channel, payload)

    helper.__name__ = helper.__qualname__ = f"broadcast_{name}"
    helper.__signature__ = sig  # type: ignore[attr-defined]
    helper.__doc__ = f"Publish ``{name}`` on channel ``{event.channel}``: {event.description}"
    return helper


# One helper per catalogue event, named here so a reader can find them.
broadcast_job_created = _helper("job_created")
broadcast_job_started = _helper("job_started")
broadcast_job_progress = _helper("job_progress")
broadcast_job_completed = _helper("job_completed")
broadcast_job_failed = _helper("job_failed")
broadcast_photo_imported = _helper("photo_imported")
broadcast_photo_analyzed = _helper("photo_analyzed")
broadcast_photo_selected = _helper("photo_selected")
broadcast_photo_approved = _helper("photo_approved")
broadcast_photo_rejected = _helper("photo_rejected")
broadcast_photo_rated = _helper("photo_rated")
broadcast_session_created = _helper("session_created")
broadcast_session_updated = _helper("session_updated")
broadcast_session_completed = _helper("session_completed")
broadcast_import_progress = _helper("import_progress")
broadcast_system_status = _helper("system_status")
broadcast_resource_warning = _helper("resource_warning")
broadcast_error_occurred = _helper("error_occurred")
broadcast_queue_status = _helper("queue_status")
broadcast_priority_changed = _helper("priority_changed")
broadcast_approval_queue_updated = _helper("approval_queue_updated")
broadcast_photo_decision_reverted = _helper("photo_decision_reverted")
broadcast_export_started = _helper("export_started")
broadcast_export_completed = _helper("export_completed")
broadcast_export_failed = _helper("export_failed")


def catalog_schema() -> dict:
    """The whole catalogue as served at ``GET /websocket/catalog``."""
    return {
        "channels": list(CHANNELS),
        "events": {e.name: {"channel": e.channel, "schema": e.schema()} for e in CATALOGUE},
    }


def markdown_table() -> str:
    """The README's event table, generated from the catalogue."""
    rows = ["| Event | Channel | Required fields | Optional fields | Computed |",
            "|---|---|---|---|---|"]
    for e in CATALOGUE:
        req = ", ".join(f"`{f.name}`" for f in e.fields if f.required)
        opt = ", ".join(f"`{f.name}`" for f in e.fields if not f.required)
        der = ", ".join(f"`{d.field.name}`" for d in e.derived)
        rows.append(f"| `{e.name}` | `{e.channel}` | {req} | {opt} | {der} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
