"""Typed events, built at run time from the server's catalogue (``GET /websocket/catalog``).

Nothing here is written per event: each catalogue entry's JSON Schema becomes a
small ``Event`` subclass (``job_progress`` -> ``JobProgress``) with one read-only,
annotated property per field (its schema description is the property's doc;
an optional field that is absent reads as ``None``). Any other message (a
custom broadcast, a reply such as ``pong``) is a plain ``Event``. Every event
also reads like a mapping: ``event["job_id"]``, ``event.get("message")``,
``event.to_dict()`` (the JSON exactly as received).
"""

from __future__ import annotations

import re
from typing import Any, Iterator, Mapping, Optional, Union

_JSON_TYPES: dict[str, Any] = {"string": str, "integer": int, "number": float, "boolean": bool,
                               "object": dict, "array": list, "null": type(None)}


class Event:
    """One message from the server: attribute and item access to its JSON fields."""

    __slots__ = ("_data",)
    fields: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    schema: Optional[dict] = None
    channel_name: Optional[str] = None  # the catalogue's channel for this type

    def __init__(self, data: Mapping[str, Any]):
        object.__setattr__(self, "_data", dict(data))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("events are read-only")

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Event):
            return self._data == other._data
        if isinstance(other, Mapping):
            return self._data == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def keys(self):
        return self._data.keys()

    def items(self):
        return self._data.items()

    def to_dict(self) -> dict:
        """The message's JSON as received (a copy)."""
        return dict(self._data)

    @property
    def is_event(self) -> bool:
        """True for a published event (it has a channel and a ``seq``), False for a reply."""
        return "seq" in self._data and "channel" in self._data

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self._data.items() if k != "type")
        return f"{type(self).__name__}({shown})"


def class_name(event_type: str) -> str:
    """``job_progress`` -> ``JobProgress``."""
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", event_type) if part) \
        or "Event"


def _annotation(prop: Mapping[str, Any]) -> Any:
    if "const" in prop:
        return type(prop["const"])
    kinds = prop.get("type")
    if isinstance(kinds, str):
        kinds = [kinds]
    if not kinds:
        return Any
    types = tuple(_JSON_TYPES.get(k, Any) for k in kinds)
    if len(types) == 1:
        return types[0]
    return Union[types]  # type: ignore[valid-type]


def _field(name: str, prop: Mapping[str, Any], required: bool) -> property:
    def read(self: Event) -> Any:
        return self._data.get(name)

    read.__name__ = name
    note = prop.get("description") or ""
    read.__doc__ = f"{note}{' ' if note else ''}({'required' if required else 'optional'})"
    return property(read)


def event_class(name: str, channel: Optional[str], schema: Mapping[str, Any]) -> type[Event]:
    """An ``Event`` subclass for one catalogue entry: a property per schema field."""
    props: Mapping[str, Any] = schema.get("properties") or {}
    required = tuple(schema.get("required") or ())
    namespace: dict[str, Any] = {
        "__slots__": (),
        "__doc__": f"``{name}`` on channel ``{channel}``: {schema.get('description') or ''}".strip(),
        "__annotations__": {},
        "fields": tuple(props),
        "required": required,
        "schema": dict(schema),
        "channel_name": channel,
    }
    for field_name, prop in props.items():
        if not field_name.isidentifier() or field_name in ("fields", "required", "schema", "get",
                                                           "keys", "items", "to_dict"):
            continue  # still readable as event[field_name]
        namespace["__annotations__"][field_name] = _annotation(prop)
        namespace[field_name] = _field(field_name, prop, field_name in required)
    return type(class_name(name), (Event,), namespace)


class Catalog:
    """The event types a server declares, as classes: ``catalog["job_progress"]``.

    ``Catalog.from_json(body)`` takes the ``GET /websocket/catalog`` body;
    ``Catalog()`` is empty (every message is a plain ``Event``).
    """

    def __init__(self, types: Optional[Mapping[str, type[Event]]] = None,
                 channels: Optional[list[str]] = None):
        self.types: dict[str, type[Event]] = dict(types or {})
        self.channels: list[str] = list(channels or [])

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> "Catalog":
        events = body.get("events") or {}
        types = {name: event_class(name, entry.get("channel"), entry.get("schema") or {})
                 for name, entry in events.items()}
        return cls(types, list(body.get("channels") or []))

    def __getitem__(self, name: str) -> type[Event]:
        return self.types[name]

    def __contains__(self, name: object) -> bool:
        return name in self.types

    def __iter__(self) -> Iterator[str]:
        return iter(self.types)

    def __len__(self) -> int:
        return len(self.types)

    def __getattr__(self, name: str) -> type[Event]:
        """``catalog.JobProgress``: the class by its Python name."""
        for cls in self.__dict__.get("types", {}).values():
            if cls.__name__ == name:
                return cls
        raise AttributeError(name)

    def event(self, message: Mapping[str, Any]) -> Event:
        """The message as its catalogue class when its type is declared, else a plain ``Event``."""
        cls = self.types.get(str(message.get("type")), Event)
        return cls(message)
