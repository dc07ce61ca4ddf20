#!/usr/bin/env bash
# scripts/setup.sh -- installs the Debian packages the build, the tests and the
# demo need, and only those that are missing. Safe to run again: when every
# package is present it does nothing (no apt-get, no network).
#
# Usage: ./scripts/setup.sh [--with GROUP]...   (root, or a user with sudo)
#   with no argument: what the build, the C++ tests and the demo need;
#   --with bindings   also the Python/Go/Node toolchains for bindings/ tests
#   --with fuzz       also clang and libFuzzer's runtime (scripts/fuzz.sh)
#   --with bench      also the alternatives scripts/bench.sh measures against
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential     # g++ (C++20), make
  cmake               # the build (>= 3.20)
  pkg-config
  libsqlite3-dev      # sqlite3.h, sqlite3ext.h, libsqlite3 for the tests
  sqlite3             # the shell: demo, golden tests through the shell
  sqlite3-tools       # sqldiff, sqlite3_analyzer
  libxxhash-dev       # XXH3-128 backup checksums
  xxhash              # xxhsum, to check backups by hand
  libfmt-dev
  nlohmann-json3-dev
  googletest
  libgtest-dev
  libyaml-cpp-dev     # test fixtures
  hyperfine           # benchmarks
  time                # /usr/bin/time -v: peak RSS in scripts/bench.sh apply
)
BINDINGS_PACKAGES=(
  python3-venv        # bindings/python: the venv its test installs the wheel into
  python3-pip         # bindings/python: builds (pip wheel) and installs the wheel offline
  python3-setuptools  # bindings/python: wheel build backend
  python3-wheel       # bindings/python: bdist_wheel (platform tag)
  python3-pytest      # bindings/python: its tests
  golang-go           # bindings/go: go test (GOPATH mode, offline)
  golang-github-mattn-go-sqlite3-dev  # bindings/go: the database/sql driver, linked to libsqlite3
  nodejs              # bindings/node: node --test; npm comes with the machine's NodeSource build (v20)
  python3             # bindings/node: node-gyp (builds better-sqlite3 from source)
)
FUZZ_PACKAGES=(
  clang               # libFuzzer targets (-fsanitize=fuzzer)
  libclang-rt-dev     # libFuzzer + sanitizer runtimes for clang
)
BENCH_PACKAGES=(
  sqlite-utils        # bench.sh apply: sqlite-utils transform (rebuild contender)
  python3-alembic     # bench.sh apply: Alembic batch_alter_table (rebuild contender)
  python3-sqlalchemy  # Alembic's engine
)

while (($# > 0)); do
  case "$1" in
    --with)
      shift
      case "${1:-}" in
        bindings) PACKAGES+=("${BINDINGS_PACKAGES[@]}") ;;
        fuzz) PACKAGES+=("${FUZZ_PACKAGES[@]}") ;;
        bench) PACKAGES+=("${BENCH_PACKAGES[@]}") ;;
        *) echo "setup.sh: unknown group '${1:-}' (bindings, fuzz, bench)" >&2; exit 2 ;;
      esac ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

missing=()
for pkg in "${PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
  if [[ "$status" != "installed" ]]; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "setup: missing packages (${missing[*]}) and not root, no sudo: install them and retry" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  "${missing[@]}"
echo "setup: done"
