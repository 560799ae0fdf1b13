"""``darkroom status``, ``approve``, ``reject`` and ``broadcast``: one HTTP request or a few."""

from __future__ import annotations

import argparse
import json
import sys

from darkroom.client import CHANNELS, ApiError
from darkroom.commands import common


def positive_id(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a photo id: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"not a photo id: {value!r}")
    return number


# --- status ------------------------------------------------------------------------------

def status_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="darkroom status", parents=[common.server_options()],
        description="The queue's counts, each session's progress and the connected clients. "
                    "Exit 1 if the server refuses, 2 if there is none.")
    p.add_argument("--json", action="store_true", help="one JSON object: queue, sessions, clients")
    return p


def status(args: argparse.Namespace) -> int:
    api = common.api(args)
    stats = api.get("/websocket/stats").get("stats", {})
    queue = api.get("/api/queue")
    sessions = api.get("/api/sessions").get("sessions", [])
    clients = api.get("/websocket/clients").get("clients", [])
    if args.json:
        print(json.dumps({"url": api.url, "epoch": stats.get("epoch"), "seq": stats.get("seq"),
                          "queue": {"counts": queue.get("counts", {}), "paused": queue.get("paused"),
                                    "workers": queue.get("workers")},
                          "sessions": sessions, "clients": clients}, ensure_ascii=False))
        return common.OK
    counts = queue.get("counts", {})
    print(f"Darkroom at {api.url} (seq {stats.get('seq')}, up {stats.get('uptime_seconds', 0):.0f} s)")
    shown = ", ".join(f"{counts[k]} {k}" for k in counts)
    print(f"Queue: {shown or 'empty'}{' (paused)' if queue.get('paused') else ''}; "
          f"{queue.get('workers')} worker(s)")
    print(f"Sessions ({len(sessions)}):")
    for s in sessions:
        print(f"  #{s['id']:<4} {s['name'][:30]:<30} {s.get('phase') or s.get('status'):<18} "
              f"{s.get('processed_photos', 0)}/{s.get('total_photos', 0)} processed "
              f"({s.get('progress_percent', 0.0):.0f} %), {s.get('approved_photos', 0)} approved, "
              f"{s.get('rejected_photos', 0)} rejected, {s.get('failed_photos', 0)} failed")
    print(f"Clients ({len(clients)}):")
    for c in clients:
        print(f"  {c.get('client_type', 'unknown'):<9} {str(c.get('client_name') or '-')[:30]:<30} "
              f"{c.get('transport', '?'):<10} {','.join(c.get('subscriptions') or []) or '-'}")
    return common.OK


# --- approve / reject ----------------------------------------------------------------------

def approve_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="darkroom approve", parents=[common.server_options()],
        description="Approve developed photos by id. Exit 0 when every one was approved, 1 if "
                    "any was refused (not developed, already decided, no such photo).")
    p.add_argument("ids", nargs="+", type=positive_id, metavar="ID", help="photo ids")
    return p


def reject_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="darkroom reject", parents=[common.server_options()],
        description="Reject photos by id, with a reason. Exit 0 when every one was rejected, "
                    "1 if any was refused.")
    p.add_argument("ids", nargs="+", type=positive_id, metavar="ID", help="photo ids")
    p.add_argument("--reason", default=None, help="why (up to 1000 characters)")
    return p


PAST = {"approve": "approved", "reject": "rejected"}


def _decide(args: argparse.Namespace, verb: str) -> int:
    api = common.api(args)
    body = {"reason": args.reason} if verb == "reject" and args.reason is not None else None
    failed = 0
    for photo_id in args.ids:
        try:
            answer = api.post(f"/api/approval/{photo_id}/{verb}", body)
        except ApiError as exc:
            if exc.status == 401:  # no or a wrong token: the same for every id
                raise
            failed += 1
            print(f"photo {photo_id}: not {PAST[verb]}: {exc.message} ({exc.code or exc.status})",
                  file=sys.stderr)
            continue
        done = " (session completed)" if answer.get("session_completed") else ""
        print(f"photo {photo_id}: {answer.get('decision', PAST[verb])}{done}")
    return common.FAILED if failed else common.OK


def approve(args: argparse.Namespace) -> int:
    return _decide(args, "approve")


def reject(args: argparse.Namespace) -> int:
    return _decide(args, "reject")


# --- broadcast -------------------------------------------------------------------------------

def broadcast_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="darkroom broadcast", parents=[common.server_options()],
        description="Publish one event to every subscriber of a channel (POST /websocket/broadcast): "
                    "a catalogue event (its fields are checked) or your own type. The event is in "
                    "the server's durable log when this exits 0; 1 if the server refuses it.",
        epilog="example: darkroom broadcast job_progress --channel jobs "
               "--data '{\"job_id\": \"task-1\", \"stage\": \"developing\", \"progress\": 75.5}'")
    p.add_argument("type", metavar="TYPE", help="event type ([a-z][a-z0-9_]*)")
    p.add_argument("--channel", choices=CHANNELS, default=None,
                   help="the channel (may be left out for a catalogue event)")
    p.add_argument("--data", default="{}", metavar="JSON", help="the event's fields, a JSON object")
    p.add_argument("--json", action="store_true", help="print the server's answer as JSON")
    return p


def broadcast(args: argparse.Namespace) -> int:
    try:
        data = json.loads(args.data)
    except ValueError as exc:
        raise common.Failure(f"--data is not JSON: {exc}", common.USAGE) from None
    if not isinstance(data, dict):
        raise common.Failure("--data must be a JSON object ({...})", common.USAGE)
    body = {"type": args.type, "data": data}
    if args.channel:
        body["channel"] = args.channel
    answer = common.api(args).post("/websocket/broadcast", body)
    if args.json:
        print(json.dumps(answer, ensure_ascii=False))
    else:
        print(f"{answer.get('type')} on {answer.get('channel')}: seq {answer.get('seq')}, "
              f"{answer.get('subscribers')} subscriber(s)")
    return common.OK
