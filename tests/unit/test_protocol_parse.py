"""The /ws client protocol (README "Real-time protocol"): what a client may send, and
the stable error ``code`` each kind of bad input gets."""

from __future__ import annotations

import json
import re

import pytest

from darkroom.realtime import protocol
from darkroom.realtime.protocol import (
    ProtocolError,
    Request,
    connect_requests,
    parse,
    parse_message,
    parse_position,
    split_channels,
)

CHANNELS = ("jobs", "photos", "sessions", "system", "queue", "approval", "export")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def refused(raw, channels=CHANNELS) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        parse(raw if isinstance(raw, (str, bytes, bytearray)) else json.dumps(raw), channels)
    return info.value


def ok(message: dict, channels=CHANNELS) -> Request:
    return parse(json.dumps(message), channels)


# --- the four requests -------------------------------------------------------

def test_ping():
    assert ok({"type": "ping"}) == Request("ping")


def test_register_with_type_and_name():
    req = ok({"type": "register", "client_type": "gui", "client_name": "My Client"})
    assert (req.type, req.client_type, req.client_name) == ("register", "gui", "My Client")


@pytest.mark.parametrize("client_type", ["gui", "mobile", "lightroom", "unknown"])
def test_register_accepts_each_of_the_four_client_types(client_type):
    assert ok({"type": "register", "client_type": client_type}).client_type == client_type


@pytest.mark.parametrize("message", [{"type": "register"},
                                     {"type": "register", "client_type": None}])
def test_register_defaults_to_unknown(message):
    """The Lightroom plugin's Lua JSON sends a null or nothing for an unset field."""
    req = ok(message)
    assert req.client_type == "unknown" and req.client_name is None


def test_client_name_of_exactly_100_characters_is_accepted():
    assert ok({"type": "register", "client_name": "n" * 100}).client_name == "n" * 100


def test_subscribe_keeps_order_and_drops_duplicates():
    req = ok({"type": "subscribe", "channels": ["photos", "jobs", "photos"]})
    assert req == Request("subscribe", channels=("photos", "jobs"))


@pytest.mark.parametrize("channels", [None, []])
def test_subscribe_to_nothing(channels):
    """A missing list and an empty Lua table both mean no channels, not an error."""
    message = {"type": "subscribe"} if channels is None else {"type": "subscribe", "channels": channels}
    assert ok(message).channels == ()


def test_subscribe_with_since_and_snapshot():
    req = ok({"type": "subscribe", "channels": ["jobs"], "since": {"epoch": "9f1c", "seq": 0},
              "snapshot": True})
    assert req.since == {"epoch": "9f1c", "seq": 0} and req.snapshot is True


def test_since_keeps_only_epoch_and_seq():
    req = ok({"type": "subscribe", "channels": [], "since": {"epoch": "e", "seq": 7, "x": 1}})
    assert req.since == {"epoch": "e", "seq": 7}


@pytest.mark.parametrize("snapshot", [None, False])
def test_snapshot_off_by_default(snapshot):
    assert ok({"type": "subscribe", "channels": ["jobs"], "snapshot": snapshot}).snapshot is False


def test_unsubscribe():
    assert ok({"type": "unsubscribe", "channels": ["photos"]}) == Request("unsubscribe",
                                                                          channels=("photos",))


def test_known_channels_come_from_the_caller():
    """The protocol holds no channel list of its own: the hub's catalogue decides."""
    assert ok({"type": "subscribe", "channels": ["custom"]}, channels=("custom",)).channels == ("custom",)
    assert refused({"type": "subscribe", "channels": ["jobs"]}, channels=("custom",)).code == "unknown_channel"


# --- bad input: one stable code each ------------------------------------------

