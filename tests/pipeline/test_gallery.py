"""The gallery's listings over HTTP: cursor pages that lose and double nothing (even with
photos arriving between pages), every filter and sort, bursts, the approval queue in capture
order, and a stable code for every bad parameter.

Hundreds of photos are inserted straight through the server's ``Database`` (an import per
photo would take minutes); a few real imports check what analysis stores for bursts.
"""

from __future__ import annotations

import base64
import itertools
import json
import random
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from imagegen import write_image
from pipeline_support import create_session, error, ok, pipeline_of

from darkroom.db import Photo

pytestmark = pytest.mark.databases

T0 = datetime(2025, 6, 14, 15, 0, 0, tzinfo=timezone.utc)
_serial = itertools.count()


def insert(server, session_id: int, rows: list[dict]) -> list[int]:
    """Photos with the given columns (anything else plausible), in one transaction."""
    with pipeline_of(server).db.write() as s:
        photos = []
        for row in rows:
            n = next(_serial)
            values = {"file_path": f"/nowhere/{n}.jpg", "file_name": f"IMG_{n:05d}.jpg",
                      "content_hash": f"test-{session_id}-{n}-{random.random()}",
                      "file_size": 1000, "format": "jpeg", "status": "analyzed", **row}
            photos.append(Photo(session_id=session_id, **values))
        s.add_all(photos)
        s.flush()
        return [ph.id for ph in photos]


def every_page(server, path: str, params: dict, between=None) -> list[dict]:
    """Follow ``next_cursor`` to the end; ``between(page_number)`` runs after each page."""
    out, cursor, n = [], None, 0
    while True:
        body = ok(server.get(path, params={**params, **({"cursor": cursor} if cursor else {})}))
        assert body["count"] == len(body["photos"]) or path.endswith("queue")
        out += body["photos"]
        cursor = body["next_cursor"]
        n += 1
        if cursor is None:
            return out
        assert len(body["photos"]) == params["limit"]
        if between:
            between(n)


def stored(server, ids) -> dict[int, Photo]:
    with pipeline_of(server).db.read() as s:
        return {ph.id: ph for ph in s.query(Photo).filter(Photo.id.in_(list(ids)))}


def utc(value):
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


SORT_KEYS = {
    "captured": lambda ph: utc(ph.captured_at or ph.imported_at),
    "score": lambda ph: -1.0 if ph.ai_score is None else ph.ai_score,
    "name": lambda ph: ph.file_name,
}


def random_rows(rng: random.Random, n: int) -> list[dict]:
    rows = []
    for _ in range(n):
        rows.append({
            # A few share a capture time, a score or a name: the id breaks the tie.
            "captured_at": None if rng.random() < 0.15 else T0 + timedelta(
                seconds=rng.randrange(0, 400) * 7.5),
            "ai_score": None if rng.random() < 0.1 else round(rng.uniform(0, 5), 1),
            "file_name": f"IMG_{rng.randrange(0, 150):04d}.jpg",
        })
    return rows


def test_cursor_pages_in_every_sort_lose_and_double_nothing_while_photos_arrive(
        live_server, tmp_path):
    rng = random.Random(12)
    sid = create_session(live_server, "wedding", tmp_path)
    original = insert(live_server, sid, random_rows(rng, 300))
    rows = stored(live_server, original)
    for sort, order in itertools.product(("captured", "score", "name"), ("asc", "desc")):
        listed = every_page(live_server, "/api/photos",
                            {"session_id": sid, "sort": sort, "order": order, "limit": 37},
                            between=lambda _n: insert(live_server, sid, random_rows(rng, 3)))
        ids = [p["id"] for p in listed]
        assert len(ids) == len(set(ids)), f"{sort} {order}: a photo shown twice"
        assert set(original) <= set(ids), f"{sort} {order}: a photo lost"
        key = SORT_KEYS[sort]
        expected = sorted(original, key=lambda i: (key(rows[i]), i), reverse=order == "desc")
        assert [i for i in ids if i in rows] == expected, f"{sort} {order}"
    # The default is capture order, oldest first; offset paging still works beside cursors.
    everything = ok(live_server.get("/api/photos", params={"session_id": sid, "limit": 1000}))
    assert everything["next_cursor"] is None and everything["total"] == len(everything["photos"])
    rows = stored(live_server, [p["id"] for p in everything["photos"]])
    assert [p["id"] for p in everything["photos"]] == sorted(
        rows, key=lambda i: (SORT_KEYS["captured"](rows[i]), i))
    by_offset = []
    for offset in range(0, everything["total"], 100):
        by_offset += ok(live_server.get("/api/photos", params={
            "session_id": sid, "limit": 100, "offset": offset}))["photos"]
    assert [p["id"] for p in by_offset] == [p["id"] for p in everything["photos"]]


