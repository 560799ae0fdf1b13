"""The event catalogue and its ``broadcast_*`` helpers (README "Events"): validation at
the call site, computed fields, keys the server owns, and a JSON Schema per event that
accepts exactly what the helpers produce."""

from __future__ import annotations

import inspect
import math
import re
from pathlib import Path

import pytest
from event_samples import full_args, sample
from jsonschema import Draft202012Validator, FormatChecker

import websocket_events as events
from darkroom.realtime.protocol import utc_timestamp

README = Path(__file__).resolve().parents[2] / "README.md"
NAMES = [e.name for e in events.CATALOGUE]


def required_args(event) -> dict:
    return {f.name: sample(f) for f in event.fields if f.required}


def on_the_wire(event, payload: dict, seq: int = 1) -> dict:
    """The event as a client receives it: the server's keys, then the payload."""
    return {"type": event.name, "timestamp": utc_timestamp(), "channel": event.channel,
            "seq": seq, **payload}


def validator(event) -> Draft202012Validator:
    schema = event.schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def helper(name):
    return getattr(events, f"broadcast_{name}")


@pytest.fixture(autouse=True)
def no_hub():
    """These tests run with no hub attached: a helper validates and returns."""
    assert getattr(events, "_hub", None) is None, "a test left a hub attached"


# --- the catalogue's shape ----------------------------------------------------

def test_every_event_has_a_known_channel_a_unique_name_and_a_helper():
    assert len(set(NAMES)) == len(NAMES) and set(events.EVENTS) == set(NAMES)
    for e in events.CATALOGUE:
        assert e.channel in events.CHANNELS, e.name
        assert re.fullmatch(r"[a-z][a-z0-9_]*", e.name)
        assert helper(e.name).__name__ == f"broadcast_{e.name}"


def test_every_channel_carries_an_event():
    assert {e.channel for e in events.CATALOGUE} == set(events.CHANNELS)


def test_the_readme_lists_the_channels_of_the_catalogue():
    line = next(ln for ln in README.read_text().splitlines() if ln.startswith("Channels: "))
    assert re.findall(r"`([a-z]+)`", line) == list(events.CHANNELS)


def test_no_event_declares_a_key_the_server_owns():
    for e in events.CATALOGUE:
        names = {f.name for f in e.fields} | {d.field.name for d in e.derived}
        assert not names & events.RESERVED_KEYS, e.name
    assert {"type", "timestamp", "channel", "seq"} <= events.RESERVED_KEYS


def test_state_keys_and_terminal_events_name_real_fields():
    """The hub coalesces and snapshots by these; a typo would silently merge every key."""
    for e in events.CATALOGUE:
        fields = {f.name for f in e.fields}
        if e.state_key is not None:
            assert set(e.state_key) <= fields, e.name
        if e.phase is not None:
            assert e.state_key is not None and e.phase in fields, e.name
        if e.ends is not None:
            ended, key_field = e.ends
            assert events.EVENTS[ended].state_key == (key_field,) and key_field in fields, e.name


def test_helper_signatures_list_required_fields_first():
    for e in events.CATALOGUE:
        params = list(inspect.signature(helper(e.name)).parameters.values())
        assert {p.name for p in params} == {f.name for f in e.fields}, e.name
        required = [p.default is inspect.Parameter.empty for p in params]
        assert required == sorted(required, reverse=True), e.name


# --- helpers validate at the call site -----------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_a_valid_call_without_a_hub_is_a_no_op(name):
    e = events.EVENTS[name]
    assert helper(name)(**full_args(e)) is None
    assert helper(name)(**required_args(e)) is None


def test_positional_arguments_follow_the_signature():
    assert events.broadcast_job_started("task-1", 5) is None
    with pytest.raises(TypeError, match="broadcast_job_started"):
        events.broadcast_job_started("task-1", 5, 6)


@pytest.mark.parametrize("name", NAMES)
def test_a_missing_required_field_is_a_type_error(name):
    e = events.EVENTS[name]
    for f in (f for f in e.fields if f.required):
        args = required_args(e)
        del args[f.name]
        with pytest.raises(TypeError, match=f.name):
            helper(name)(**args)
        args[f.name] = None
        with pytest.raises(TypeError, match=f.name):
            helper(name)(**args)


@pytest.mark.parametrize("name", NAMES)
def test_an_unknown_or_server_owned_argument_is_a_type_error(name):
    e = events.EVENTS[name]
    for extra in ("colour", *sorted(events.RESERVED_KEYS)):
        with pytest.raises(TypeError, match=f"broadcast_{name}"):
            helper(name)(**required_args(e), **{extra: "x"})


