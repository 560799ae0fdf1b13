"""``darkroom tail``: the live event stream in the terminal, or as JSON lines."""

from __future__ import annotations

import argparse
import json
import queue
import sys
from datetime import datetime
from typing import Any, Optional

from darkroom.client import CHANNELS, Client
from darkroom.commands import common

PROG = "darkroom tail"
_DONE = object()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG, parents=[common.server_options()],
        description="Print the server's live events: one line each for people, or one JSON "
                    "object per line with --json. Reconnects and resumes by itself if the link "
                    "drops. Exit 0 after --count events (or Ctrl-C), 1 if the server refuses, "
                    "2 on bad arguments or no server.")
    p.add_argument("--channels", default=",".join(CHANNELS),
                   help=f"comma-separated channels (default all: {','.join(CHANNELS)})")
    p.add_argument("--json", action="store_true", help="one JSON object per line, as received")
    p.add_argument("--count", type=int, default=None, metavar="N",
                   help="exit 0 after N events")
    p.add_argument("--since", default=None, metavar="EPOCH:SEQ",
                   help="start after this position (replayed from the server's log when it can)")
    p.add_argument("--snapshot", action="store_true",
                   help="start with the current state (queue, running jobs, sessions)")
    return p


def channels_arg(value: str) -> list[str]:
    channels = [c.strip() for c in value.split(",") if c.strip()]
    unknown = [c for c in channels if c not in CHANNELS]
    if not channels or unknown:
        raise common.Failure(f"unknown channel(s) {', '.join(unknown) or '(none given)'}; "
                             f"channels: {', '.join(CHANNELS)}", common.USAGE)
    return channels


def _clock(timestamp: Any) -> str:
    try:
        when = datetime.fromisoformat(str(timestamp).replace("Z", "+00:00")).astimezone()
    except ValueError:
        return str(timestamp)
    return when.strftime("%H:%M:%S.") + f"{when.microsecond // 1000:03d}"


def _value(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False) if (" " in value or not value) else value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def human(event: dict) -> str:
    """``12:34:56.789  #42  jobs      job_progress  job_id=7 stage=rendering progress=75.5``"""
    fields = " ".join(f"{k}={_value(v)}" for k, v in event.items()
                      if k not in ("type", "channel", "timestamp", "seq"))
    return (f"{_clock(event.get('timestamp'))}  #{event.get('seq')}  "
            f"{str(event.get('channel')):<9} {event.get('type')}  {fields}").rstrip()


def body(args: argparse.Namespace) -> int:
    channels = channels_arg(args.channels)
    if args.count is not None and args.count < 1:
        raise common.Failure("--count must be at least 1", common.USAGE)
    since: Optional[str] = args.since
    if since is not None and (":" not in since or not since.rpartition(":")[2].isdigit()):
        raise common.Failure("--since takes EPOCH:SEQ (an event's epoch and seq)", common.USAGE)
    url, token = common.connection(args)
    inbox: "queue.Queue[Any]" = queue.Queue()
    client = Client(url, token=token, client_type="unknown", client_name="darkroom tail",
                    channels=channels, since=since, snapshot=args.snapshot)
    client.on("*", inbox.put)
    client.on("closed", lambda info: inbox.put(_DONE))
    client.on("reconnecting", lambda info: print(
        f"{PROG}: link lost, reconnecting in {info['delay']:.1f} s", file=sys.stderr, flush=True))
    client.on("resync", lambda info: print(
        f"{PROG}: the server could not replay what was missed (events may be missing before "
        f"seq {info['seq']})", file=sys.stderr, flush=True))
    client.on("error", lambda e: print(f"{PROG}: server says: {e.get('error')} ({e.get('code')})",
                                       file=sys.stderr, flush=True))
    client.connect()
    print(f"{PROG}: following {','.join(channels)} at {client.url} (Ctrl-C to stop)",
          file=sys.stderr, flush=True)
    seen = 0
    try:
        while args.count is None or seen < args.count:
            item = inbox.get()
            if item is _DONE:
                break
            data = item.to_dict()
            line = json.dumps(data, ensure_ascii=False, separators=(",", ":")) if args.json \
                else human(data)
            print(line, flush=True)
            seen += 1
    except KeyboardInterrupt:
        return common.OK
    finally:  # also when stdout's reader went away (`darkroom tail | head`)
        client.close()
    if args.count is not None and seen < args.count and client.error is not None:
        raise client.error
    return common.OK


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    return common.run(PROG, body, args)
