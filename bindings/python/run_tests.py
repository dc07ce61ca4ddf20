#!/usr/bin/python3
"""The Python package's test (ctest Bindings.Python.Wheel): wheel, fresh venv, pytest.

Usage: /usr/bin/python3 bindings/python/run_tests.py BUILD_DIR/automigrate.so WORK_DIR [pytest args]

1. builds the wheel from the .so into WORK_DIR/dist (build_wheel.py),
2. creates a fresh venv in WORK_DIR/venv (--system-site-packages, so Debian's
   pip and pytest are visible; --without-pip, Debian's pip installs into it),
3. installs the wheel into it with `pip install --no-index`,
4. runs bindings/python/tests with the venv's python, from WORK_DIR, so the
   tests import the installed package, never the source tree.

Exits 77 (ctest: skipped, not passed) when this Python lacks what the test needs
(./scripts/setup.sh --with bindings installs it), else pytest's exit status.
"""

import importlib.util
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SKIP = 77


def missing_prerequisites() -> list:
    missing = [m for m in ("venv", "pip", "setuptools", "wheel", "pytest")
               if importlib.util.find_spec(m) is None]
    if not hasattr(sqlite3.connect(":memory:"), "enable_load_extension"):
        missing.append("sqlite3 extension loading")
    return missing


def step(name: str, argv: list, **kwargs) -> None:
    start = time.monotonic()
    subprocess.run(argv, check=True, **kwargs)
    print(f"run_tests: {name}: {time.monotonic() - start:.1f} s", flush=True)


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    so_path = Path(sys.argv[1]).resolve()
    work = Path(sys.argv[2]).resolve()
    pytest_args = sys.argv[3:]
    missing = missing_prerequisites()
    if missing:
        print(f"run_tests: SKIPPED: {sys.executable} lacks {', '.join(missing)} "
              "(./scripts/setup.sh --with bindings installs python3-venv, python3-pip, "
              "python3-setuptools, python3-wheel, python3-pytest)", flush=True)
        return SKIP

    started = time.monotonic()
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    dist = work / "dist"
    venv = work / "venv"
    scratch = work / "pytest-tmp"
    shutil.rmtree(venv, ignore_errors=True)
    shutil.rmtree(scratch, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)

    step("build wheel",
         [sys.executable, str(HERE / "build_wheel.py"), str(so_path), "-o", str(dist)], env=env)
    (wheel,) = dist.glob("sqlite_automigrate-*.whl")
    step("create venv", [sys.executable, "-m", "venv", "--system-site-packages", "--without-pip",
                         str(venv)], env=env)
    python = venv / "bin" / "python"
    step(f"install {wheel.name}", [str(python), "-m", "pip", "install", "--quiet", "--no-index",
                                   "--no-deps", str(wheel)], env=env)

    # -p no:cacheprovider: no .pytest_cache in the source tree; -c /dev/null and
    # --rootdir: no configuration file read from anywhere above the tests.
    argv = [str(python), "-m", "pytest", "-p", "no:cacheprovider", "-ra", "-c", os.devnull,
            "--rootdir", str(HERE), f"--basetemp={scratch}", str(HERE / "tests"), *pytest_args]
    start = time.monotonic()
    pytest_env = dict(env, AUTOMIGRATE_TEST_WHEEL=str(wheel))
    code = subprocess.run(argv, cwd=work, env=pytest_env).returncode
    print(f"run_tests: pytest: {time.monotonic() - start:.1f} s (exit {code}); "
          f"total {time.monotonic() - started:.1f} s", flush=True)
    return code


if __name__ == "__main__":
    try:
        sys.exit(main())
    except subprocess.CalledProcessError as e:
        print(f"run_tests: FAILED: {' '.join(map(str, e.cmd))} exited {e.returncode}",
              file=sys.stderr)
        sys.exit(1)