@pytest.mark.parametrize("name", NAMES)
def test_a_computed_field_cannot_be_passed(name):
    e = events.EVENTS[name]
    for d in e.derived:
        with pytest.raises(TypeError):
            helper(name)(**required_args(e), **{d.field.name: 1})


WRONG_TYPES = {
    "string": [5, b"bytes", ["a"]],
    "integer": ["5", 5.0, True, None],
    "number": ["5", True, [1]],
    "boolean": [1, "true"],
    "object": [[("k", 1)], "{}"],
    "array": ["ab", {"a": 1}],
    "id": [1.5, True, ["x"]],
}


@pytest.mark.parametrize("name", NAMES)
def test_a_mistyped_field_is_a_type_error(name):
    e = events.EVENTS[name]
    for f in e.fields:
        for wrong in WRONG_TYPES[f.type]:
            if wrong is None:
                continue  # None means "not given"
            with pytest.raises(TypeError, match=f.name):
                helper(name)(**{**required_args(e), f.name: wrong})


def test_bool_is_never_a_number_on_the_wire():
    with pytest.raises(TypeError):
        events.broadcast_job_progress(job_id=1, stage="loading", progress=True)
    with pytest.raises(TypeError):
        events.broadcast_queue_status(pending=False, processing=0, completed=0, failed=0)


@pytest.mark.parametrize("name", NAMES)
def test_a_value_out_of_range_is_a_value_error(name):
    e = events.EVENTS[name]
    for f in e.fields:
        bad = []
        if f.minimum is not None:
            bad.append(f.minimum - 1)
        if f.maximum is not None:
            bad.append(f.maximum + 1)
        if f.max_length is not None:
            bad.append("x" * (f.max_length + 1))
        for value in bad:
            with pytest.raises(ValueError, match=f.name):
                helper(name)(**{**required_args(e), f.name: value})


def test_bounds_are_inclusive():
    events.broadcast_job_progress(job_id=1, stage="writing", progress=100)
    events.broadcast_job_progress(job_id=1, stage="loading", progress=0.0)
    events.broadcast_job_created(job_id=1, photo_id=0, priority=10)
    events.broadcast_job_created(job_id=1, photo_id=0, priority=1)
    events.broadcast_photo_rejected(photo_id=1, session_id=1, reason="r" * 1000)


def test_a_rejection_reason_is_at_most_1000_characters():
    """The approval API documents ``reason (<= 1000 chars)``; the event says the same."""
    with pytest.raises(ValueError, match="reason"):
        events.broadcast_photo_rejected(photo_id=1, session_id=1, reason="r" * 1001)
    assert events.EVENTS["photo_rejected"].schema()["properties"]["reason"]["maxLength"] == 1000


def test_marks_take_only_the_vocabulary_and_are_state_per_photo():
    """``photo_rated`` carries Lightroom's flags and labels only; the latest per photo is the
    photo's marks (coalesced and snapshotted by photo), and a revert names what was undone."""
    events.broadcast_photo_rated(photo_id=1, session_id=1, rating=5, flag="pick",
                                 color_label="purple")
    events.broadcast_photo_rated(photo_id=1, session_id=1, rating=0)
    for bad in ({"flag": "Pick"}, {"color_label": "white"}, {"rating": 6}, {"rating": -1}):
        with pytest.raises(ValueError):
            events.broadcast_photo_rated(**{"photo_id": 1, "session_id": 1, "rating": 1, **bad})
    rated = events.EVENTS["photo_rated"]
    assert rated.key({"photo_id": 4, "rating": 2}) == ("photo_rated", 4)
    assert rated.schema()["properties"]["color_label"]["enum"] == list(events.COLOR_LABELS)
    with pytest.raises(ValueError, match="previous_decision"):
        events.broadcast_photo_decision_reverted(photo_id=1, session_id=1,
                                                 previous_decision="pending")
    assert events.EVENTS["photo_decision_reverted"].key({"photo_id": 1}) is None


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_number_must_be_finite(value):
    """NaN and Infinity are not JSON: they would make the event undeliverable."""
    with pytest.raises(ValueError, match="finite"):
        events.broadcast_resource_warning(resource_type="cpu", current_value=value, threshold=90.0)


# --- payloads ---------------------------------------------------------------

def test_optional_fields_left_out_are_absent_or_take_their_default():
    payload = events.EVENTS["job_progress"].build({"job_id": "t", "stage": "loading", "progress": 5})
    assert payload == {"job_id": "t", "stage": "loading", "progress": 5, "message": ""}
    payload = events.EVENTS["photo_imported"].build({"photo_id": 1, "session_id": 2, "file_name": "a",
                                                     "file_path": None})
    assert payload == {"photo_id": 1, "session_id": 2, "file_name": "a"}


