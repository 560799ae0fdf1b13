"""The ``darkroom`` command line: one dispatcher for the server and its client subcommands.

``darkroom``, ``darkroom serve [options]``, ``python app.py [options]`` and
``python -m darkroom`` start the server (``app.serve``; ``Config.load`` parses its
options). The other subcommands talk to a running server over its HTTP API and
``/ws`` (``darkroom/commands/``, on ``darkroom.client``), except ``rotate-token``
and ``config``, which work on this machine's files, ``db``, which migrates the
database, and ``worker``, which runs jobs from the shared database without a web server.

Exit codes: 0 done, 1 failed or refused, 2 bad arguments or no server to talk to.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Callable, Optional, Sequence

Command = Callable[[list[str]], int]


def _serve(argv: list[str]) -> int:
    if any(arg in ("-h", "--help", "--version") for arg in argv):
        from darkroom.config import Config

        Config.load(argv)  # prints the options or the version and exits, without the app's imports
    import app

    return app.serve(argv)


def _rotate_token(argv: list[str]) -> int:
    from darkroom.web import auth

    return auth.rotate_command(argv)


def _tail(argv: list[str]) -> int:
    from darkroom.commands import tail

    return tail.main(argv)


def _import(argv: list[str]) -> int:
    from darkroom.commands import imports

    return imports.main(argv)


def _db(argv: list[str]) -> int:
    from darkroom.commands import db

    return db.main(argv)


def _worker(argv: list[str]) -> int:
    from darkroom.commands import worker

    return worker.main(argv)


def _admin(name: str) -> Command:
    def run(argv: list[str]) -> int:
        from darkroom.commands import admin, common

        parser = getattr(admin, f"{name}_parser")()
        args = parser.parse_args(argv)
        return common.run(parser.prog, getattr(admin, name), args)
    return run


def _config(argv: list[str]) -> int:
    from darkroom import config

    parser = argparse.ArgumentParser(
        prog="darkroom config", add_help=False,
        description="Print the effective configuration of 'darkroom serve' with these options, "
                    "and where each value came from (default, config file, environment, flag).")
    parser.add_argument("-h", "--help", action="store_true")
    known, _ = parser.parse_known_args(argv)
    if known.help:
        parser.print_help()
        print("\nTakes the same options as 'darkroom serve' (see 'darkroom serve --help').")
        return 0
    try:
        text = config.explain(argv)
    except config.ConfigError as exc:
        print(f"darkroom config: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(text)
    return 0


# name -> (run, one line for the overview)
COMMANDS: dict[str, tuple[Command, str]] = {
    "serve": (_serve, "start the server (the default; 'darkroom serve --help' for its options)"),
    "tail": (_tail, "print the live event stream (--json: one object per line)"),
    "import": (_import, "import files or folders into a session and follow each photo"),
    "status": (_admin("status"), "queue counts, sessions with progress, connected clients"),
    "approve": (_admin("approve"), "approve developed photos by id"),
    "reject": (_admin("reject"), "reject photos by id (--reason)"),
    "broadcast": (_admin("broadcast"), "publish an event (TYPE --channel C --data JSON)"),
    "rotate-token": (_rotate_token, "replace the install's LAN token"),
    "worker": (_worker, "run develop/export jobs without a web server (PostgreSQL and Redis)"),
    "db": (_db, "the database schema: 'darkroom db upgrade' runs the migrations"),
}


def _has_explain() -> bool:
    from darkroom import config

    return callable(getattr(config, "explain", None))


def commands() -> dict[str, tuple[Command, str]]:
    found = dict(COMMANDS)
    if _has_explain():
        found["config"] = (_config, "print the effective configuration and where each value came from")
    return found


def overview() -> str:
    from darkroom import __version__

    lines = [f"darkroom {__version__}: a local photo pipeline with a realtime hub", "",
             "usage: darkroom [serve] [options]     start the server (the default)",
             "       darkroom COMMAND [options]     talk to a running server", "", "commands:"]
    for name, (_, summary) in commands().items():
        lines.append(f"  {name:<13} {summary}")
    lines += ["", "'darkroom COMMAND --help' for each one. The client commands take --url (default "
                  "$DARKROOM_URL or http://127.0.0.1:5100) and read LAN mode's token from the "
                  "data directory for a local server.",
              "Exit codes: 0 done, 1 failed or refused, 2 bad arguments or no server.", ""]
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    try:
        try:
            return _dispatch(argv)
        finally:  # also after argparse's exit: here a reader that went away can be caught
            sys.stdout.flush()
    except BrokenPipeError:
        # `darkroom tail | head`: the reader has seen enough; stop without a traceback (and
        # without a second one when the interpreter flushes stdout on the way out).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _dispatch(argv: Optional[Sequence[str]]) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["help"]:
        print(overview())
        return 0
    if argv == ["--version"]:  # as 'darkroom serve --version' says, without importing the app
        from darkroom import __version__

        print(f"darkroom {__version__}")
        return 0
    if argv[:1] in (["-h"], ["--help"]):
        print(overview())
        print("server options (darkroom [serve] ...):", flush=True)
        return _serve(argv)  # the server's own --help, then exit 0
    table = commands()
    if argv and argv[0] in table:
        return table[argv[0]][0](argv[1:])
    return _serve(argv)
