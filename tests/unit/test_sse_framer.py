"""The SSE framer (darkroom/realtime/transports/sse.py): a pure function of the hub's JSON bytes."""

from __future__ import annotations

import json

from darkroom.realtime.transports import sse

EVENT = b'{"type":"job_progress","timestamp":"t","channel":"jobs","seq":41,"job_id":1}'


def parse(stream: bytes) -> list[dict]:
    """Records as EventSource dispatches them."""
    out = []
    for block in stream.split(b"\n\n"):
        fields: dict = {}
        for line in block.split(b"\n"):
            if line and not line.startswith(b":"):
                name, _, value = line.partition(b": ")
                fields.setdefault(name.decode(), []).append(value)
        if "data" in fields:
            out.append({"id": fields.get("id", [None])[-1], "event": fields["event"][-1].decode(),
                        "data": json.loads(b"\n".join(fields["data"]))})
    return out


def test_an_event_has_id_type_and_the_json_on_one_line():
    frame, _ = sse.framers("ep")
    assert frame(EVENT) == b"id: ep:41\nevent: job_progress\ndata: " + EVENT + b"\n\n"


def test_replies_carry_no_id_so_last_event_id_stays_at_the_last_event():
    frame, _ = sse.framers("ep")
    for reply in (b'{"type":"connection_established","timestamp":"t","client_id":"c","epoch":"ep","seq":3}',
                  b'{"type":"pong","timestamp":"t"}',
                  b'{"type":"subscription_confirmed","timestamp":"t","channels":["jobs"],'
                  b'"recovered":true,"epoch":"ep","seq":9}'):
        [rec] = parse(frame(reply))
        assert rec["id"] is None and rec["event"] == json.loads(reply)["type"]


def test_a_fresh_subscription_says_where_its_stream_starts():
    frame, _ = sse.framers("ep")
    [rec] = parse(frame(b'{"type":"subscription_confirmed","timestamp":"t","channels":["jobs"],'
                        b'"epoch":"ep","seq":12}'))
    assert rec["id"] == b"ep:12"


def test_a_subscription_that_could_not_resume_is_followed_by_resync():
    frame, _ = sse.framers("ep")
    confirmed, resync = parse(frame(b'{"type":"subscription_confirmed","timestamp":"t",'
                                    b'"channels":["jobs"],"recovered":false,"epoch":"ep","seq":12}'))
    assert confirmed["id"] == resync["id"] == b"ep:12"
    assert resync["event"] == "resync"
    assert resync["data"] == {"type": "resync", "timestamp": "t", "reason": "not_recovered",
                              "epoch": "ep", "seq": 12}


def test_snapshot_state_is_framed_without_an_id():
    _, snapshot = sse.framers("ep")
    [rec] = parse(snapshot(EVENT))
    assert rec["id"] is None and rec["event"] == "job_progress"


def test_odd_input_still_makes_a_well_formed_record():
    frame, _ = sse.framers("ep")
    assert parse(frame(b'{"type":"bad name\\n","x":1}'))[0]["event"] == "message"
    assert parse(frame(b'[1,\n2]'))[0]["data"] == [1, 2]  # a line break becomes two data lines
    assert frame(b"[1,\n2]").count(b"data: ") == 2


def test_the_response_head_disables_caches_and_proxy_buffering():
    head = sse.response_head("HTTP/1.1").decode()
    assert head.startswith("HTTP/1.1 200 OK\r\n") and head.endswith("\r\n\r\n")
    for line in ("Content-Type: text/event-stream; charset=utf-8", "Cache-Control: no-cache",
                 "X-Accel-Buffering: no", "Connection: close"):
        assert line + "\r\n" in head
    assert sse.response_head("HTTP/1.0").startswith(b"HTTP/1.0 200 OK")


def test_close_record():
    [rec] = parse(sse.close_record(1013, "Client too slow"))
    assert rec["event"] == "close" and rec["data"] == {"type": "close", "code": 1013,
                                                       "reason": "Client too slow"}