@pytest.mark.parametrize("raw, code, request_type", [
    ("not json", "invalid_json", None),
    ("{", "invalid_json", None),
    ("[" * 100_000 + "]" * 100_000, "invalid_json", None),  # too deep to parse
    ("[]", "invalid_message", None),
    ("42", "invalid_message", None),
    ('"ping"', "invalid_message", None),
    ("null", "invalid_message", None),
    ("{}", "missing_type", None),
    ('{"type": null}', "missing_type", None),
    ('{"type": "subscribe_all"}', "unknown_type", "subscribe_all"),
    ('{"type": "pong"}', "unknown_type", "pong"),
    ('{"type": 7}', "unknown_type", None),
    ('{"type": ["ping"]}', "unknown_type", None),
    ('{"type": "register", "client_type": "desktop"}', "unknown_client_type", "register"),
    ('{"type": "register", "client_type": 1}', "unknown_client_type", "register"),
    ('{"type": "register", "client_name": 5}', "invalid_field", "register"),
    ('{"type": "register", "client_name": "' + "n" * 101 + '"}', "invalid_field", "register"),
    ('{"type": "register", "client_name": "\\ud800"}', "invalid_field", "register"),
    ('{"type": "subscribe", "channels": "jobs"}', "invalid_channels", "subscribe"),
    ('{"type": "subscribe", "channels": {"jobs": true}}', "invalid_channels", "subscribe"),
    ('{"type": "unsubscribe", "channels": "jobs"}', "invalid_channels", "unsubscribe"),
    ('{"type": "subscribe", "channels": ["jobs", "nope"]}', "unknown_channel", "subscribe"),
    ('{"type": "subscribe", "channels": [1]}', "unknown_channel", "subscribe"),
    ('{"type": "unsubscribe", "channels": ["nope"]}', "unknown_channel", "unsubscribe"),
    ('{"type": "subscribe", "channels": [], "since": 5}', "invalid_field", "subscribe"),
    ('{"type": "subscribe", "channels": [], "since": {"seq": 1}}', "invalid_field", "subscribe"),
    ('{"type": "subscribe", "channels": [], "since": {"epoch": 1, "seq": 1}}', "invalid_field", "subscribe"),
    ('{"type": "subscribe", "channels": [], "since": {"epoch": "' + "e" * 65 + '", "seq": 1}}',
     "invalid_field", "subscribe"),
    ('{"type": "subscribe", "channels": [], "since": {"epoch": "e"}}', "invalid_field", "subscribe"),
    ('{"type": "subscribe", "channels": [], "since": {"epoch": "e", "seq": -1}}', "invalid_field", "subscribe"),
    ('{"type": "subscribe", "channels": [], "since": {"epoch": "e", "seq": 1.5}}', "invalid_field", "subscribe"),
    ('{"type": "subscribe", "channels": [], "since": {"epoch": "e", "seq": "3"}}', "invalid_field", "subscribe"),
    ('{"type": "subscribe", "channels": [], "since": {"epoch": "e", "seq": true}}', "invalid_field", "subscribe"),
    ('{"type": "subscribe", "channels": [], "snapshot": "yes"}', "invalid_field", "subscribe"),
    ('{"type": "subscribe", "channels": [], "snapshot": 1}', "invalid_field", "subscribe"),
])
def test_bad_input_gets_its_code(raw, code, request_type):
    err = refused(raw)
    assert (err.code, err.request_type) == (code, request_type)
    assert err.message


@pytest.mark.parametrize("raw", [b'{"type": "ping"}', bytearray(b"\x00\x01")])
def test_binary_is_refused_even_when_it_is_json(raw):
    assert refused(raw).code == "binary_not_supported"


def test_unknown_type_is_echoed_at_most_64_characters():
    assert refused({"type": "x" * 500}).request_type == "x" * 64


def test_unknown_type_that_utf8_cannot_carry_is_not_echoed():
    """A lone surrogate in the echo would make our own error reply unencodable."""
    assert refused('{"type": "\\ud800"}').request_type is None


def test_unknown_channel_error_names_the_known_ones():
    err = refused({"type": "subscribe", "channels": ["nope"]})
    assert "'nope'" in err.message and all(name in err.message for name in CHANNELS)


# --- what the server sends back ---------------------------------------------

def test_reply_puts_type_and_timestamp_first():
    msg = protocol.reply("pong", client_id="c1")
    assert list(msg) == ["type", "timestamp", "client_id"] and msg["type"] == "pong"
    assert TIMESTAMP.match(msg["timestamp"])


def test_error_message_has_code_error_and_request_type():
    msg = protocol.error_message(ProtocolError("unknown_channel", "no such channel", "subscribe"))
    assert {k: msg[k] for k in ("type", "code", "error", "request_type")} == {
        "type": "error", "code": "unknown_channel", "error": "no such channel",
        "request_type": "subscribe"}
    json.dumps(msg)  # a reply always encodes


def test_utc_timestamp_is_iso_8601_with_milliseconds_and_z():
    from datetime import datetime, timedelta, timezone

    when = datetime(2025, 11, 9, 13, 34, 56, 789123, tzinfo=timezone(timedelta(hours=1)))
    assert protocol.utc_timestamp(when.astimezone(timezone.utc)) == "2025-11-09T12:34:56.789Z"
    assert TIMESTAMP.match(protocol.utc_timestamp())


