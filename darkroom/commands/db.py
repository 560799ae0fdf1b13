"""``darkroom db upgrade|current``: the database's schema, by hand.

Every start already upgrades the schema (``Database.create_schema``); a studio
that deploys several processes may rather migrate once, first, with the same
``--data-dir``/``DATABASE_URL``/config file the processes use, then start them.

Exit codes: 0 done, 1 the database is unreachable or the migration failed, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

ACTIONS = {"upgrade": "bring the database to the newest schema (creates it when empty)",
           "current": "print the database's schema version and the newest one"}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="darkroom db", add_help=False,
        usage="darkroom db {upgrade,current} [server options: --data-dir, --database-url, --config ...]",
        description="The database schema (Alembic migrations shipped with Darkroom). Takes the "
                    "server's options, so it finds the same database 'darkroom serve' would.",
        epilog="\n".join(f"  {name:<8} {what}" for name, what in ACTIONS.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=list(ACTIONS), nargs="?")
    p.add_argument("-h", "--help", action="store_true")
    return p


def main(argv: Sequence[str]) -> int:
    parser = _parser()
    args, rest = parser.parse_known_args(list(argv))
    if args.help or args.action is None:
        parser.print_help()
        return 0 if args.help else 2
    from darkroom.config import Config

    config = Config.load(rest)  # bad options exit 2 with one line, like the server's
    from sqlalchemy.exc import SQLAlchemyError

    from darkroom.db import SCHEMA_VERSION, Database, safe_url

    if config.database_url.startswith("sqlite"):
        config.data_dir.mkdir(parents=True, exist_ok=True)
    where = safe_url(config.database_url)
    try:
        db = Database(config.database_url)
    except (ImportError, SQLAlchemyError) as exc:
        print(f"darkroom db: cannot use {where}: {exc}", file=sys.stderr)
        return 1
    try:
        if args.action == "current":
            version = db.schema_version()
            state = "up to date" if version == SCHEMA_VERSION else "needs 'darkroom db upgrade'"
            print(f"{where}: schema version {version if version is not None else 'none'}, "
                  f"newest {SCHEMA_VERSION} ({state})")
            return 0
        before = db.schema_version()
        after = db.create_schema()
        print(f"{where}: schema version {after}" + (" (already up to date)" if before == after
                                                    else f" (was {before or 'none'})"))
        return 0
    except SQLAlchemyError as exc:
        print(f"darkroom db: {where}: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    finally:
        db.dispose()
