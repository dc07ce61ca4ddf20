#!/usr/bin/env bash
# tests/wrapper/run_golden.sh -- golden tests of scripts/automigrate.
#
# Usage: run_golden.sh --ext PATH/automigrate.so [--update] CASE.t...
#
# A case file is a transcript. Lines starting with "$ " are commands, lines
# starting with "# " are comments; every other line is expected output and
# is regenerated on each run. The commands of one file run in order, with
# bash, in one fresh scratch directory holding a copy of fixtures/, with
# `automigrate` on PATH (a link to scripts/automigrate), AUTOMIGRATE_EXT set
# to the built extension, AUTOMIGRATE_SCRIPT to the script, TZ=UTC and
# LC_ALL=C.UTF-8. Below each command the transcript holds its stdout, then
# its stderr with each line prefixed "[stderr] ", then "[exit N]" when the
# exit status is not 0. The run fails when the regenerated transcript
# differs from the file; with --update (or AUTOMIGRATE_GOLDEN_UPDATE=1) the
# file is rewritten instead.
#
# Volatile fields are masked before comparison, keeping their width so that
# box tables stay aligned:
#   the scratch directory              -> <dir>
#   the extension's path               -> <ext>
#   this machine's multiarch triplet   -> <multiarch>
#   2026-11-24T03:40:09.860Z           -> YYYY-MM-DDTHH:MM:SS.sssZ   (timestamps)
#   20261124T034009.860Z               -> YYYYMMDDTHHMMSS.sssZ       (in backup file names)
#   (12.3 ms)  "duration_ms":12.345    -> (<ms> ms)  "duration_ms":<ms>
#   xxh128 <32 hex>  "checksum":"..."  -> xxh128 <checksum>  "checksum":"<checksum>"
#   12288 bytes  "bytes":12288         -> <n> bytes  "bytes":<n>  (history rows change page use)
#   sqlite: 3.40.1  "sqlite_version"   -> sqlite: <version>  (the --version line, backup sidecars)
# Plan hashes, est_ms and everything else are compared as they are: they
# are deterministic for a given schema and data.
set -uo pipefail

# Under the sanitizer pass of scripts/test.sh, LD_PRELOAD carries the ASan
# runtime into every process, and LeakSanitizer then reports bash's, sed's
# and mktemp's own allocations. Only the sqlite3 shell that loads the
# instrumented extension needs it: the driver re-runs itself without it and
# hands it to the wrapper's sqlite3 alone (AUTOMIGRATE_SQLITE3, a shim).
if [[ -n "${LD_PRELOAD:-}" ]]; then
  export AM_GOLDEN_PRELOAD="$LD_PRELOAD"
  unset LD_PRELOAD
  exec bash "$0" "$@"
fi

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
ext=""
update="${AUTOMIGRATE_GOLDEN_UPDATE:-0}"
cases=()
while (($#)); do
  case "$1" in
    --ext) shift; ext="$1" ;;
    --update) update=1 ;;
    *) cases+=("$1") ;;
  esac
  shift
done
[[ -f "$ext" ]] || { echo "run_golden.sh: --ext $ext: no such file" >&2; exit 2; }
ext="$(cd "$(dirname "$ext")" && pwd)/$(basename "$ext")"
((${#cases[@]})) || { echo "run_golden.sh: no case files" >&2; exit 2; }

if command -v dpkg-architecture >/dev/null 2>&1; then
  multiarch="$(dpkg-architecture -qDEB_HOST_MULTIARCH)"
else
  multiarch="$(gcc -print-multiarch 2>/dev/null || echo "$(uname -m)-linux-gnu")"
fi

# sed -E script of the masks above; literal paths are escaped for sed.
sed_literal() { printf '%s' "$1" | sed -e 's/[]\/$*.^[]/\\&/g'; }

mask() {
  local dir="$1"
  sed -E \
    -e "s/$(sed_literal "$dir")/<dir>/g" \
    -e "s/$(sed_literal "$ext")/<ext>/g" \
    -e "s/$(sed_literal "$multiarch")/<multiarch>/g" \
    -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z/YYYY-MM-DDTHH:MM:SS.sssZ/g' \
    -e 's/[0-9]{8}T[0-9]{6}\.[0-9]{3}Z/YYYYMMDDTHHMMSS.sssZ/g' \
    -e 's/\([0-9]+(\.[0-9]+)? ms\)/(<ms> ms)/g' \
    -e 's/("duration_ms": ?)[0-9.e+-]+/\1<ms>/g' \
    -e 's/xxh128 [0-9a-f]{32}/xxh128 <checksum>/g' \
    -e 's/("checksum": ?)"[0-9a-f]{32}"/\1"<checksum>"/g' \
    -e 's/[0-9]+ bytes/<n> bytes/g' \
    -e 's/("bytes": ?)[0-9]+/\1<n>/g' \
    -e 's/^sqlite: [0-9.]+$/sqlite: <version>/' \
    -e 's/("sqlite_version": ?)"[0-9.]+"/\1"<version>"/'
}

run_case() {
  local case_file="$1" scratch bin actual
  scratch="$(mktemp -d "${TMPDIR:-/tmp}/automigrate-golden.XXXXXX")"
  scratch="$(cd "$scratch" && pwd -P)"
  bin="$scratch/.bin"
  mkdir -p "$bin"
  ln -s "$repo/scripts/automigrate" "$bin/automigrate"
  local sqlite3_shell
  sqlite3_shell="$(command -v sqlite3)"
  if [[ -n "${AM_GOLDEN_PRELOAD:-}" ]]; then
    printf '#!/bin/sh\nLD_PRELOAD=%q exec %q "$@"\n' "$AM_GOLDEN_PRELOAD" "$sqlite3_shell" \
      >"$bin/.sqlite3-preload"
    chmod +x "$bin/.sqlite3-preload"
    sqlite3_shell="$bin/.sqlite3-preload"
  fi
  cp -R "$here/fixtures/." "$scratch/"
  actual="$scratch/.transcript"
  : >"$actual"
  local line out="$scratch/.stdout" err="$scratch/.stderr" rc
  while IFS= read -r line || [[ -n "$line" ]]; do
    case "$line" in
      '# '* | '#') printf '%s\n' "$line" >>"$actual" ;;
      '$ '*)
        printf '%s\n' "$line" >>"$actual"
        (cd "$scratch" && env -u AUTOMIGRATE_PROGRESS PATH="$bin:$PATH" AUTOMIGRATE_EXT="$ext" \
           AUTOMIGRATE_SCRIPT="$repo/scripts/automigrate" AUTOMIGRATE_SQLITE3="$sqlite3_shell" \
           TZ=UTC LC_ALL=C.UTF-8 \
           bash -c "${line#\$ }" >"$out" 2>"$err" </dev/null)
        rc=$?
        mask "$scratch" <"$out" >>"$actual"
        mask "$scratch" <"$err" | sed 's/^/[stderr] /' >>"$actual"
        ((rc == 0)) || printf '[exit %d]\n' "$rc" >>"$actual"
        ;;
    esac
  done <"$case_file"
  local status=0
  if ((update)); then
    cp "$actual" "$case_file"
    echo "updated $case_file"
  elif ! diff -u "$case_file" "$actual"; then
    echo "FAIL $case_file (expected: -, actual: +; AUTOMIGRATE_GOLDEN_UPDATE=1 rewrites it)" >&2
    status=1
  else
    echo "ok $case_file"
  fi
  rm -rf -- "$scratch"
  return "$status"
}

failed=0
for c in "${cases[@]}"; do
  run_case "$c" || failed=1
done
exit "$failed"
