"""What every client subcommand shares: the server's address, its token, errors and exit codes.

Exit codes: 0 done, 1 the server refused or something failed, 2 bad arguments or
no server at the address (argparse uses 2 for usage errors too), 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
import urllib.parse
from pathlib import Path
from typing import Callable, Optional

from darkroom.client.aio import ConnectError
from darkroom.client.http import Api, ApiError, AuthError, ClientError, Unreachable, server_urls

OK, FAILED, USAGE = 0, 1, 2
INTERRUPTED = 130
TOKEN_FILE = "token"  # <data_dir>/token, as darkroom/web/auth.py writes it


class Failure(Exception):
    """Stop the command with ``message`` on stderr and exit ``code``."""

    def __init__(self, message: str, code: int = FAILED):
        super().__init__(message)
        self.code = code


def server_options() -> argparse.ArgumentParser:
    """--url, --token and --data-dir, for every subcommand that talks to a server."""
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("server")
    g.add_argument("--url", default=None,
                   help="the server (default $DARKROOM_URL, else the local one: http://127.0.0.1:5100)")
    g.add_argument("--token", default=None,
                   help="LAN mode's token (default $DARKROOM_TOKEN; for a local server, read "
                        "from <data-dir>/token)")
    g.add_argument("--data-dir", type=Path, default=None,
                   help="the local server's data directory, where its token lives "
                        "(default $DARKROOM_DATA_DIR or ~/.darkroom)")
    return p


def _local_settings(data_dir: Optional[Path]) -> tuple[int, Path]:
    """The local server's port and data directory, as ``darkroom serve`` would resolve them."""
    try:
        from darkroom.config import Config

        config = Config.load(["--data-dir", str(data_dir)] if data_dir else None)
        return config.port, config.data_dir
    except Exception:  # a broken config file must not stop a client command
        env_dir = os.environ.get("DARKROOM_DATA_DIR")
        return 5100, Path(data_dir or env_dir or Path.home() / ".darkroom").expanduser()


def is_local(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def connection(args: argparse.Namespace) -> tuple[str, Callable[[], Optional[str]]]:
    """The server's URL and a token source (read again on each connection: a rotation is seen)."""
    port, data_dir = _local_settings(args.data_dir)
    url = args.url or os.environ.get("DARKROOM_URL") or f"http://127.0.0.1:{port}"
    try:
        url, _ = server_urls(url)
    except ValueError as exc:
        raise Failure(str(exc), USAGE) from None
    given = args.token or os.environ.get("DARKROOM_TOKEN")
    path = data_dir / TOKEN_FILE
    args.token_path = path if not given and is_local(url) else None

    def token() -> Optional[str]:
        if given:
            return given
        if args.token_path is not None:
            try:
                return args.token_path.read_text(encoding="ascii").strip() or None
            except (OSError, UnicodeDecodeError):
                return None
        return None

    return url, token


def api(args: argparse.Namespace) -> Api:
    url, token = connection(args)
    return Api(url, token)


def fail_message(exc: BaseException, args: Optional[argparse.Namespace] = None) -> tuple[str, int]:
    """What to say, and the exit code, for a client error."""
    if isinstance(exc, Unreachable):
        return f"{exc} (is 'darkroom serve' running?)", USAGE
    if isinstance(exc, AuthError):
        where = getattr(args, "token_path", None)
        hint = (f"LAN mode: the token is read from {where}" if where else
                "LAN mode: pass --token or set DARKROOM_TOKEN")
        return f"refused: {exc.message} ({hint})", FAILED
    if isinstance(exc, ApiError):
        return str(exc), FAILED
    if isinstance(exc, ConnectError):
        return str(exc), USAGE
    return str(exc), FAILED


def run(prog: str, body: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a subcommand's body, turning client errors into one line on stderr and an exit code."""
    try:
        return body(args)
    except Failure as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return exc.code
    except ClientError as exc:
        message, code = fail_message(exc, args)
        print(f"{prog}: {message}", file=sys.stderr)
        return code
    except KeyboardInterrupt:
        return INTERRUPTED