def test_every_filter_alone_and_together(live_server, tmp_path):
    a = create_session(live_server, "a", tmp_path)
    b = create_session(live_server, "b", tmp_path)
    combos = itertools.product((0, 1, 3, 5), (None, "pick", "reject"),
                               (None, "red", "purple"), (None, "approved", "rejected"))
    rows = [{"rating": r, "flag": f, "color_label": c, "decision": d,
             "status": "developed" if d else status,
             "captured_at": T0 + timedelta(minutes=i)}
            for i, ((r, f, c, d), status) in enumerate(
                zip(combos, itertools.cycle(["analyzed", "queued", "developed", "developed"])))]
    ids = insert(live_server, a, rows) + insert(live_server, b, rows[:10])
    photos = stored(live_server, ids)

    def listed(**params):
        return {p["id"] for p in every_page(live_server, "/api/photos", {"limit": 50, **params})}

    def where(pred):
        return {i for i, ph in photos.items() if pred(ph)}

    assert listed() == set(ids)
    assert listed(session_id=b) == where(lambda ph: ph.session_id == b)
    for n in range(6):
        assert listed(min_rating=n) == where(lambda ph, n=n: ph.rating >= n), n
    for flag in ("pick", "reject"):
        assert listed(flag=flag) == where(lambda ph, f=flag: ph.flag == f)
    assert listed(flag="none") == where(lambda ph: ph.flag is None)
    for label in ("red", "purple", "blue"):
        assert listed(color_label=label) == where(lambda ph, c=label: ph.color_label == c)
    assert listed(color_label="none") == where(lambda ph: ph.color_label is None)
    for decision in ("approved", "rejected"):
        assert listed(decision=decision) == where(lambda ph, d=decision: ph.decision == d)
    assert listed(decision="none") == where(lambda ph: ph.decision is None)
    assert listed(status="queued") == where(lambda ph: ph.status == "queued")
    together = listed(session_id=a, min_rating=3, flag="pick", color_label="red",
                      decision="none", status="developed")
    assert together == where(lambda ph: ph.session_id == a and ph.rating >= 3
                             and ph.flag == "pick" and ph.color_label == "red"
                             and ph.decision is None and ph.status == "developed")
    assert together
    one = ok(live_server.get("/api/photos", params={"min_rating": 5, "flag": "pick",
                                                      "limit": 1}))
    assert one["total"] == len(where(lambda ph: ph.rating >= 5 and ph.flag == "pick"))
    first = one["photos"][0]
    assert {k: first[k] for k in ("rating", "flag")} == {"rating": 5, "flag": "pick"}
    assert first["captured_at"].endswith("Z") and "color_label" in first


def test_bursts_group_frames_by_capture_time_or_by_hash(live_server, tmp_path):
    sid = create_session(live_server, "bursts", tmp_path)
    other = create_session(live_server, "other", tmp_path)
    near, far = "f0f0f0f0f0f0f0f0", "0f0f0f0f0f0f0f0f"
    close = f"{int(near, 16) ^ 0b111111:016x}"  # 6 bits from ``near``: still near-identical
    t = [T0 + timedelta(seconds=s) for s in (0, 1.5, 3.5, 5.6, 20, 40)]
    frames = insert(live_server, sid, [
        {"captured_at": t[0]}, {"captured_at": t[1]}, {"captured_at": t[2]},  # 3-frame burst
        {"captured_at": t[3]},                           # 2.1 s after the last: alone
        {"captured_at": t[4], "analysis": {"dhash": near}},
        {"captured_at": t[5], "analysis": {"dhash": close}},  # 20 s later, same picture
    ])
    # Without a capture time the hash alone decides (in import order, after the others).
    undated = insert(live_server, sid, [{"analysis": {"dhash": far}},
                                        {"analysis": {"dhash": far}},
                                        {"status": "imported"}])  # analysed below
    # The same instant in another session is another shoot.
    elsewhere = insert(live_server, other, [{"captured_at": t[0] + timedelta(seconds=0.5)}])
    listed = {p["id"]: p["burst"] for p in every_page(
        live_server, "/api/photos", {"limit": 4, "sort": "score"})}
    first, hashed, unhashed = frames[0], frames[4], undated[0]
    assert [listed[i] for i in frames[:3]] == [
        {"id": first, "size": 3, "index": i} for i in range(3)]
    assert listed[frames[3]] is None
    assert [listed[i] for i in frames[4:]] == [
        {"id": hashed, "size": 2, "index": i} for i in range(2)]
    assert [listed[i] for i in undated] == [
        {"id": unhashed, "size": 2, "index": 0}, {"id": unhashed, "size": 2, "index": 1}, None]
    assert listed[elsewhere[0]] is None
    assert ok(live_server.get(f"/api/photos/{frames[1]}"))["photo"]["burst"] == \
        {"id": first, "size": 3, "index": 1}
    # A frame arriving 1 s after the lone one makes a burst of them at once; an analysis
    # finishing (its hash) joins the undated frame to its neighbour.
    late = insert(live_server, sid, [{"captured_at": t[3] + timedelta(seconds=1)}])[0]
    with pipeline_of(live_server).db.write() as s:
        analysed = s.get(Photo, undated[2])
        analysed.status, analysed.analysis = "analyzed", {"dhash": far}
    listed = {p["id"]: p["burst"] for p in every_page(live_server, "/api/photos", {"limit": 50})}
    assert listed[frames[3]] == {"id": frames[3], "size": 2, "index": 0}
    assert listed[late] == {"id": frames[3], "size": 2, "index": 1}
    assert listed[undated[2]] == {"id": unhashed, "size": 3, "index": 2}


