#!/usr/bin/env bash
# scripts/test.sh -- the whole test suite, as CI runs it: setup, a -Werror build
# in build/, then every test through ctest; then the same again built with
# ASan + UBSan in build-asan/ (the Python package test is not registered there); then
# the libFuzzer targets for 20 s each (scripts/fuzz.sh). Exits non-zero on any
# failure. The bindings/ tests need Python, Go and Node toolchains, installed
# first (scripts/setup.sh --with bindings --with fuzz).
#
# Usage: ./scripts/test.sh [extra ctest arguments, e.g. -R Golden]
set -euo pipefail
cd "$(dirname "$0")/.."

# The C++ build and tests need the core packages (build.sh installs them);
# bindings/ tests need Python, Go and Node toolchains, scripts/fuzz.sh clang.
./scripts/setup.sh --with bindings --with fuzz
./scripts/build.sh --werror build

echo "== tests (build/)"
# --no-tests=error: a build that registered no test is a failure, not a pass.
(cd build && ctest --output-on-failure --no-tests=error -j2 "$@") 2>&1 | tee build/ctest.log

# ---------------------------------------------------------------------------
# The same suite again under AddressSanitizer + UndefinedBehaviorSanitizer
# (any report fails the test: -fno-sanitize-recover=all, leaks included).
# A Debug build (-O0): about 4 minutes to build and 1 to run on 2 cores,
# against 17 + 1 for an optimized one. The sqlite3 shells the tests start
# load the instrumented extension, so the ASan runtime is preloaded for them.
# AUTOMIGRATE_SKIP_SANITIZERS=1 skips this pass (for a quick local run).
if [[ "${AUTOMIGRATE_SKIP_SANITIZERS:-0}" != "1" ]]; then
  BUILD_TYPE=Debug ./scripts/build.sh --werror build-asan -- -DAUTOMIGRATE_SANITIZE=address,undefined
  asan_runtime=$(gcc -print-file-name=libasan.so)
  echo "== tests under ASan + UBSan (build-asan/, LD_PRELOAD=$asan_runtime)"
  # The reliability harnesses run a quarter of their kill/fault points here
  # (AUTOMIGRATE_RELIABILITY_SCALE): the full short run is the pass above.
  (cd build-asan && LD_PRELOAD="$asan_runtime" ASAN_OPTIONS=detect_leaks=1 \
     AUTOMIGRATE_RELIABILITY_SCALE=0.25 \
     ctest --output-on-failure --no-tests=error -j2 "$@") 2>&1 | tee build-asan/ctest.log
  grep -E '^[0-9]+% tests passed' build-asan/ctest.log | tail -n 1 | sed 's/^/ASan+UBSan: /' || true
fi

# ---------------------------------------------------------------------------
# libFuzzer targets (clang, -fsanitize=fuzzer,address,undefined): 20 s each
# for the DDL tokenizer/normalizer, the options parser and whole plans.
# AUTOMIGRATE_SKIP_FUZZ=1 skips it; scripts/soak.sh runs them longer.
if [[ "${AUTOMIGRATE_SKIP_FUZZ:-0}" != "1" && $# -eq 0 ]]; then
  echo "== fuzz (build-fuzz/)"
  ./scripts/fuzz.sh 20
fi

# ctest's own summary line comes last, for whoever reads the end of the log.
grep -E '^[0-9]+% tests passed' build/ctest.log | tail -n 1 || true
