#!/usr/bin/env bash
# scripts/soak.sh -- the long run of the reliability harnesses (the short run
# is part of ./scripts/test.sh). Counts are the short run's times
# AUTOMIGRATE_RELIABILITY_SCALE (default here 20; the convergence harness
# runs 20000 pairs), and each libFuzzer target runs FUZZ_SECONDS (default 600).
#
# Usage: ./scripts/soak.sh [harness...]   (crash concurrency io_faults oom
#                                          convergence fuzz; default: all)
# Environment: AUTOMIGRATE_RELIABILITY_SCALE, CONVERGENCE_PAIRS, FUZZ_SECONDS,
#   SOAK_BUILD_DIR (default build-soak). Each harness prints its summary line
#   (the figures docs/RELIABILITY.md reports) and a reproducer on failure; the
#   script stops at the first failing harness.
set -euo pipefail
cd "$(dirname "$0")/.."

build="${SOAK_BUILD_DIR:-build-soak}"
export AUTOMIGRATE_RELIABILITY_SCALE="${AUTOMIGRATE_RELIABILITY_SCALE:-20}"
pairs="${CONVERGENCE_PAIRS:-20000}"
fuzz_seconds="${FUZZ_SECONDS:-600}"
harnesses=("$@")
((${#harnesses[@]})) || harnesses=(crash concurrency io_faults oom convergence fuzz)

./scripts/build.sh "$build" >/dev/null
bin="$build/tests/reliability"
for h in "${harnesses[@]}"; do
  echo "== soak: $h (scale $AUTOMIGRATE_RELIABILITY_SCALE) $(date -u +%FT%TZ)"
  start=$SECONDS
  case "$h" in
    crash) "$bin/crash/automigrate_crash" ;;
    concurrency) "$bin/concurrency/automigrate_concurrency" ;;
    io_faults) "$bin/faults/automigrate_io_faults" ;;
    oom) "$bin/oom/automigrate_oom" ;;
    convergence) "$bin/convergence/convergence" --first-seed 1 --pairs "$pairs" ;;
    fuzz) ./scripts/fuzz.sh "$fuzz_seconds" ;;
    *) echo "soak.sh: unknown harness '$h'" >&2; exit 2 ;;
  esac
  echo "== soak: $h passed in $((SECONDS - start)) s"
done