def distinct(seed: int) -> np.ndarray:
    """A picture unlike any other seed's (generated scenes of one parity look alike)."""
    blocks = np.random.default_rng(seed).integers(0, 256, (6, 8, 3)).astype(np.uint8)
    return np.repeat(np.repeat(blocks, 40, axis=0), 40, axis=1)


def test_analysis_stores_the_hash_that_groups_near_identical_imports(live_server, tmp_path):
    ok(live_server.post("/api/queue/pause"))
    sid = create_session(live_server, "imports", tmp_path)
    base = distinct(1)
    noisy = np.clip(base.astype(int) + np.random.default_rng(2).integers(-8, 9, base.shape),
                    0, 255).astype(np.uint8)
    ids = []
    for i, pixels in enumerate((base, noisy, distinct(3))):
        # Capture times far apart: only the hash can group them.
        path = write_image(tmp_path / f"frame{i}.jpg", pixels=pixels,
                           exif={"datetime": f"2025:06:14 1{i}:00:00"})
        ids.append(ok(live_server.post("/import/file", {"file_path": str(path),
                                                        "session_id": sid}))["photo_id"])
    listed = {p["id"]: p for p in ok(live_server.get("/api/photos",
                                                     params={"session_id": sid}))["photos"]}
    assert all(len(listed[i]["analysis"]["dhash"]) == 16 for i in ids)
    assert [listed[i]["burst"] for i in ids] == [
        {"id": ids[0], "size": 2, "index": 0}, {"id": ids[0], "size": 2, "index": 1}, None]
    assert "histogram" not in listed[ids[0]]["analysis"]  # the loupe's, not every tile's


def test_approval_queue_pages_waiting_photos_in_capture_order(live_server, tmp_path):
    a = create_session(live_server, "a", tmp_path)
    b = create_session(live_server, "b", tmp_path)
    rng = random.Random(3)
    rows = [{"status": rng.choice(["developed", "developed", "queued", "failed"]),
             "decision": rng.choice([None, None, None, "approved"]),
             "ai_score": rng.uniform(0, 5),
             "captured_at": T0 + timedelta(seconds=rng.randrange(0, 1000))}
            for _ in range(120)]
    ids = insert(live_server, a, rows) + insert(live_server, b, rows[:30])
    photos = stored(live_server, ids)

    def waiting(session=None):
        return sorted((i for i, ph in photos.items() if ph.status == "developed"
                       and ph.decision is None and session in (None, ph.session_id)),
                      key=lambda i: (utc(photos[i].captured_at), i))

    listed = every_page(live_server, "/api/approval/queue", {"limit": 13})
    assert [p["id"] for p in listed] == waiting()
    first = ok(live_server.get("/api/approval/queue", params={"limit": 13}))
    assert first["count"] == len(waiting()) and len(first["photos"]) == 13
    assert [p["id"] for p in every_page(live_server, "/api/approval/queue",
                                        {"limit": 7, "session_id": b})] == waiting(b)


def cursor_of(server, **params) -> str:
    return ok(server.get("/api/photos", params={"limit": 1, **params}))["next_cursor"]


def forged(fields: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(fields).encode()).decode().rstrip("=")