def test_ids_may_be_strings_or_integers():
    for job_id in ("task-abc123", 123, 0):
        events.broadcast_job_progress(job_id=job_id, stage="developing", progress=75.5)


@pytest.mark.parametrize("processed, total, percent", [
    (0, 0, 0.0), (3, 10, 30.0), (1, 3, 33.33), (2, 3, 66.67), (10, 10, 100.0), (12, 10, 100.0),
])
def test_progress_percent_is_0_to_100_with_2_places(processed, total, percent):
    payload = events.EVENTS["session_updated"].build(
        {"session_id": 1, "total_photos": total, "processed_photos": processed})
    assert payload["progress_percent"] == percent and isinstance(payload["progress_percent"], float)


@pytest.mark.parametrize("approved, total, rate", [(0, 0, 0.0), (1, 8, 12.5), (5, 7, 71.43)])
def test_approval_rate_is_0_to_100_with_2_places(approved, total, rate):
    payload = events.EVENTS["session_completed"].build(
        {"session_id": 1, "total_photos": total, "approved_photos": approved})
    assert payload["approval_rate"] == rate


def test_queue_total_is_the_sum_of_the_four_counts():
    payload = events.EVENTS["queue_status"].build(
        {"pending": 4, "processing": 2, "completed": 1, "failed": 3})
    assert payload["total"] == 10


def test_build_event_validates_a_mapping_like_a_helper():
    """``POST /websocket/broadcast`` takes the same path as the helpers."""
    channel, payload = events.build_event("photo_approved", {"photo_id": 1, "session_id": 2})
    assert (channel, payload) == ("photos", {"photo_id": 1, "session_id": 2})
    for bad, error in (({"photo_id": 1}, TypeError), ({"photo_id": 1, "session_id": 2, "seq": 9}, TypeError),
                       ({"photo_id": 1, "session_id": 2, "colour": 1}, TypeError),
                       ({"photo_id": -1, "session_id": 2}, ValueError)):
        with pytest.raises(error):
            events.build_event("photo_approved", bad)


# --- the JSON Schema of each event ------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_the_schema_accepts_every_payload_a_helper_builds(name):
    e = events.EVENTS[name]
    check = validator(e)
    for args in (full_args(e), full_args(e, 1), required_args(e)):
        check.validate(on_the_wire(e, e.build(args)))


@pytest.mark.parametrize("name", NAMES)
def test_the_schema_refuses_what_a_helper_refuses(name):
    """Schema and helper agree on required fields, types and bounds."""
    e = events.EVENTS[name]
    check = validator(e)
    good = on_the_wire(e, e.build(full_args(e)))
    assert not check.is_valid({**good, "type": "other"})
    assert not check.is_valid({**good, "channel": "elsewhere"})
    assert not check.is_valid({**good, "seq": 0})
    for key in ("type", "channel", "timestamp", "seq"):
        assert not check.is_valid({k: v for k, v in good.items() if k != key}), key
    for f in e.fields:
        if f.required:
            assert not check.is_valid({k: v for k, v in good.items() if k != f.name}), f.name
        wrong = next(w for w in WRONG_TYPES[f.type] if w is not None and not isinstance(w, bytes))
        assert not check.is_valid({**good, f.name: wrong}), f.name
        if f.minimum is not None:
            assert not check.is_valid({**good, f.name: f.minimum - 1}), f.name
        if f.maximum is not None:
            assert not check.is_valid({**good, f.name: f.maximum + 1}), f.name
        if f.max_length is not None:
            assert not check.is_valid({**good, f.name: "x" * (f.max_length + 1)}), f.name
        if f.choices is not None:
            assert not check.is_valid({**good, f.name: "maybe"}), f.name
    for d in e.derived:
        assert not check.is_valid({k: v for k, v in good.items() if k != d.field.name}), d.field.name


def test_the_served_catalogue_holds_every_channel_and_event_schema():
    served = events.catalog_schema()
    assert served["channels"] == list(events.CHANNELS)
    assert list(served["events"]) == NAMES
    for e in events.CATALOGUE:
        assert served["events"][e.name] == {"channel": e.channel, "schema": e.schema()}


def test_the_markdown_table_has_one_row_per_event():
    rows = events.markdown_table().splitlines()[2:]
    assert [re.match(r"\| `([a-z_]+)` \|", r).group(1) for r in rows] == NAMES
    session_row = rows[NAMES.index("session_updated")]
    assert "`progress_percent`" in session_row.rsplit("|", 2)[-2]
