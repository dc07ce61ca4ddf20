"""The package itself: what it loads, from where, and how it fails."""

import importlib.metadata
import os
import sqlite3
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

import sqlite_automigrate

SOURCE_DIR = Path(__file__).resolve().parents[1]


def test_imported_from_the_installed_wheel_not_the_source_tree():
    package_dir = Path(sqlite_automigrate.__file__).resolve().parent
    assert sys.prefix != sys.base_prefix, "run_tests.py runs the tests in a venv"
    assert package_dir.is_relative_to(Path(sys.prefix).resolve())
    assert not package_dir.is_relative_to(SOURCE_DIR)


def test_loadable_path_points_at_the_shipped_extension_without_suffix():
    path = Path(sqlite_automigrate.loadable_path())
    package_dir = Path(sqlite_automigrate.__file__).resolve().parent
    assert path.is_absolute()
    assert path == package_dir / "automigrate"
    assert path.with_suffix(".so").is_file()


def test_wheel_is_a_platform_wheel_and_installed_as_built():
    wheel = os.environ.get("AUTOMIGRATE_TEST_WHEEL")
    assert wheel, "run_tests.py names the wheel in AUTOMIGRATE_TEST_WHEEL"
    # Any Python 3, this platform only (it carries a native .so): e.g.
    # sqlite_automigrate-0.1.0-py3-none-linux_x86_64.whl.
    platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    assert Path(wheel).name == (
        f"sqlite_automigrate-{sqlite_automigrate.__version__}-py3-none-{platform}.whl")
    # The .so pip installed is byte for byte the one in the wheel.
    with zipfile.ZipFile(wheel) as zf:
        shipped = zf.read("sqlite_automigrate/automigrate.so")
    installed = Path(sqlite_automigrate.loadable_path()).with_suffix(".so").read_bytes()
    assert installed == shipped


def test_version_is_the_extension_version_and_the_distribution_version():
    conn = sqlite3.connect(":memory:")
    sqlite_automigrate.load(conn)
    (extension_version,) = conn.execute("SELECT automigrate_version()").fetchone()
    assert sqlite_automigrate.__version__ == extension_version
    assert importlib.metadata.version("sqlite-automigrate") == extension_version


def test_functions_exist_only_on_connections_it_was_loaded_into():
    loaded = sqlite3.connect(":memory:")
    other = sqlite3.connect(":memory:")
    sqlite_automigrate.load(loaded)
    names = {name for (name,) in loaded.execute(
        "SELECT name FROM pragma_function_list WHERE name LIKE 'migrate%' OR name LIKE 'backup%'")}
    assert {"migrate_apply", "migrate_status", "migrate_rollback", "backup_create",
            "backup_verify"} <= names
    with pytest.raises(sqlite3.OperationalError, match="no such function: migrate_status"):
        other.execute("SELECT migrate_status('')")


def test_load_switches_extension_loading_off_again():
    conn = sqlite3.connect(":memory:")
    sqlite_automigrate.load(conn)
    with pytest.raises(sqlite3.OperationalError, match="not authorized"):
        conn.load_extension(sqlite_automigrate.loadable_path())
    with pytest.raises(sqlite3.OperationalError, match="not authorized"):
        conn.execute("SELECT load_extension(?)", (sqlite_automigrate.loadable_path(),))


def test_load_switches_extension_loading_off_when_the_load_fails(monkeypatch):
    conn = sqlite3.connect(":memory:")
    monkeypatch.setattr(sqlite_automigrate, "loadable_path", lambda: "/nonexistent/automigrate")
    with pytest.raises(sqlite3.OperationalError, match="/nonexistent/automigrate"):
        sqlite_automigrate.load(conn)
    monkeypatch.undo()
    with pytest.raises(sqlite3.OperationalError, match="not authorized"):
        conn.load_extension(sqlite_automigrate.loadable_path())


class ConnectionWithoutExtensionLoading:
    """What sqlite3.connect returns in a Python built without
    --enable-loadable-sqlite-extensions: no enable_load_extension/load_extension."""

    def execute(self, *args):
        raise AssertionError("load must not run SQL")


def test_python_without_extension_loading_gets_a_clear_error():
    with pytest.raises(sqlite_automigrate.ExtensionLoadingUnavailable) as info:
        sqlite_automigrate.load(ConnectionWithoutExtensionLoading())
    message = str(info.value)
    assert "cannot load extensions" in message
    assert "enable_load_extension" in message
    assert "--enable-loadable-sqlite-extensions" in message
    assert "/usr/bin/python3" in message
    assert isinstance(info.value, RuntimeError)