# --- Lua shapes, positions and connect URLs ------------------------------------------------

@pytest.mark.parametrize("empty", [[], {}])
def test_an_empty_lua_table_is_an_empty_list_of_channels(empty):
    assert ok({"type": "subscribe", "channels": empty}).channels == ()
    assert ok({"type": "unsubscribe", "channels": empty}).channels == ()


@pytest.mark.parametrize("empty", [[], {}])
def test_an_empty_lua_table_for_since_means_no_since(empty):
    assert ok({"type": "subscribe", "channels": ["jobs"], "since": empty}).since is None


def test_a_lua_number_holding_an_integer_is_that_integer():
    req = ok({"type": "subscribe", "channels": ["jobs"], "since": {"epoch": "e", "seq": 42.0}})
    assert req.since == {"epoch": "e", "seq": 42} and isinstance(req.since["seq"], int)


def test_epoch_seconds_timestamps_and_unknown_fields_are_ignored():
    assert ok({"type": "ping", "timestamp": 1764950400}) == Request("ping")
    assert ok({"type": "register", "client_type": "lightroom", "timestamp": 1764950400.5}
              ).client_type == "lightroom"


def test_parse_message_takes_a_decoded_message():
    assert parse_message({"type": "subscribe", "channels": ["jobs"]}, CHANNELS).channels == ("jobs",)
    with pytest.raises(ProtocolError) as err:
        parse_message(["ping"], CHANNELS)
    assert err.value.code == "invalid_message"


@pytest.mark.parametrize("text, expected", [
    ("9f1c:0", {"epoch": "9f1c", "seq": 0}),
    (" 9f1c:4182 ", {"epoch": "9f1c", "seq": 4182}),
])
def test_positions_are_epoch_colon_seq(text, expected):
    assert parse_position(text) == expected


@pytest.mark.parametrize("text", ["", "9f1c", "9f1c:", "9f1c:-1", "9f1c:1.5", "9f1c:x", ":3",
                                  "e" * 65 + ":1", "9f1c:\u0663"])
def test_bad_positions_are_invalid_field(text):
    with pytest.raises(ProtocolError) as err:
        parse_position(text)
    assert err.value.code == "invalid_field"


def test_split_channels():
    assert split_channels(" jobs, photos,,") == ["jobs", "photos"]
    assert split_channels(None) == [] and split_channels("") == []


def test_connect_url_register_and_subscribe():
    register, subscribe = connect_requests({"channels": "photos,sessions,photos",
                                            "client_type": "mobile", "client_name": "Phone",
                                            "since": "e:5", "snapshot": "1"}, CHANNELS)
    assert register == Request("register", client_type="mobile", client_name="Phone")
    assert subscribe == Request("subscribe", channels=("photos", "sessions"),
                                since={"epoch": "e", "seq": 5}, snapshot=True)
    assert connect_requests({}, CHANNELS) == (None, None)
    # The caller's position (an SSE Last-Event-ID) wins over the URL's.
    _, sub = connect_requests({"channels": "jobs", "since": "e:1"}, CHANNELS, since="e:9")
    assert sub.since == {"epoch": "e", "seq": 9}


@pytest.mark.parametrize("args, code", [
    ({"channels": "jobs,nope"}, "unknown_channel"),
    ({"client_type": "toaster"}, "unknown_client_type"),
    ({"channels": "jobs", "since": "later"}, "invalid_field"),
    ({"channels": ",".join(["jobs"] * 33)}, "too_many_channels"),
])
def test_connect_url_refusals_are_protocol_errors(args, code):
    with pytest.raises(ProtocolError) as err:
        connect_requests(args, CHANNELS)
    assert err.value.code == code


def test_stamp_formats_any_instant_as_datetime_does():
    from datetime import datetime, timezone

    from darkroom.realtime.protocol import stamp, utc_timestamp

    base = 1_764_633_599.0  # a second before midnight UTC: the date changes too
    instants = [base + n / 8 for n in range(24)] + [base + 0.9999, base + 1.0, 0.0, 4102444799.999]
    for t in instants + list(reversed(instants)):  # a cached second is never reused for another
        expected = datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="milliseconds")
        assert stamp(t) == expected.replace("+00:00", "Z"), t
    before = datetime.now(timezone.utc).replace(microsecond=0)
    now = datetime.fromisoformat(utc_timestamp().replace("Z", "+00:00"))
    assert before <= now <= datetime.now(timezone.utc)