def test_every_bad_parameter_answers_its_code(live_server, tmp_path):
    sid = create_session(live_server, "s", tmp_path)
    insert(live_server, sid, [{"captured_at": T0}, {"captured_at": T0}, {}])
    by_name = cursor_of(live_server, sort="name")
    digest = json.loads(base64.urlsafe_b64decode(by_name + "=" * (-len(by_name) % 4)))["q"]
    bad = {
        "invalid_cursor": [
            {"cursor": "!!!"}, {"cursor": "bm90IGpzb24"}, {"cursor": forged([1, 2])},
            {"cursor": forged({"q": "x", "k": 1, "i": 1})}, {"cursor": "A" * 5000},
            {"cursor": by_name},  # minted for sort=name, used with the default sort
            {"cursor": by_name, "sort": "name", "order": "desc"},
            {"cursor": by_name, "sort": "name", "session_id": sid},
            {"cursor": by_name, "sort": "name", "offset": 1},
            {"cursor": forged({"q": digest, "k": 5, "i": 1}), "sort": "name"},
            {"cursor": forged({"q": digest, "k": "a", "i": -1}), "sort": "name"},
            {"cursor": forged({"q": digest, "k": "a", "i": True}), "sort": "name"},
            {"cursor": forged({"q": digest, "k": "a", "i": 2**40}), "sort": "name"},
        ],
        "invalid_sort": [{"sort": "date"}, {"sort": "SCORE"}],
        "invalid_order": [{"order": "up"}],
        "invalid_query": [{"min_rating": "6"}, {"min_rating": "-1"}, {"min_rating": "three"},
                          {"flag": "maybe"}, {"color_label": "orange"},
                          {"decision": "pending"}, {"status": "lost"}, {"limit": "0"},
                          {"limit": "1001"}, {"offset": "-1"}, {"session_id": "x"}],
    }
    for code, cases in bad.items():
        for params in cases:
            error(live_server.get("/api/photos", params=params), 400, code)
    by_score = cursor_of(live_server, sort="score")
    score_digest = json.loads(base64.urlsafe_b64decode(by_score + "=" * (-len(by_score) % 4)))
    for key in ("NaN", "x", None):
        error(live_server.get("/api/photos", params={"sort": "score", "cursor": forged(
            {**score_digest, "k": key})}), 400, "invalid_cursor")
    captured = cursor_of(live_server)
    fields = json.loads(base64.urlsafe_b64decode(captured + "=" * (-len(captured) % 4)))
    error(live_server.get("/api/photos", params={"cursor": forged({**fields, "k": "Tuesday"})}),
          400, "invalid_cursor")
    assert ok(live_server.get("/api/photos", params={"cursor": captured, "limit": 1}))
    # A gallery cursor is not a queue cursor, and the queue checks its own.
    error(live_server.get("/api/approval/queue", params={"cursor": captured}), 400,
          "invalid_cursor")
    error(live_server.get("/api/approval/queue", params={"cursor": "%%%"}), 400,
          "invalid_cursor")
    error(live_server.get("/api/approval/queue", params={"limit": "0"}), 400, "invalid_query")


def test_a_page_of_a_big_shoot_is_one_bounded_set_of_queries(live_server, tmp_path):
    """5,000 photos in one session: a page is a few statements whatever the session's size."""
    from sqlalchemy import event

    sid = create_session(live_server, "big", tmp_path)
    rng = random.Random(5)
    insert(live_server, sid, [{"captured_at": T0 + timedelta(seconds=rng.randrange(0, 20000)),
                               "analysis": {"dhash": f"{rng.getrandbits(64):016x}"}}
                              for _ in range(5000)])
    engine = pipeline_of(live_server).db.engine
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        if "photos" in statement:  # not the monitor's or the queue's own ticks
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        body = ok(live_server.get("/api/photos", params={"limit": 200}))
        statements_first = len(statements)
        statements.clear()
        ok(live_server.get("/api/photos", params={"limit": 200, "cursor": body["next_cursor"]}))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # count, page, the bursts' version; the first also groups the session (then cached).
    assert statements_first <= 4 and len(statements) <= 3, statements
    assert body["total"] == 5000 and len(body["photos"]) == 200



def test_cursors_page_past_the_longest_hostile_names(live_server, tmp_path):
    sid = create_session(live_server, "names", tmp_path)
    names = ["\x01" * 254 + "\"", "名" * 255, "z" * 255]  # the first one's cursor: 2,096 characters
    ids = insert(live_server, sid, [{"file_name": n} for n in names])
    listed = every_page(live_server, "/api/photos", {"sort": "name", "limit": 1})
    assert sorted(p["id"] for p in listed) == sorted(ids)
