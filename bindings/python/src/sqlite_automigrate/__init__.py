"""sqlite_automigrate: the sqlite-automigrate SQLite extension, packaged for Python.

The package ships the compiled extension (``automigrate.so``) and loads it into a
``sqlite3`` connection, after which the SQL functions of the README are available
on that connection::

    import sqlite3
    import sqlite_automigrate

    conn = sqlite3.connect("app.db")
    sqlite_automigrate.load(conn)
    (result,) = conn.execute("SELECT migrate_apply(?)", (schema_sql,)).fetchone()

An extension is loaded per connection: call ``load`` on every connection that
uses the functions.
"""

import os
import sqlite3
import sys

from ._version import __version__

__all__ = ["ExtensionLoadingUnavailable", "__version__", "load", "loadable_path"]


class ExtensionLoadingUnavailable(RuntimeError):
    """This Python's sqlite3 module cannot load SQLite extensions.

    CPython builds its sqlite3 module without extension loading unless it is
    configured with --enable-loadable-sqlite-extensions (pyenv and some other
    source builds leave it out); then sqlite3.Connection has no
    enable_load_extension method. Debian's and Ubuntu's /usr/bin/python3 have it.
    """


def loadable_path() -> str:
    """The path of the shipped extension without its suffix (``.../automigrate``).

    SQLite appends the platform's suffix (``.so``) and derives the entry point
    ``sqlite3_automigrate_init`` from the file name, so the path can be given as
    it is to ``Connection.load_extension`` or to the sqlite3 shell's ``.load``.
    """
    return os.path.normpath(
        os.path.join(os.path.dirname(os.path.abspath(__file__)), "automigrate"))


def load(conn: sqlite3.Connection) -> None:
    """Loads the extension into ``conn``.

    Extension loading is switched on only for the load and switched off again
    afterwards (even when the load fails), so SQL run on ``conn`` later cannot
    load other extensions with ``load_extension()``.

    Raises ExtensionLoadingUnavailable when this Python's sqlite3 module was built
    without extension loading, and sqlite3.OperationalError when SQLite refuses
    the extension (e.g. an SQLite older than 3.37.0).
    """
    enable = getattr(conn, "enable_load_extension", None)
    if enable is None:
        raise ExtensionLoadingUnavailable(
            "sqlite_automigrate.load: this Python's sqlite3 module cannot load "
            "extensions (sqlite3.Connection has no enable_load_extension; "
            f"Python at {sys.executable} was built without "
            "--enable-loadable-sqlite-extensions). Use a Python that has it, "
            "e.g. Debian's /usr/bin/python3.")
    enable(True)
    try:
        conn.load_extension(loadable_path())
    finally:
        enable(False)
