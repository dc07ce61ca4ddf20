#!/usr/bin/env bash
# scripts/fuzz.sh -- builds the libFuzzer targets (tests/fuzz) with clang in
# build-fuzz/ and runs each for a while.
#
# Usage: ./scripts/fuzz.sh [seconds-per-target]    (default 20)
#   Targets: fuzz_ddl (core/ddl.h), fuzz_options (ext/options.h), fuzz_plan
#   (PlanMigration of fuzzed desired DDL). Each starts from its seed corpus
#   (built from tests/sql/**, tests/conformance, ../shared/conformance) plus
#   what earlier runs found (build-fuzz/corpus/<target>/, kept between runs).
#   Exits non-zero when a target reports a crash, a sanitizer error, an
#   escaped exception, a leak, a timeout or out-of-memory; the input is saved
#   as build-fuzz/findings/<target>/crash-*|leak-*|timeout-*|oom-* and the
#   log as build-fuzz/findings/<target>.log. Reproduce one with
#     build-fuzz/fuzz_plan build-fuzz/findings/fuzz_plan/crash-<sha1>
# Environment: FUZZ_JOBS (build parallelism, default nproc), FUZZ_BUILD_DIR
#   (default build-fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-20}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || ((seconds < 1)); then
  echo "fuzz.sh: seconds-per-target must be a positive integer, got '$seconds'" >&2
  exit 2
fi
build_dir="${FUZZ_BUILD_DIR:-build-fuzz}"
targets=(fuzz_ddl fuzz_options fuzz_plan)

./scripts/setup.sh --with fuzz

args=(-S tests/fuzz -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo
      -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++)
if command -v ccache >/dev/null 2>&1; then
  args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  export CCACHE_NOHASHDIR=1 CCACHE_BASEDIR="$PWD"
fi
CC=clang CXX=clang++ cmake "${args[@]}" >/dev/null
cmake --build "$build_dir" -j "${FUZZ_JOBS:-$(nproc)}" --target "${targets[@]}" make_seed_corpus

seeds="$build_dir/seeds"
"$build_dir/make_seed_corpus" . ../shared "$seeds"

declare -A seed_dir=([fuzz_ddl]=ddl [fuzz_options]=options [fuzz_plan]=plan)
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
failed=()
for t in "${targets[@]}"; do
  corpus="$build_dir/corpus/$t"
  findings="$build_dir/findings/$t"
  mkdir -p "$corpus" "$findings"
  log="$build_dir/findings/$t.log"
  echo "fuzz.sh: $t for ${seconds}s (corpus $corpus, seeds $seeds/${seed_dir[$t]})"
  # New inputs go to the first directory (corpus/<t>), the seeds are read only.
  # -timeout: one input running 10 s is a finding (the planner must not hang);
  # -rss_limit_mb / -malloc_limit_mb: so must a runaway allocation be.
  if "$build_dir/$t" "$corpus" "$seeds/${seed_dir[$t]}" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
        -max_len=8192 -print_final_stats=1 -artifact_prefix="$findings/" >"$log" 2>&1; then
    echo "fuzz.sh: $t: $(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}') runs, no finding"
  else
    echo "fuzz.sh: $t: FINDING (log $log; inputs in $findings/):" >&2
    grep -E 'ERROR|runtime error|invariant failed|uncaught|Test unit written' "$log" | head -20 >&2 || true
    failed+=("$t")
  fi
done
if ((${#failed[@]})); then
  echo "fuzz.sh: findings in ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: ${#targets[@]} targets, ${seconds}s each, no finding"
