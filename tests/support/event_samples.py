"""Valid values for every field of the event catalogue, for tests that send each event."""

from __future__ import annotations


def sample(field, variant: int = 0):
    """A valid value for ``field`` (``variant`` 1 picks the other id type and choice)."""
    if field.type == "id":
        return ("task-abc123", 7)[variant % 2]
    if field.choices:
        return field.choices[variant % len(field.choices)]
    if field.type in ("integer", "number"):
        low = field.minimum if field.minimum is not None else 0
        high = field.maximum if field.maximum is not None else low + 100
        value = (low + high) / 2
        return int(value) if field.type == "integer" else value + 0.25
    return {"string": "some text", "boolean": True, "object": {"k": [1, "a"]},
            "array": [1, 2]}[field.type]


def full_args(event, variant: int = 0) -> dict:
    """Every field of ``event``, required and optional, with a valid value."""
    return {f.name: sample(f, variant) for f in event.fields}
