#!/usr/bin/env python3
"""An app that migrates its database at start-up with sqlite-automigrate.

Usage: python3 startup.py DATABASE [--schema FILE] [--allow-destructive]

At boot it opens DATABASE, loads the extension and calls migrate_apply with the
schema it wants (schema.sql beside this file unless --schema names another):
the first run creates the tables, later runs are no-ops until schema.sql changes,
then they migrate the database to it. Every outcome is logged; a refused or
failed migration (bad DDL, a plan that would lose data without
--allow-destructive, ...) is logged and the app exits with status 1 without
starting, the database unchanged.
"""

import argparse
import json
import logging
import sqlite3
import sys
from pathlib import Path
from typing import Optional

import sqlite_automigrate

log = logging.getLogger("app.migrate")


def migrate_at_startup(conn: sqlite3.Connection, schema_sql: str,
                       options: Optional[dict] = None) -> dict:
    """Migrates the database behind `conn` to `schema_sql` and logs what happened.

    Returns migrate_apply's result; raises sqlite3.Error when the migration is
    refused or fails (nothing is changed then).
    """
    args = [schema_sql] if options is None else [schema_sql, json.dumps(options)]
    placeholders = ", ".join("?" * len(args))
    (text,) = conn.execute(f"SELECT migrate_apply({placeholders})", args).fetchone()
    result = json.loads(text)
    if result["batch"] is None:
        log.info("schema up to date (version %s)", result["version"])
    else:
        steps = result["steps"]
        log.info("schema migrated: batch %d, version %d, %d step%s in %.1f ms", result["batch"],
                 result["version"], steps, "" if steps == 1 else "s", result["duration_ms"])
        if result["backup"]:
            log.info("backup taken before migrating: %s", result["backup"]["path"])
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Example app: migrates its database at start-up.")
    parser.add_argument("database", help="the app's SQLite database file")
    parser.add_argument("--schema", type=Path, default=Path(__file__).with_name("schema.sql"),
                        help="the desired schema (default: schema.sql beside this script)")
    parser.add_argument("--allow-destructive", action="store_true",
                        help="let the migration drop tables or columns (a backup is taken first)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    try:
        schema_sql = args.schema.read_text(encoding="utf-8")
    except OSError as e:
        log.error("cannot read the schema: %s", e)
        return 1
    conn = sqlite3.connect(args.database)
    try:
        sqlite_automigrate.load(conn)
        options = {"allow_destructive": True} if args.allow_destructive else None
        migrate_at_startup(conn, schema_sql, options)
    except (sqlite3.Error, sqlite_automigrate.ExtensionLoadingUnavailable) as e:
        log.error("schema migration failed, not starting: %s", e)
        conn.close()
        return 1

    # ... the app would start serving here, with the schema it expects.
    log.info("app ready: %s", args.database)
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
