#!/usr/bin/env bash
# scripts/build.sh -- installs what is missing (setup.sh), configures and builds.
#
# Usage: ./scripts/build.sh [--werror] [--target T] [build-dir] [-- extra cmake arguments]
#   build-dir   defaults to build/ (relative paths are taken from the repo root);
#               the extension ends up as <build-dir>/automigrate.so
#   --werror    -DAUTOMIGRATE_WERROR=ON (also when CI=true or AUTOMIGRATE_WERROR=1)
#   --target T  build only target T (e.g. automigrate: the extension, no tests)
#   -- ARGS     passed to cmake's configure step, e.g.
#               ./scripts/build.sh build-asan -- -DAUTOMIGRATE_SANITIZE=address,undefined
# Environment: BUILD_TYPE (default RelWithDebInfo).
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=build
werror=0
extra=()
target=()
while (($# > 0)); do
  case "$1" in
    --werror) werror=1 ;;
    --target) shift; target=(--target "${1:?--target needs a name}") ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    -*) echo "build.sh: unknown option $1" >&2; exit 2 ;;
    *) build_dir="$1" ;;
  esac
  shift
done
if [[ "${CI:-}" == "true" || "${AUTOMIGRATE_WERROR:-0}" == "1" ]]; then
  werror=1
fi

./scripts/setup.sh

args=(-S . -B "$build_dir" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}")
# Only ever switched on here: a build dir configured with -Werror keeps it
# (CMake cache) rather than flipping (and rebuilding everything) between runs.
if ((werror)); then
  args+=(-DAUTOMIGRATE_WERROR=ON)
fi
# ccache, when the machine has it, lets several build dirs (build/, build-asan/,
# a developer's scratch dirs) share compiled objects. It is optional: setup.sh
# does not install it and CI builds without it.
if command -v ccache >/dev/null 2>&1; then
  args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  export CCACHE_NOHASHDIR=1 CCACHE_BASEDIR="$PWD"
fi
cmake "${args[@]}" "${extra[@]}"

# The golden harness (tests/golden_test.cc) finds tests/sql/**/*.test when it
# runs, but ctest learns the list from gtest discovery, which runs only when
# the test binary is linked. When a .test file was added, removed or renamed
# since (its folder's mtime moved), drop the binary so it is relinked and
# rediscovered: a new golden file is never silently skipped.
test_bin="$build_dir/tests/automigrate_tests"
if [[ -e "$test_bin" && -n "$(find tests/sql -type d -newer "$test_bin" -print -quit)" ]]; then
  rm -f "$test_bin"
fi
cmake --build "$build_dir" -j "$(nproc)" "${target[@]}"
echo "build: $build_dir/automigrate.so"
