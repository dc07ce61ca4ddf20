#!/usr/bin/python3
"""Builds the sqlite_automigrate wheel from a CMake build's automigrate.so, offline.

Usage: /usr/bin/python3 bindings/python/build_wheel.py BUILD_DIR/automigrate.so [-o DIR]

Stages this folder (pyproject.toml, setup.py, README.md, src/) in a scratch
directory, adds the .so (debug info stripped unless --no-strip) and
src/sqlite_automigrate/_version.py with the version the .so itself reports
(automigrate_version()), and runs `pip wheel --no-build-isolation --no-index`
with Debian's setuptools and wheel. Nothing is written into the source tree.
Prints the wheel's path (default output directory: dist/ beside the .so).
"""

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import NoReturn

HERE = Path(__file__).resolve().parent
STAGED = ["pyproject.toml", "setup.py", "README.md"]


def fail(message: str) -> NoReturn:
    print(f"build_wheel: {message}", file=sys.stderr)
    sys.exit(1)


def extension_version(so_path: Path) -> str:
    """Loads the .so into this Python (which also proves it loads) and asks it."""
    conn = sqlite3.connect(":memory:")
    if not hasattr(conn, "enable_load_extension"):
        fail(f"{sys.executable}'s sqlite3 module cannot load extensions; "
             "run this with Debian's /usr/bin/python3")
    try:
        conn.enable_load_extension(True)
        # SQLite derives the entry point from the file name: load it by its
        # final name (automigrate.so) whatever the caller's copy is called.
        with tempfile.TemporaryDirectory() as tmp:
            probe = Path(tmp) / "automigrate.so"
            shutil.copyfile(so_path, probe)
            conn.load_extension(str(probe.with_suffix("")))
        (version,) = conn.execute("SELECT automigrate_version()").fetchone()
        return version
    except sqlite3.Error as e:
        fail(f"cannot load {so_path}: {e}")
    finally:
        conn.close()


def stage(so_path: Path, version: str, work: Path, strip: bool) -> None:
    for name in STAGED:
        shutil.copy2(HERE / name, work / name)
    shutil.copytree(HERE / "src", work / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "_version.py"))
    package = work / "src" / "sqlite_automigrate"
    shutil.copyfile(so_path, package / "automigrate.so")
    os.chmod(package / "automigrate.so", 0o755)
    if strip:
        # A RelWithDebInfo .so is ~45 MB, ~1.5 MB without its debug sections
        # (binutils' strip, from build-essential; dynamic symbols are kept).
        subprocess.run(["strip", "--strip-debug", str(package / "automigrate.so")], check=True)
    (package / "_version.py").write_text(
        "# Written by build_wheel.py: the version automigrate.so reports.\n"
        f"__version__ = {version!r}\n")


def build(so_path: Path, out_dir: Path, strip: bool = True) -> Path:
    version = extension_version(so_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("sqlite_automigrate-*.whl"):
        old.unlink()  # one wheel per directory: never install a stale one
    with tempfile.TemporaryDirectory(prefix="automigrate-wheel-") as tmp:
        work = Path(tmp)
        stage(so_path, version, work, strip)
        env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONDONTWRITEBYTECODE="1")
        result = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-build-isolation",
             "--no-index", "--no-deps", "--wheel-dir", str(out_dir), str(work)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if result.returncode != 0:
            fail(f"pip wheel failed:\n{result.stdout}")
    wheels = list(out_dir.glob(f"sqlite_automigrate-{version}-*.whl"))
    if len(wheels) != 1:
        fail(f"expected one sqlite_automigrate-{version} wheel in {out_dir}, found {wheels}")
    wheel = wheels[0]
    if wheel.name.endswith("-any.whl"):
        fail(f"{wheel.name} is not a platform wheel")
    with zipfile.ZipFile(wheel) as zf:
        if "sqlite_automigrate/automigrate.so" not in zf.namelist():
            fail(f"{wheel.name} does not contain sqlite_automigrate/automigrate.so")
    return wheel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("so", type=Path, help="the built extension, e.g. build/automigrate.so")
    parser.add_argument("-o", "--out", type=Path,
                        help="output directory (default: dist/ beside the .so)")
    parser.add_argument("--no-strip", action="store_true", help="keep the .so's debug info")
    args = parser.parse_args()
    so_path = args.so.resolve()
    if not so_path.is_file():
        fail(f"{args.so}: no such file (build it first: ./scripts/build.sh --target automigrate)")
    out_dir = (args.out or so_path.parent / "dist").resolve()
    print(build(so_path, out_dir, strip=not args.no_strip))


if __name__ == "__main__":
    main()
