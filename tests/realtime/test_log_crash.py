"""The event log commits behind delivery (group_commit.py): a crash may lose the last
events clients saw, so after one no seq is reused and no resume from before it is
called recovered; a clean stop keeps every position resumable (test_replay.py)."""

from __future__ import annotations


def test_after_a_crash_seq_moves_on_and_old_positions_are_not_recovered(start_app, tmp_path):
    data = tmp_path / "data"
    app = start_app(data_dir=data)
    c = app.ws()
    c.subscribe("system")
    for i in range(3):
        app.post("/websocket/broadcast", {"type": "note", "channel": "system", "data": {"i": i}})
    notes = 0
    while notes < 3:  # the monitor speaks on "system" too
        message = c.events(1)[0]
        notes += message["type"] == "note"
    position = {"epoch": c.welcome["epoch"], "seq": message["seq"]}
    app.kill()  # SIGKILL to the whole server at once, as a crash would

    again = start_app(data_dir=data)
    back = again.ws()
    assert back.welcome["epoch"] == position["epoch"]
    assert back.welcome["seq"] > position["seq"] + 1000  # past the crashed run's reservation
    back.send({"type": "subscribe", "channels": ["system"], "since": position})
    assert back.recv_type("subscription_confirmed")["recovered"] is False
