#!/usr/bin/env bash
# scripts/bench.sh -- benchmarks of the planner against sqldiff, of migrate_apply
# and backup_create against the same work done by hand, and the
# calibration of the planner's duration model (docs/BENCHMARKS.md,
# docs/ESTIMATES.md).
#
# Usage: ./scripts/bench.sh [plan|calibrate|apply|backup|all]     (from any directory)
#   plan       (default) generated schemas of N tables (BENCH_SIZES): times
#              migrate_status on a no-op and on a ~10%-changed desired schema
#              against sqldiff --schema on the same pairs, and process start-up
#              + .load; prints the ratio and the time per table at each size
#              (linear growth keeps it flat); runs the planned migrate_script
#              once, against its est_ms (up to BENCH_PLAN_APPLY_MAX tables)
#   calibrate  a 1,000,000-row table (~100 bytes/row, 2 secondary indexes):
#              microseconds per row of copy, CREATE INDEX, DROP COLUMN, ADD
#              COLUMN (with a CHECK), DROP TABLE and count(*); the planner's
#              est_ms against the measured run of migrate_script; the cost of
#              one schema change on schemas of CALIB_SCHEMA_SIZES tables
#   apply      migrate_apply side by side with the same change by hand, each
#              run on its own fresh copy of one database: the no-op at start-up
#              on BENCH_APPLY_TABLES generated tables (migrated once by
#              migrate_apply, and created from A.sql directly); ADD COLUMN and
#              a rebuild (INTEGER -> TEXT) of a BENCH_APPLY_ROWS-row table with
#              2 indexes and a child table (FOREIGN KEY ... ON DELETE CASCADE)
#              against the ALTER TABLE and the 12-step script typed by hand
#              (and migrate_script's output run by the shell), migrate_apply
#              with sorter_threads 0 (no sorter worker threads), sqlite-utils
#              transform (with and without recreating the indexes it drops)
#              and Alembic's batch_alter_table; peak RSS of the rebuilds
#              (/usr/bin/time -v); then est_ms against each step's
#              duration_ms (add column, create/drop index, rename column,
#              rebuild, and a BENCH_APPLY_PLAN_TABLES-table 10% plan).
#   inplace    only apply's in-place case (apply_inplace), on BENCH_APPLY_ROWS
#   backup     backup_create side by side with sqlite3 .backup, cp, cp + sync,
#              cp + xxh128sum, and xxh128sum against the extension's hashing
#              alone (backup_verify stopping at a checksum mismatch), on apply's
#              BENCH_BACKUP_ROWS-row database (rollback journal, and a WAL
#              copy of it); every command once a round, the order rotating;
#              before every run (untimed) the output is removed, then sync and
#              a pause (BENCH_BACKUP_PAUSE). About 5.5 minutes, 3.6 of them
#              pauses.
#   all        all four (about 12 minutes on 2 cores shared with compilations)
# Environment:
#   BENCH_SIZES="100 1000"     table counts, e.g. "1000 2000 5000" for the growth
#                              (5000 adds ~15 minutes with 5 runs: sqldiff takes 1 min a run)
#   BENCH_PLAN_APPLY_MAX=2000  largest size whose planned script is run (13 min at 5000)
#   BENCH_LARGE_RUNS, BENCH_LARGE_WARMUP   runs and warm-ups for plan sizes above
#                              2000 tables (default: BENCH_RUNS, BENCH_WARMUP)
#   BENCH_RUNS=10 BENCH_WARMUP=2   timed and warm-up runs per command
#   BENCH_ROWS=20              rows per generated table
#   CALIB_ROWS=1000000 CALIB_REPEAT=5 CALIB_SCHEMA_SIZES="100 1000"
#   BENCH_APPLY_TABLES=100     generated tables for the no-op at start-up
#   BENCH_APPLY_ROWS="100000 1000000 5000000"   table sizes for ADD COLUMN,
#                              the rebuild and the estimates (the child table
#                              gets a tenth as many)
#   BENCH_APPLY_REPEAT=3       rebuild rounds (every contender once a round)
#   BENCH_APPLY_CHEAP_REPEAT=10   ADD COLUMN runs (the no-op gets twice that)
#   BENCH_APPLY_SIMPLE_REPEAT=5   runs of CREATE INDEX, DROP INDEX and RENAME
#                              COLUMN against the statement by hand (0: skip)
#   BENCH_APPLY_SCRIPT=1       also time migrate_script's output (0: skip)
#   BENCH_APPLY_TOOLS=1        also time sqlite-utils transform and Alembic (0: skip)
#   BENCH_APPLY_PLAN_TABLES=1000   tables of the generated schema whose 10% plan
#                              is applied for est_ms vs duration_ms ("": skip)
#   BENCH_BACKUP_ROWS=5000000  rows of the backup mode's database (apply's builder)
#   BENCH_BACKUP_RUNS=5        timed rounds (every command once a round, after a
#                              warm-up round)
#   BENCH_BACKUP_PAUSE=3       seconds of sleep (untimed) before every backup run
#   AUTOMIGRATE_BUILD_DIR=build   the build to measure (made or refreshed with
#                              scripts/build.sh --target automigrate; BUILD_TYPE
#                              as there, e.g. BUILD_TYPE=Release)
#   BENCH_NO_HYPERFINE=1       use the date +%s%N loop even if hyperfine exists
# Raw results go to <build dir>/bench/ (not committed): generated schemas and
# databases, hyperfine JSON, *_results.tsv and *_summary.txt.
# Wall-clock times are medians and nothing is subtracted from them; "cpu" is
# user+sys of the process (hyperfine's mean), less sensitive to a busy machine.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

mode="${1:-plan}"
case "$mode" in
  plan|calibrate|apply|inplace|backup|all) ;;
  -h|--help) awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0"; exit 0 ;;
  *) echo "bench.sh: unknown mode '$mode' (plan, calibrate, apply, backup or all)" >&2; exit 2 ;;
esac

BUILD="${AUTOMIGRATE_BUILD_DIR:-build}"
[[ "$BUILD" = /* ]] || BUILD="$ROOT/$BUILD"
SIZES="${BENCH_SIZES:-100 1000}"
PLAN_APPLY_MAX="${BENCH_PLAN_APPLY_MAX:-2000}"
RUNS="${BENCH_RUNS:-10}"
WARMUP="${BENCH_WARMUP:-2}"
ROWS="${BENCH_ROWS:-20}"
CALIB_ROWS="${CALIB_ROWS:-1000000}"
CALIB_REPEAT="${CALIB_REPEAT:-5}"
CALIB_SCHEMA_SIZES="${CALIB_SCHEMA_SIZES:-100 1000}"
APPLY_TABLES="${BENCH_APPLY_TABLES:-100}"
APPLY_ROWS="${BENCH_APPLY_ROWS:-100000 1000000 5000000}"
APPLY_REPEAT="${BENCH_APPLY_REPEAT:-3}"
APPLY_CHEAP_REPEAT="${BENCH_APPLY_CHEAP_REPEAT:-10}"
APPLY_SIMPLE_REPEAT="${BENCH_APPLY_SIMPLE_REPEAT:-5}"
APPLY_SCRIPT="${BENCH_APPLY_SCRIPT:-1}"
APPLY_TOOLS="${BENCH_APPLY_TOOLS:-1}"
APPLY_PLAN_TABLES="${BENCH_APPLY_PLAN_TABLES-1000}"
BACKUP_ROWS="${BENCH_BACKUP_ROWS:-5000000}"
BACKUP_RUNS="${BENCH_BACKUP_RUNS:-5}"
BACKUP_PAUSE="${BENCH_BACKUP_PAUSE:-3}"
PY=/usr/bin/python3  # Debian's; standard library only

OUT="$BUILD/bench"
mkdir -p "$OUT"
# The alternatives measured side by side (sqlite-utils, Alembic) are Debian
# packages like the rest: installed only when missing.
if [[ -x scripts/setup.sh ]]; then
  ./scripts/setup.sh --with bench >"$OUT/setup.log" 2>&1 || { cat "$OUT/setup.log" >&2; exit 1; }
fi
if [[ -x scripts/build.sh ]]; then
  ./scripts/build.sh --target automigrate "$BUILD" >"$OUT/build.log" 2>&1 ||
    { cat "$OUT/build.log" >&2; exit 1; }
else
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" >"$OUT/build.log"
  cmake --build "$BUILD" -j "$(nproc)" --target automigrate >>"$OUT/build.log"
fi
EXT="$BUILD/automigrate"
[[ -f "$EXT.so" ]] || { echo "bench.sh: $EXT.so was not built" >&2; exit 1; }
for tool in sqlite3 sqldiff "$PY"; do
  command -v "$tool" >/dev/null ||
    { echo "bench.sh: $tool not found (scripts/setup.sh installs it)" >&2; exit 1; }
done
HAVE_HYPERFINE=0
if command -v hyperfine >/dev/null && [[ "${BENCH_NO_HYPERFINE:-0}" != 1 ]]; then
  HAVE_HYPERFINE=1
fi

machine() {
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')," \
    "$(awk '/MemTotal/ {printf "%.1f GiB RAM", $2 / 1048576}' /proc/meminfo), $(uname -sr)"
  echo "sqlite3 $(sqlite3 --version | cut -d' ' -f1)," \
    "sqldiff from $(dpkg-query -W -f='sqlite3-tools ${Version}' sqlite3-tools 2>/dev/null || echo '?')," \
    "$( ((HAVE_HYPERFINE)) && hyperfine --version || echo 'no hyperfine: date +%s%N loop')"
  echo "extension: $EXT.so ($(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$BUILD/CMakeCache.txt" 2>/dev/null || echo '?') build)"
  echo "load average (1/5/15 min) at start: $LOAD_START; at end: $(cut -d' ' -f1-3 /proc/loadavg)"
}
LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"

# ms_since T0: milliseconds since T0 (from date +%s%N).
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

# emit_median PREFIX NAME "US..." "CPU_MS...": one TSV line
# (prefix, name, median ms, min, max, runs, mean cpu ms) from loop samples.
emit_median() {
  "$PY" -c '
import statistics, sys
us = [int(x) / 1000 for x in sys.argv[3].split()]
cpu = [float(x) for x in sys.argv[4].split()]
print(f"{sys.argv[1]}\t{sys.argv[2]}\t{statistics.median(us):.2f}\t{min(us):.2f}\t{max(us):.2f}"
      f"\t{len(us)}\t{statistics.mean(cpu):.2f}")
' "$@"
}

# time_cmds PREFIX JSON NAME1 CMD1 [NAME2 CMD2 ...]: times each command (no
# shell in between with hyperfine; bash -c in the fallback loop) in the
# current directory and appends to $TSV one line per command:
#   PREFIX  NAME  median_ms  min_ms  max_ms  runs  cpu_ms (mean user+sys)
# With PREPARE set (a command without shell syntax), it runs, untimed,
# before every run of every command, warm-ups included.
time_cmds() {
  local prefix="$1" json="$2"
  shift 2
  local names=() cmds=()
  while (($# > 0)); do
    names+=("$1")
    cmds+=("$2")
    shift 2
  done
  if ((HAVE_HYPERFINE)); then
    local args=()
    for i in "${!names[@]}"; do args+=(-n "${names[$i]}" "${cmds[$i]}"); done
    [[ -z "${PREPARE:-}" ]] || args=(-p "$PREPARE" "${args[@]}")
    hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" --export-json "$json" "${args[@]}" \
      >"${json%.json}.log" 2>&1 || { cat "${json%.json}.log" >&2; return 1; }
    "$PY" - "$json" "$prefix" >>"$TSV" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    t = [x * 1000 for x in r["times"]]
    print(f'{sys.argv[2]}\t{r["command"]}\t{r["median"] * 1000:.2f}\t{min(t):.2f}\t{max(t):.2f}'
          f'\t{len(t)}\t{(r["user"] + r["system"]) * 1000:.2f}')
PY
  else
    local TIMEFORMAT='%3U %3S' i k t0 t1 cpu
    for i in "${!names[@]}"; do
      local samples=() cpus=()
      for ((k = 0; k < WARMUP; k++)); do
        [[ -z "${PREPARE:-}" ]] || bash -c "$PREPARE"
        bash -c "${cmds[$i]}" >/dev/null
      done
      for ((k = 0; k < RUNS; k++)); do
        [[ -z "${PREPARE:-}" ]] || bash -c "$PREPARE"
        t0=$(date +%s%N)
        cpu="$({ time bash -c "${cmds[$i]}" >/dev/null 2>&1; } 2>&1)"
        t1=$(date +%s%N)
        samples+=("$(((t1 - t0) / 1000))")
        cpus+=("$(echo "$cpu" | awk '{print ($1 + $2) * 1000}')")
      done
      emit_median "$prefix" "${names[$i]}" "${samples[*]}" "${cpus[*]}" >>"$TSV"
    done
  fi
}

# ---------------------------------------------------------------------------
# Schema generator.
# gen_schemas N DIR: DIR/A.sql (N tables: 12 columns of mixed types, INTEGER
# PRIMARY KEY, a UNIQUE column, 2 indexes, 2 FKs to earlier tables; a view and
# a trigger per 10 tables), DIR/B.sql (every 10th table changed, the change
# rotating through six kinds), DIR/data.sql (BENCH_ROWS rows per table) and
# DIR/changes.txt.
gen_schemas() {
  "$PY" - "$1" "$2" "$ROWS" <<'PY'
import random, sys
n, out, rows = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
rng = random.Random(n)  # deterministic per size
parents = {i: (rng.randrange(i), rng.randrange(i)) if i else None for i in range(n)}

def name(i): return f"t{i:05d}"

KINDS = ["add_column", "type_change", "add_index", "drop_column", "default_change",
         "drop_index+add_not_null_column"]
def change(i):
    return KINDS[(i // 10) % len(KINDS)] if i % 10 == 5 else None

def table(i, desired):
    t, kind = name(i), change(i) if desired else None
    p, q = parents[i] if parents[i] else (None, None)
    cols = [
        "id INTEGER PRIMARY KEY",
        "code TEXT NOT NULL UNIQUE",
        "name TEXT NOT NULL DEFAULT ''",
        "qty INTEGER NOT NULL DEFAULT " + ("1" if kind == "default_change" else "0"),
        "price " + ("NUMERIC" if kind == "type_change" else "REAL"),
        "ratio NUMERIC",
        "active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1))",
        "created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP",
        "payload BLOB",
        "note TEXT",
        f"parent_id INTEGER REFERENCES {name(p)}(id) ON DELETE CASCADE" if p is not None
        else "parent_id INTEGER",
        f"owner_id INTEGER REFERENCES {name(q)}(id)" if q is not None else "owner_id INTEGER",
    ]
    if kind == "drop_column":
        cols.remove("ratio NUMERIC")
    if kind == "add_column":
        cols.append("extra TEXT")
    if kind == "drop_index+add_not_null_column":
        cols.append("status TEXT NOT NULL DEFAULT 'new'")
    s = f"CREATE TABLE {t} (\n  " + ",\n  ".join(cols) + "\n);\n"
    if kind != "drop_index+add_not_null_column":
        s += f"CREATE INDEX {t}_name ON {t}(name);\n"
    s += f"CREATE INDEX {t}_parent ON {t}(parent_id, qty);\n"
    if kind == "add_index":
        s += f"CREATE INDEX {t}_qty_price ON {t}(qty, price);\n"
    if i % 10 == 0:
        s += (f"CREATE VIEW v{t} AS\n  SELECT c.id, c.code, c.qty, p.name AS parent_name\n"
              f"  FROM {t} AS c LEFT JOIN {name(p) if p is not None else t} AS p"
              f" ON p.id = c.parent_id;\n")
        s += (f"CREATE TRIGGER {t}_qty AFTER UPDATE OF qty ON {t}\n"
              f"BEGIN\n  UPDATE {t} SET note = 'qty ' || NEW.qty WHERE id = NEW.id;\nEND;\n")
    return s

for fname, desired in (("A.sql", False), ("B.sql", True)):
    with open(f"{out}/{fname}", "w") as f:
        f.write(f"-- generated by scripts/bench.sh: {n} tables, "
                f"{'desired (~10% changed)' if desired else 'live'}\n")
        for i in range(n):
            f.write(table(i, desired))
with open(f"{out}/data.sql", "w") as f:
    for i in range(n):
        t = name(i)
        fk = (f"1 + value % {rows}", f"1 + (value * 7) % {rows}") if i else ("NULL", "NULL")
        f.write(f"INSERT INTO {t} (code, name, qty, price, ratio, payload, note, parent_id, owner_id)\n"
                f"  SELECT '{t}-' || value, 'name ' || value, value, value * 1.5, value % 7,\n"
                f"         randomblob(8), 'note', {fk[0]}, {fk[1]}\n"
                f"  FROM generate_series(1, {rows});\n")
with open(f"{out}/changes.txt", "w") as f:
    for i in range(n):
        if change(i):
            f.write(f"{name(i)}\t{change(i)}\n")
PY
}

# build_db DB FILE...: a fresh database from the files, in one transaction
# (DDL in autocommit mode would fsync once per statement).
build_db() {
  local db="$1"
  shift
  rm -f "$db" "$db-journal"
  { echo "BEGIN;"; cat "$@"; echo "COMMIT;"; } | sqlite3 -bail "$db"
}

# make_schema_dir N DIR: generated schemas plus live.db (A + rows), a.db, b.db.
make_schema_dir() {
  local n="$1" dir="$2"
  rm -rf "$dir"
  mkdir -p "$dir"
  gen_schemas "$n" "$dir"
  build_db "$dir/live.db" "$dir/A.sql" "$dir/data.sql"
  build_db "$dir/a.db" "$dir/A.sql"
  build_db "$dir/b.db" "$dir/B.sql"
}

# status_field DB DESIRED_FILE FIELD: one field of migrate_status's JSON.
status_field() {
  sqlite3 -bail "$1" -cmd ".load $EXT" "SELECT migrate_status(readfile('$2')) ->> '\$.$3'"
}

# ---------------------------------------------------------------------------
# plan

run_plan() {
  TSV="$OUT/plan_results.tsv"
  : >"$TSV"
  : >"$OUT/plan_apply.tsv"
  : >"$OUT/plan_load.tsv"
  for n in $SIZES; do
    local dir="$OUT/n$n" t0
    t0=$(date +%s%N)
    make_schema_dir "$n" "$dir"
    echo "== $n tables: generated in $(ms_since "$t0") ms ($dir)"
    (
      cd "$dir"
      # Untimed checks: the no-op is a no-op, and the planned script really
      # takes live.db to B (it is run once, timed against its est_ms).
      [[ "$(status_field live.db A.sql migration_needed)" == 0 ]] ||
        { echo "bench.sh: migrate_status(A) on live.db is not a no-op" >&2; exit 1; }
      sqlite3 -bail live.db -cmd ".load $EXT" \
        "SELECT op, count(*) FROM migrate_plan(readfile('B.sql')) GROUP BY op ORDER BY op" >plan_ops.txt
      sqlite3 -bail live.db -cmd ".load $EXT" "SELECT migrate_status(readfile('B.sql'))" >status_B.json
      sqlite3 -bail live.db -cmd ".load $EXT" \
        "SELECT writefile('migration.sql', migrate_script(readfile('B.sql')))" >/dev/null
      echo "   $(wc -l <changes.txt) tables changed; plan: $(tr '|\n' '= ' <plan_ops.txt)"
      if ((n <= PLAN_APPLY_MAX)); then
        cp live.db applied.db
        t0=$(date +%s%N)
        sqlite3 -bail applied.db <migration.sql >/dev/null
        local apply_ms est_ms steps
        apply_ms=$(ms_since "$t0")
        [[ "$(status_field applied.db B.sql migration_needed)" == 0 ]] ||
          { echo "bench.sh: live.db + migrate_script(B) still differs from B" >&2; exit 1; }
        rm -f applied.db
        est_ms="$(status_field live.db B.sql est_ms)"
        steps="$(status_field live.db B.sql steps)"
        printf '%s\t%s\t%.1f\t%s\n' "$n" "$steps" "$est_ms" "$apply_ms" >>"$OUT/plan_apply.tsv"
        echo "   migrate_script(B) ran in $apply_ms ms (est_ms $est_ms)"
      else
        echo "   migrate_script(B) not run: $n tables > BENCH_PLAN_APPLY_MAX=$PLAN_APPLY_MAX"
      fi

      if ((n > 2000)); then
        RUNS="${BENCH_LARGE_RUNS:-$RUNS}"
        WARMUP="${BENCH_LARGE_WARMUP:-$WARMUP}"
      fi
      echo "== $n tables: timing ($RUNS runs, $WARMUP warm-up each)"
      t0=$(date +%s%N)
      local load0
      load0="$(cut -d' ' -f1 /proc/loadavg)"
      time_cmds "$n" "$dir/hyperfine.json" \
        "startup" "sqlite3 :memory: 'SELECT 1'" \
        "startup+load" "sqlite3 live.db -cmd '.load $EXT' 'SELECT 1'" \
        "open+parse live schema" "sqlite3 live.db 'SELECT count(*) FROM sqlite_schema'" \
        "automigrate no-op" "sqlite3 live.db -cmd '.load $EXT' \"SELECT migrate_status(readfile('A.sql'))\"" \
        "automigrate 10%" "sqlite3 live.db -cmd '.load $EXT' \"SELECT migrate_status(readfile('B.sql'))\"" \
        "sqldiff no-op" "sqldiff --schema live.db a.db" \
        "sqldiff 10%" "sqldiff --schema live.db b.db"
      printf '%s\t%s\t%s\n' "$n" "$load0" "$(cut -d' ' -f1 /proc/loadavg)" >>"$OUT/plan_load.tsv"
      echo "   timed in $(ms_since "$t0") ms"
    )
  done
  summarize_plan | tee "$OUT/plan_summary.txt"
}

summarize_plan() {
  machine
  echo "generated tables: 12 columns, $ROWS rows each; $RUNS runs after $WARMUP warm-up per command" \
    "${BENCH_LARGE_RUNS:+(above 2000 tables: $BENCH_LARGE_RUNS runs after ${BENCH_LARGE_WARMUP:-$WARMUP})}"
  echo
  "$PY" - "$TSV" "$OUT/plan_apply.tsv" "$OUT/plan_load.tsv" <<'PY'
import collections, sys
rows, sizes = collections.defaultdict(dict), []
for line in open(sys.argv[1]):
    size, name, med, lo, hi, runs, cpu = line.rstrip("\n").split("\t")
    if size not in sizes: sizes.append(size)
    rows[size][name] = {"med": float(med), "min": float(lo), "max": float(hi), "cpu": float(cpu),
                        "runs": runs}

print("timed runs per command: " + ", ".join(
    f"{s} tables {int(next(iter(rows[s].values()))['runs'])}" for s in sizes))
print("1-minute load average before/after timing: " + ", ".join(
    f"{l.split()[0]} tables {l.split()[1]}/{l.split()[2]}" for l in open(sys.argv[3])))
print()
print("migrate_status vs sqldiff --schema (each a whole sqlite3/sqldiff process; ms)")
print("| tables | case  | automigrate median | sqldiff median | ratio | automigrate cpu | sqldiff cpu | cpu ratio |")
print("|-------:|-------|-------------------:|---------------:|------:|----------------:|------------:|----------:|")
for s in sizes:
    r = rows[s]
    for case in ("no-op", "10%"):
        a, d = r[f"automigrate {case}"], r[f"sqldiff {case}"]
        print(f"| {s} | {case} | {a['med']:.1f} | {d['med']:.1f} | {a['med'] / d['med']:.2f} "
              f"| {a['cpu']:.1f} | {d['cpu']:.1f} | {a['cpu'] / d['cpu']:.2f} |")
print()
print("every command (ms: wall median [min-max] / mean cpu)")
names = ["startup", "startup+load", "open+parse live schema",
         "automigrate no-op", "automigrate 10%", "sqldiff no-op", "sqldiff 10%"]
print("| command | " + " | ".join(f"{s} tables" for s in sizes) + " |")
print("|---|" + "---:|" * len(sizes))
for nm in names:
    print(f"| {nm} | " + " | ".join(
        f"{rows[s][nm]['med']:.1f} [{rows[s][nm]['min']:.1f}-{rows[s][nm]['max']:.1f}] / {rows[s][nm]['cpu']:.1f}"
        for s in sizes) + " |")
print()
print("derived (ms, wall medians / cpu means): a command minus its start-up")
derived = [
    ("load the extension", "startup+load", "startup"),
    ("open + parse the live schema", "open+parse live schema", "startup"),
    ("migrate_status no-op, in-process", "automigrate no-op", "startup+load"),
    ("migrate_status 10%, in-process", "automigrate 10%", "startup+load"),
]
print("| part | " + " | ".join(f"{s} tables" for s in sizes) + " |")
print("|---|" + "---:|" * len(sizes))
for label, a, b in derived:
    cells = []
    for s in sizes:
        r = rows[s]
        cells.append(f"{r[a]['med'] - r[b]['med']:.1f} / {r[a]['cpu'] - r[b]['cpu']:.1f}")
    print(f"| {label} | " + " | ".join(cells) + " |")
print()
# Growth: a linear cost keeps ms per table flat from size to size.
print("growth: ms per table (wall median / cpu), and against the smallest size")
print("| command | " + " | ".join(f"{s} tables" for s in sizes) + " |")
print("|---|" + "---:|" * len(sizes))
base = sizes[0]
for nm in ("automigrate no-op", "automigrate 10%", "sqldiff no-op", "sqldiff 10%"):
    cells = []
    for s in sizes:
        r, b = rows[s][nm], rows[base][nm]
        per, per_cpu = r["med"] / int(s), r["cpu"] / int(s)
        grow = (r["cpu"] / int(s)) / (b["cpu"] / int(base))
        cells.append(f"{per:.3f} / {per_cpu:.3f} (cpu x{grow:.2f})")
    print(f"| {nm} | " + " | ".join(cells) + " |")
print()
applied = [line.split() for line in open(sys.argv[2]) if line.strip()]
if not applied:
    print("the 10% plan was not run (BENCH_PLAN_APPLY_MAX is below every size)")
    sys.exit(0)
print("the 10% plan, run: sqlite3 -bail copy-of-live.db < migrate_script(B) (one run, ms)")
print("| tables | steps | est_ms (migrate_status) | measured | est/measured |")
print("|-------:|------:|------------------------:|---------:|-------------:|")
for n, steps, est, act in applied:
    print(f"| {n} | {steps} | {float(est):.1f} | {int(act)} | {float(est) / max(int(act), 1):.2g} |")
PY
}

# ---------------------------------------------------------------------------
# calibrate

# sql_time DB SETUP TIMED: runs SETUP untimed, then TIMED (one statement)
# under the shell's .timer; prints "wall_s cpu_s" of TIMED.
sql_time() {
  printf '%s\nSELECT count(*) FROM sqlite_schema;\n.timer on\n%s\n' "$2" "$3" | sqlite3 -bail "$1" |
    sed -n 's/^Run Time: real \([0-9.]*\) user \([0-9.]*\) sys \([0-9.]*\).*/\1 \2 \3/p' | tail -n 1 |
    awk '{printf "%s %.6f\n", $1, $2 + $3}'
}

# median_line NAME ROWS "wall cpu" SAMPLES...: NAME med_ms us_per_row min max n cpu_ms
median_line() {
  "$PY" -c '
import statistics, sys
name, rows = sys.argv[1], int(sys.argv[2])
wall = [float(x.split()[0]) for x in sys.argv[3:]]
cpu = [float(x.split()[1]) for x in sys.argv[3:]]
m = statistics.median(wall)
print(f"{name}\t{m * 1000:.1f}\t{m * 1e6 / rows:.3f}\t{min(wall) * 1000:.1f}\t{max(wall) * 1000:.1f}"
      f"\t{len(wall)}\t{statistics.median(cpu) * 1000:.1f}\t{statistics.median(cpu) * 1e6 / rows:.3f}")
' "$@"
}

run_calibrate() {
  local dir="$OUT/calibrate" t0
  rm -rf "$dir"
  mkdir -p "$dir"
  cd "$dir"
  TSV="$dir/calibrate_results.tsv"
  TSV2="$dir/estimate_results.tsv"
  TSV3="$dir/schema_change_results.tsv"
  : >"$TSV"
  : >"$TSV2"
  : >"$TSV3"
  : >"$dir/schema_entries.tsv"
  t0=$(date +%s%N)
  cat >A.sql <<'SQL'
CREATE TABLE items (
  id INTEGER PRIMARY KEY,
  account INTEGER NOT NULL,
  sku TEXT NOT NULL,
  price REAL,
  label TEXT,
  qty INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX items_account ON items(account);
CREATE INDEX items_sku ON items(sku);
SQL
  sed 's/  price REAL,/  price NUMERIC,/' A.sql >B_type.sql                  # rebuild_table
  sed '/  qty INTEGER/d; s/  label TEXT,/  label TEXT/' A.sql >B_drop.sql     # drop_column
  { cat A.sql; echo "CREATE INDEX items_price ON items(price);"; } >B_index.sql # create_index
  cat >fill.sql <<SQL
INSERT INTO items (account, sku, price, label, qty)
  SELECT value % 5000, printf('SKU-%08d-%s', value, hex(randomblob(12))), value * 0.25,
         'label ' || hex(randomblob(14)), value % 100
  FROM generate_series(1, $CALIB_ROWS);
SQL
  build_db base.db A.sql fill.sql
  ROW_BYTES="$(sqlite3 base.db "SELECT round(sum(pgsize) * 1.0 / $CALIB_ROWS, 1) FROM dbstat WHERE name = 'items'")"
  echo "== calibrate: base.db, $CALIB_ROWS rows, $ROW_BYTES bytes/row in the table b-tree," \
    "$(($(stat -c %s base.db) / 1048576)) MiB with 2 indexes, built in $(ms_since "$t0") ms"

  # 1. Per-row costs, each on a fresh copy of base.db, in autocommit (so the
  # statement's commit is included, as the commit of a migration is).
  declare -A what=(
    [copy]="CREATE TABLE items_new (id INTEGER PRIMARY KEY, account INTEGER NOT NULL, sku TEXT NOT NULL, price REAL, label TEXT, qty INTEGER NOT NULL DEFAULT 0);|INSERT INTO items_new (id, account, sku, price, label, qty) SELECT id, account, sku, price, label, qty FROM items;"
    [copy_unique]="CREATE TABLE items_new (id INTEGER PRIMARY KEY, account INTEGER NOT NULL, sku TEXT NOT NULL UNIQUE, price REAL, label TEXT, qty INTEGER NOT NULL DEFAULT 0);|INSERT INTO items_new (id, account, sku, price, label, qty) SELECT id, account, sku, price, label, qty FROM items;"
    [create_index_int]="|CREATE INDEX items_account2 ON items(account);"
    [create_index_text]="|CREATE INDEX items_sku2 ON items(sku);"
    [create_index_real]="|CREATE INDEX items_price ON items(price);"
    [drop_column]="|ALTER TABLE items DROP COLUMN qty;"
    [add_column]="|ALTER TABLE items ADD COLUMN note TEXT;"
    [add_column_check]="|ALTER TABLE items ADD COLUMN score INTEGER CHECK (score IS NULL OR score > 0);"
    [drop_table]="|DROP TABLE items;"
    [count_star]="|SELECT count(*) FROM items;"
    [full_scan]="|SELECT count(*) FROM items WHERE label IS NOT NULL;"
  )
  local op k samples
  for op in copy copy_unique create_index_int create_index_text create_index_real drop_column add_column \
    add_column_check drop_table count_star full_scan; do
    samples=()
    for ((k = 0; k < CALIB_REPEAT; k++)); do
      cp base.db work.db
      # Written back and in the OS cache: as a live database is, and the
      # statement's fsync does not pay for the copy.
      sync work.db
      cat work.db >/dev/null
      samples+=("$(sql_time work.db "${what[$op]%%|*}" "${what[$op]#*|}")")
    done
    median_line "$op" "$CALIB_ROWS" "${samples[@]}" >>"$TSV"
    echo "   $op: $(tail -n 1 "$TSV" | cut -f2) ms"
  done

  # 2. est_ms against the measured run of migrate_script.
  local case desired est steps t1
  for case in type drop index; do
    desired="B_$case.sql"
    est="$(sqlite3 -bail base.db -cmd ".load $EXT" "SELECT sum(est_ms) FROM migrate_plan(readfile('$desired'))")"
    steps="$(sqlite3 -bail base.db -cmd ".load $EXT" \
      "SELECT group_concat(op || ':' || complexity || ':' || printf('%.1f', est_ms), ' ') FROM migrate_plan(readfile('$desired'))")"
    sqlite3 -bail base.db -cmd ".load $EXT" \
      "SELECT writefile('migration_$case.sql', migrate_script(readfile('$desired')))" >/dev/null
    samples=()
    for ((k = 0; k < CALIB_REPEAT; k++)); do
      cp base.db work.db
      sync work.db
      cat work.db >/dev/null
      t0=$(date +%s%N)
      sqlite3 -bail work.db <"migration_$case.sql" >/dev/null
      t1=$(date +%s%N)
      samples+=("$(((t1 - t0) / 1000))")
    done
    [[ "$(status_field work.db "$desired" migration_needed)" == 0 ]] ||
      { echo "bench.sh: migrate_script($desired) did not reach the desired schema" >&2; exit 1; }
    "$PY" -c '
import statistics, sys
ms = [int(x) / 1000 for x in sys.argv[3].split()]
med, est = statistics.median(ms), float(sys.argv[2])
print(f"{sys.argv[1]}\t{est:.1f}\t{med:.1f}\t{est / med:.2f}\t{sys.argv[4]}\t{min(ms):.1f}\t{max(ms):.1f}")
' "$case" "$est" "${samples[*]}" "$steps" >>"$TSV2"
    echo "   migrate_script $case: est $(tail -n 1 "$TSV2" | cut -f2) ms, measured $(tail -n 1 "$TSV2" | cut -f3) ms"
  done
  # Where the rebuild's time goes: the same script again, each statement
  # under .timer; medians per statement.
  for ((k = 0; k < CALIB_REPEAT; k++)); do
    cp base.db work.db
    sync work.db
    cat work.db >/dev/null
    { echo ".echo on"; echo ".timer on"; cat migration_type.sql; } |
      sqlite3 -bail work.db >"rebuild_timer.$k.txt"
  done
  "$PY" - rebuild_timer.*.txt >"$dir/rebuild_breakdown.tsv" <<'PY'
import re, statistics, sys
runs = []
for path in sys.argv[1:]:
    stmt, out = None, []
    for line in open(path):
        m = re.match(r"Run Time: real ([0-9.]+) user ([0-9.]+) sys ([0-9.]+)", line)
        if m:
            if stmt:
                out.append((stmt[:70], float(m[1]) * 1000, (float(m[2]) + float(m[3])) * 1000))
            stmt = None
        elif stmt is None and line.strip() and not line.startswith(("--", ".", " ", ")")):
            stmt = line.strip()
    runs.append(out)
for i, (stmt, _, _) in enumerate(runs[0]):
    wall = statistics.median(r[i][1] for r in runs)
    cpu = statistics.median(r[i][2] for r in runs)
    print(f"{stmt}\t{wall:.0f}\t{cpu:.0f}")
PY
  rm -f work.db
  t0=$(date +%s%N)
  sqlite3 base.db -cmd ".load $EXT" "SELECT 1" >/dev/null
  STARTUP_MS=$(ms_since "$t0")

  # 3. The fixed cost of one schema change, against the number of tables in
  # the schema (ALTER TABLE re-reads and re-checks the whole schema). Each
  # statement inside BEGIN ... ROLLBACK (no fsync), on a fresh copy.
  declare -A change=(
    [create_table]="CREATE TABLE zz_new (id INTEGER PRIMARY KEY, a TEXT, b INTEGER);"
    [drop_table]="DROP TABLE t00007;"
    [create_index]="CREATE INDEX zz_ix ON t00007(qty, price);"
    [drop_index]="DROP INDEX t00007_name;"
    [add_column]="ALTER TABLE t00007 ADD COLUMN zz TEXT;"
    [drop_column]="ALTER TABLE t00007 DROP COLUMN ratio;"
    [rename_column]="ALTER TABLE t00007 RENAME COLUMN note TO note2;"
    [rename_table]="ALTER TABLE t00007 RENAME TO zz_renamed;"
  )
  local n c
  for n in $CALIB_SCHEMA_SIZES; do
    make_schema_dir "$n" "$dir/schema$n"
    printf '%s\t%s\n' "$n" "$(sqlite3 "$dir/schema$n/live.db" "SELECT count(*) FROM sqlite_schema")" \
      >>"$dir/schema_entries.tsv"
    for c in create_table drop_table create_index drop_index add_column drop_column \
      rename_column rename_table; do
      samples=()
      for ((k = 0; k < CALIB_REPEAT; k++)); do
        cp "$dir/schema$n/live.db" work.db
        # The SELECT loads the schema first: the first statement of a
        # connection parses all of sqlite_schema, which is not the change.
        samples+=("$(printf 'BEGIN;\nSELECT count(*) FROM sqlite_schema;\n.timer on\n%s\n.timer off\nROLLBACK;\n' "${change[$c]}" |
          sqlite3 -bail work.db |
          sed -n 's/^Run Time: real \([0-9.]*\) user \([0-9.]*\) sys \([0-9.]*\).*/\1 \2 \3/p' |
          awk '{printf "%s %.6f\n", $1, $2 + $3}')")
      done
      printf '%s\t' "$n" >>"$TSV3"
      median_line "$c" "$n" "${samples[@]}" >>"$TSV3"
    done
    echo "   schema changes on $n tables: done"
  done
  rm -f work.db
  summarize_calibrate | tee "$OUT/calibrate_summary.txt"
}

summarize_calibrate() {
  machine
  echo "calibration table: $CALIB_ROWS rows, $ROW_BYTES bytes/row in the table b-tree," \
    "base.db $(($(stat -c %s base.db) / 1048576)) MiB with its 2 indexes; default pragmas" \
    "(journal_mode=delete, synchronous=full, cache_size=-2000); warm OS cache; median of $CALIB_REPEAT"
  echo
  "$PY" - "$TSV" "$TSV2" "$STARTUP_MS" "$TSV3" "$OUT/calibrate/rebuild_breakdown.tsv" \
    "$OUT/calibrate/schema_entries.tsv" <<'PY'
import collections, sys
ops = {l.split("\t")[0]: l.rstrip("\n").split("\t") for l in open(sys.argv[1])}
label = {
    "copy": "copy: INSERT INTO new SELECT ... FROM old (new table, no index)",
    "copy_unique": "copy into a new table with a UNIQUE TEXT column (its autoindex filled row by row)",
    "create_index_int": "CREATE INDEX on an INTEGER column",
    "create_index_text": "CREATE INDEX on a TEXT column (37 bytes)",
    "create_index_real": "CREATE INDEX on a REAL column",
    "drop_column": "ALTER TABLE DROP COLUMN (rewrites every row)",
    "add_column": "ALTER TABLE ADD COLUMN, nullable, no CHECK (schema only)",
    "add_column_check": "ALTER TABLE ADD COLUMN with a CHECK (SQLite verifies every row)",
    "drop_table": "DROP TABLE (the table and its 2 indexes)",
    "count_star": "SELECT count(*) (SQLite counts the smallest b-tree: an index)",
    "full_scan": "full table scan (count(*) ... WHERE label IS NOT NULL)",
}
print("1. measured per-row costs (one statement in autocommit, its commit included)")
print("| operation | wall ms | us/row (wall) | cpu ms | us/row (cpu) |")
print("|---|---:|---:|---:|---:|")
for k, name in label.items():
    o = ops[k]
    print(f"| {name} | {float(o[1]):.1f} | {float(o[2]):.3f} | {float(o[6]):.1f} | {float(o[7]):.3f} |")
print()
print("2. planner estimate vs measured run of migrate_script "
      f"(sqlite3 -bail work.db < script; process start-up + .load ~{sys.argv[3]} ms, included)")
print("| change | est_ms | measured ms [min-max] | est/measured | steps (op:complexity:est_ms) |")
print("|---|---:|---:|---:|---|")
names = {"type": "price REAL -> NUMERIC (rebuild_table)", "drop": "drop column qty (drop_column)",
         "index": "new index on price (create_index)"}
for l in open(sys.argv[2]):
    case, est, act, ratio, steps, lo, hi = l.rstrip("\n").split("\t")
    print(f"| {names[case]} | {float(est):.1f} | {float(act):.1f} [{float(lo):.0f}-{float(hi):.0f}] "
          f"| {float(ratio):.2f} | {steps} |")
print()
print("   the rebuild, statement by statement (.timer; median per statement; ms)")
print("| statement | wall ms | cpu ms |")
print("|---|---:|---:|")
for l in open(sys.argv[5]):
    st, w, c = l.rstrip("\n").split("\t")
    print(f"| `{st}` | {w} | {c} |")
print(f"| total | {sum(float(l.split(chr(9))[1]) for l in open(sys.argv[5])):.0f} | "
      f"{sum(float(l.split(chr(9))[2]) for l in open(sys.argv[5])):.0f} |")
print()
print("3. fixed cost of one schema change vs tables in the schema "
      "(inside BEGIN ... ROLLBACK, tables of 20 rows; ms wall / ms cpu (cpu per table in the schema))")
sc = collections.defaultdict(dict)
sizes = []
for l in open(sys.argv[4]):
    f = l.rstrip("\n").split("\t")
    if f[0] not in sizes: sizes.append(f[0])
    sc[f[1]][f[0]] = (float(f[2]), float(f[7]))
entries = dict(l.split() for l in open(sys.argv[6]))
print("| statement | " + " | ".join(f"{s} tables ({entries[s]} sqlite_schema rows)" for s in sizes) + " |")
print("|---|" + "---:|" * len(sizes))
for c, by in sc.items():
    print(f"| {c} | " + " | ".join(f"{by[s][0]:.0f} / {by[s][1]:.1f} ({by[s][1] * 1000 / int(s):.1f} us/table)"
                                   for s in sizes) + " |")
PY
}

# ---------------------------------------------------------------------------
# apply

# fresh_copy SRC DST: DST becomes a copy of SRC that is written back to disk
# (so the timed commit's fsync does not pay for the copy) and read once (in
# the OS cache, as a live database is). The preparation before every timed run.
fresh_copy() {
  cp "$1" "$2"
  rm -f "$2-journal"
  sync "$2"
  cat "$2" >/dev/null
}

# time_fresh PREFIX JSON SRC NAME1 COPY1 CMD1 [NAME2 COPY2 CMD2 ...]: as
# time_cmds, but COPYi is made a fresh copy of SRC (fresh_copy, untimed)
# before every run of CMDi, warm-up runs included. COPYi "-" means none (for
# commands that change nothing). Runs BENCH_APPLY_CHEAP_REPEAT times after 1
# warm-up.
time_fresh() {
  local prefix="$1" json="$2" src="$3"
  shift 3
  local names=() copies=() cmds=() i k
  while (($# > 0)); do
    names+=("$1")
    copies+=("$2")
    cmds+=("$3")
    shift 3
  done
  if ((HAVE_HYPERFINE)); then
    local args=()
    for i in "${!names[@]}"; do
      if [[ "${copies[$i]}" == - ]]; then
        args+=(-p true)
      else
        args+=(-p "bash '$APPLY_DIR/fresh_copy.sh' '$src' '${copies[$i]}'")
      fi
      args+=(-n "${names[$i]}" "${cmds[$i]}")
    done
    hyperfine -N --style basic --warmup 1 --runs "$APPLY_CHEAP_REPEAT" --export-json "$json" "${args[@]}" \
      >"${json%.json}.log" 2>&1 || { cat "${json%.json}.log" >&2; return 1; }
    "$PY" - "$json" "$prefix" >>"$TSV" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    t = [x * 1000 for x in r["times"]]
    print(f'{sys.argv[2]}\t{r["command"]}\t{r["median"] * 1000:.2f}\t{min(t):.2f}\t{max(t):.2f}'
          f'\t{len(t)}\t{(r["user"] + r["system"]) * 1000:.2f}')
PY
  else
    local TIMEFORMAT='%3U %3S' t0 t1 cpu
    for i in "${!names[@]}"; do
      local samples=() cpus=()
      for ((k = 0; k < 1 + APPLY_CHEAP_REPEAT; k++)); do
        [[ "${copies[$i]}" == - ]] || fresh_copy "$src" "${copies[$i]}"
        t0=$(date +%s%N)
        cpu="$({ time bash -c "${cmds[$i]}" >/dev/null 2>&1; } 2>&1)"
        t1=$(date +%s%N)
        ((k == 0)) && continue  # warm-up
        samples+=("$(((t1 - t0) / 1000))")
        cpus+=("$(echo "$cpu" | awk '{print ($1 + $2) * 1000}')")
      done
      emit_median "$prefix" "${names[$i]}" "${samples[*]}" "${cpus[*]}" >>"$TSV"
    done
  fi
}

# one_value DB SQL [EXT]: the single value SQL returns (with the extension
# loaded if EXT is given).
one_value() {
  if (($# > 2)); then
    sqlite3 -bail "$1" -cmd ".load $3" "$2"
  else
    sqlite3 -bail "$1" "$2"
  fi
}

# apply_fail MESSAGE: a result check failed.
apply_fail() {
  echo "bench.sh apply: $*" >&2
  exit 1
}

# timer_ms DB SQL: wall and cpu ms ("wall cpu") of one statement under the
# shell's .timer, after the schema is loaded.
timer_ms() {
  printf 'SELECT count(*) FROM sqlite_schema;\n.timer on\n%s\n' "$2" |
    sqlite3 -bail -cmd ".load $EXT" "$1" |
    sed -n 's/^Run Time: real \([0-9.]*\) user \([0-9.]*\) sys \([0-9.]*\).*/\1 \2 \3/p' | tail -n 1 |
    awk '{printf "%.1f %.1f\n", $1 * 1000, ($2 + $3) * 1000}'
}

# The table of the apply benchmarks: calibrate's items (~95 bytes/row, 2
# secondary indexes) plus a child table whose FOREIGN KEY cascades deletes.
apply_schema() {
  cat <<'SQL'
CREATE TABLE items (
  id INTEGER PRIMARY KEY,
  account INTEGER NOT NULL,
  sku TEXT NOT NULL,
  price REAL,
  label TEXT,
  qty INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX items_account ON items(account);
CREATE INDEX items_sku ON items(sku);
CREATE TABLE item_notes (
  id INTEGER PRIMARY KEY,
  item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
  note TEXT
);
CREATE INDEX item_notes_item ON item_notes(item_id);
SQL
}

# The canonical 12-step rebuild (sqlite.org/lang_altertable.html, "making
# other kinds of table schema changes"), written as a person would for
# qty INTEGER -> TEXT.
hand_rebuild_sql() {
  cat <<'SQL'
PRAGMA foreign_keys=OFF;
BEGIN;
CREATE TABLE items_new (
  id INTEGER PRIMARY KEY,
  account INTEGER NOT NULL,
  sku TEXT NOT NULL,
  price REAL,
  label TEXT,
  qty TEXT NOT NULL DEFAULT 0
);
INSERT INTO items_new (id, account, sku, price, label, qty)
  SELECT id, account, sku, price, label, qty FROM items;
DROP TABLE items;
ALTER TABLE items_new RENAME TO items;
CREATE INDEX items_account ON items(account);
CREATE INDEX items_sku ON items(sku);
PRAGMA foreign_key_check;
COMMIT;
PRAGMA foreign_keys=ON;
SQL
}

# 1. migrate_apply no-op at start-up on generated schemas (plan's generator).
apply_noop() {
  local n dir
  TSV="$APPLY_DIR/noop_results.tsv"
  : >"$TSV"
  : >"$APPLY_DIR/noop_reported.tsv"
  for n in $APPLY_TABLES; do
    dir="$APPLY_DIR/n$n"
    mkdir -p "$dir"
    gen_schemas "$n" "$dir"
    (
      cd "$dir"
      # direct.db: created from A.sql, never seen by the extension.
      build_db direct.db A.sql data.sql
      # migrated.db: the same, but A was applied by migrate_apply (to an
      # empty file), then the same rows were loaded.
      rm -f migrated.db
      sqlite3 -bail migrated.db -cmd ".load $EXT" "SELECT migrate_apply(readfile('A.sql'))" >/dev/null
      { echo "BEGIN;"; cat data.sql; echo "COMMIT;"; } | sqlite3 -bail migrated.db
      local db out
      for db in migrated direct; do
        out="$(sqlite3 -bail "$db.db" -cmd ".load $EXT" "SELECT migrate_apply(readfile('A.sql'))")"
        [[ "$out" == *'"batch":null'* && "$out" == *'"steps":0'* ]] ||
          apply_fail "migrate_apply(A) on $n-table $db.db is not a no-op: $out"
        printf '%s\t%s\t%s\n' "$n" "$db" \
          "$(echo "$out" | sed -n 's/.*"duration_ms":\([0-9.]*\).*/\1/p')" >>"$APPLY_DIR/noop_reported.tsv"
      done
      [[ "$(one_value migrated.db "SELECT count(*) FROM migration_batches" "$EXT")" == 1 ]] ||
        apply_fail "migrated.db should hold exactly one batch"
      echo "== apply: no-op at start-up, $n tables ($((2 * APPLY_CHEAP_REPEAT)) runs, 3 warm-up each)"
      RUNS=$((2 * APPLY_CHEAP_REPEAT)) WARMUP=3 time_cmds "$n" "$dir/hyperfine_noop.json" \
        "startup+load" "sqlite3 migrated.db -cmd '.load $EXT' 'SELECT 1'" \
        "startup+load+schema" "sqlite3 migrated.db -cmd '.load $EXT' 'SELECT count(*) FROM sqlite_schema'" \
        "no-op, migrated by migrate_apply" \
        "sqlite3 migrated.db -cmd '.load $EXT' \"SELECT migrate_apply(readfile('A.sql'))\"" \
        "no-op, created from A.sql" \
        "sqlite3 direct.db -cmd '.load $EXT' \"SELECT migrate_apply(readfile('A.sql'))\""
      # Still one batch, and still no history in direct.db: the timed runs
      # wrote nothing.
      [[ "$(one_value migrated.db "SELECT count(*) FROM migration_batches" "$EXT")" == 1 ]] ||
        apply_fail "the timed no-op wrote a batch"
      [[ "$(one_value direct.db "SELECT count(*) FROM sqlite_schema WHERE name LIKE '\_automigrate%' ESCAPE '\'")" == 0 ]] ||
        apply_fail "the timed no-op wrote to direct.db"
    )
  done
}

# make_apply_base ROWS DIR: DIR/base.db with ROWS items and ROWS/10
# item_notes, its schema applied by migrate_apply (so it has a history, as a
# database managed by the extension does); the desired schemas and scripts.
make_apply_base() {
  local rows="$1" dir="$2" t0
  mkdir -p "$dir"
  cd "$dir"
  t0=$(date +%s%N)
  apply_schema >A.sql
  sed 's/  qty INTEGER NOT NULL DEFAULT 0/  qty INTEGER NOT NULL DEFAULT 0,\n  extra TEXT/' A.sql >B_add.sql
  sed 's/  qty INTEGER NOT NULL DEFAULT 0/  qty TEXT NOT NULL DEFAULT 0/' A.sql >B_type.sql
  echo "ALTER TABLE items ADD COLUMN extra TEXT;" >hand_add.sql
  hand_rebuild_sql >hand_rebuild.sql
  # The estimate cases: one step each.
  { cat A.sql; echo "CREATE INDEX items_price ON items(price);"; } >B_index.sql
  sed '/CREATE INDEX items_sku /d' A.sql >B_dropidx.sql
  sed 's/  label TEXT,/  title TEXT, -- @renamed from=label/' A.sql >B_rename.sql
  alembic_rebuild_py >alembic_rebuild.py
  rm -f base.db base.db-journal
  sqlite3 -bail base.db -cmd ".load $EXT" "SELECT migrate_apply(readfile('A.sql'))" >/dev/null
  # Generation only: no journal, no fsync, a large cache. None of these
  # persists: the timed connections get the defaults (checked below).
  sqlite3 -bail base.db >/dev/null <<SQL
PRAGMA journal_mode=OFF;
PRAGMA synchronous=OFF;
PRAGMA cache_size=-1000000;
BEGIN;
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < $rows)
INSERT INTO items (id, account, sku, price, label, qty)
  SELECT x, x % 5000, printf('SKU-%08d-%s', x, hex(randomblob(12))), x * 0.25,
         'label ' || hex(randomblob(14)), x % 100
  FROM n;
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < $rows / 10)
INSERT INTO item_notes (id, item_id, note) SELECT x, x * 10, 'note ' || x FROM n;
COMMIT;
SQL
  sync base.db
  local modes
  modes="$(sqlite3 -bail base.db "PRAGMA journal_mode" "PRAGMA synchronous" | tr '\n' ' ')"
  [[ "$modes" == "delete 2 " ]] || apply_fail "timed connections would run with journal_mode/synchronous $modes"
  [[ "$(one_value base.db "SELECT count(*) FROM pragma_foreign_key_check")" == 0 ]] ||
    apply_fail "base.db has foreign-key violations"
  [[ "$(one_value base.db "SELECT count(*) FROM migrate_plan(readfile('A.sql'))" "$EXT")" == 0 ]] ||
    apply_fail "base.db is not at A.sql"
  sqlite3 -bail base.db -cmd ".load $EXT" \
    "SELECT writefile('script_rebuild.sql', migrate_script(readfile('B_type.sql')))" >/dev/null
  printf '%s\t%s\t%s\t%s\t%s\n' "$rows" \
    "$(one_value base.db "SELECT round(sum(pgsize) * 1.0 / $rows, 1) FROM dbstat WHERE name = 'items'")" \
    "$(($(stat -c %s base.db) / 1048576))" "$(ms_since "$t0")" "$modes" >>"$APPLY_DIR/base.tsv"
  echo "== apply: base.db, $rows rows + $((rows / 10)) child rows, $(($(stat -c %s base.db) / 1048576)) MiB," \
    "built in $(ms_since "$t0") ms ($dir)"
}

# 2. ADD COLUMN: migrate_apply vs the ALTER TABLE typed in the shell.
apply_add_column() {
  local rows="$1"
  TSV="$APPLY_DIR/add_results.tsv"
  echo "   ADD COLUMN ($APPLY_CHEAP_REPEAT runs, 1 warm-up, fresh copy before each)"
  time_fresh "$rows" "$PWD/hyperfine_add.json" base.db \
    "startup" - "sqlite3 base.db 'SELECT count(*) FROM sqlite_schema'" \
    "startup+load" - "sqlite3 base.db -cmd '.load $EXT' 'SELECT count(*) FROM sqlite_schema'" \
    "automigrate" work_automigrate.db \
    "sqlite3 work_automigrate.db -cmd '.load $EXT' \"SELECT migrate_apply(readfile('B_add.sql'))\"" \
    "hand" work_hand.db "sqlite3 work_hand.db 'ALTER TABLE items ADD COLUMN extra TEXT'"
  # The last copies are the results of the last timed runs.
  local c
  for c in automigrate hand; do
    [[ "$(one_value "work_$c.db" "SELECT count(*) FROM migrate_plan(readfile('B_add.sql'))" "$EXT")" == 0 ]] ||
      apply_fail "ADD COLUMN ($c, $rows rows) did not reach B_add.sql"
  done
  printf '%s\t%s\n' "$rows" "$(one_value work_automigrate.db \
    "SELECT duration_ms FROM migration_batches ORDER BY batch DESC LIMIT 1" "$EXT")" >>"$APPLY_DIR/add_reported.tsv"
  rm -f work_automigrate.db work_hand.db
}

# 2b. The other one-statement changes: CREATE INDEX, DROP INDEX and RENAME
# COLUMN, migrate_apply (default options: no backup is due for any of them)
# against the statement typed in the shell, each run on a fresh copy.
apply_simple_changes() {
  local rows="$1" change desired hand c
  local APPLY_CHEAP_REPEAT="$APPLY_SIMPLE_REPEAT"
  TSV="$APPLY_DIR/simple_results.tsv"
  echo "   CREATE INDEX, DROP INDEX, RENAME COLUMN ($APPLY_CHEAP_REPEAT runs, 1 warm-up, fresh copy before each)"
  for change in create_index drop_index rename_column; do
    case "$change" in
      create_index) desired=B_index.sql hand="CREATE INDEX items_price ON items(price)" ;;
      drop_index) desired=B_dropidx.sql hand="DROP INDEX items_sku" ;;
      rename_column) desired=B_rename.sql hand="ALTER TABLE items RENAME COLUMN label TO title" ;;
    esac
    time_fresh "$rows	$change" "$PWD/hyperfine_$change.json" base.db \
      "automigrate" work_automigrate.db \
      "sqlite3 work_automigrate.db -cmd '.load $EXT' \"SELECT migrate_apply(readfile('$desired'))\"" \
      "hand" work_hand.db "sqlite3 work_hand.db '$hand'"
    for c in automigrate hand; do
      [[ "$(one_value "work_$c.db" "SELECT count(*) FROM migrate_plan(readfile('$desired'))" "$EXT")" == 0 ]] ||
        apply_fail "$change ($c, $rows rows) did not reach $desired"
    done
    rm -f work_automigrate.db work_hand.db
  done
}

# migrate_apply's options in the rebuild: no time limit, and no backup (the
# other contenders take none; backup_create is timed in the backup mode).
APPLY_REBUILD_OPTIONS='{"max_execution_time_ms": 0, "backup": "never"}'

# alembic_rebuild_py: the Alembic contender, run as /usr/bin/python3
# alembic_rebuild.py DB: qty INTEGER -> TEXT with batch_alter_table, as a
# migration's upgrade() would write it, on SQLAlchemy's pysqlite connection
# (foreign keys off, SQLite's default, so DROP TABLE does not cascade).
alembic_rebuild_py() {
  cat <<'PY'
# Generated by scripts/bench.sh apply. Alembic's batch mode ("move and copy"):
# reflect items, CREATE TABLE _alembic_tmp_items, copy the rows, DROP TABLE
# items, rename, recreate the reflected indexes; one transaction.
import sys

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations

engine = sa.create_engine(f"sqlite:///{sys.argv[1]}")
with engine.begin() as conn:
    op = Operations(MigrationContext.configure(conn))
    with op.batch_alter_table("items") as batch:
        batch.alter_column("qty", type_=sa.Text(), existing_type=sa.Integer(),
                           existing_nullable=False, existing_server_default=sa.text("0"))
PY
}

# run_rebuild NAME DB OUT: one rebuild by contender NAME on DB under
# /usr/bin/time -v (OUT.time), its output in OUT.out.
run_rebuild() {
  local name="$1" db="$2" out="$3"
  case "$name" in
    automigrate)
      /usr/bin/time -v -o "$out.time" sqlite3 -bail "$db" -cmd "PRAGMA foreign_keys=ON" -cmd ".load $EXT" \
        "SELECT migrate_apply(readfile('B_type.sql'), '$APPLY_REBUILD_OPTIONS')" >"$out.out" ;;
    automigrate-threads0)
      /usr/bin/time -v -o "$out.time" sqlite3 -bail "$db" -cmd "PRAGMA foreign_keys=ON" -cmd ".load $EXT" \
        "SELECT migrate_apply(readfile('B_type.sql'), '${APPLY_REBUILD_OPTIONS%\}}, \"sorter_threads\": 0}')" \
        >"$out.out" ;;
    sqlite-utils)
      /usr/bin/time -v -o "$out.time" sqlite-utils transform "$db" items --type qty text >"$out.out" ;;
    sqlite-utils+indexes)
      /usr/bin/time -v -o "$out.time" bash -c "sqlite-utils transform '$db' items --type qty text &&
        sqlite-utils create-index '$db' items account --name items_account &&
        sqlite-utils create-index '$db' items sku --name items_sku" >"$out.out" ;;
    alembic)
      /usr/bin/time -v -o "$out.time" "$PY" alembic_rebuild.py "$db" >"$out.out" ;;
    hand)
      /usr/bin/time -v -o "$out.time" sqlite3 -bail -cmd ".echo on" -cmd ".timer on" "$db" \
        <hand_rebuild.sql >"$out.out" ;;
    script)
      /usr/bin/time -v -o "$out.time" sqlite3 -bail -cmd ".echo on" -cmd ".timer on" "$db" \
        <script_rebuild.sql >"$out.out" ;;
  esac
}

# check_rebuilt DB ROWS [PLAN_STEPS]: every row and child row is there, the
# type changed, no foreign-key violation, and migrate_plan(B_type.sql) has
# PLAN_STEPS steps left (default 0: the schema is B_type.sql; "-": not
# checked, for sqlite-utils, which writes price as FLOAT, DEFAULT 0 as '0'
# and drops the indexes). Prints what is left on items: its indexes and the
# plan's remaining steps.
check_rebuilt() {
  local got
  got="$(sqlite3 -bail "$1" -cmd ".load $EXT" "SELECT (SELECT count(*) FROM items) || ' ' ||
    (SELECT count(*) FROM item_notes) || ' ' || (SELECT typeof(qty) FROM items WHERE id = 7) || ' ' ||
    (SELECT count(*) FROM pragma_foreign_key_check) || ' ' ||
    (SELECT count(*) FROM migrate_plan(readfile('B_type.sql')))")"
  [[ "$got" == "$2 $(($2 / 10)) text 0 ${3:-0}" || ("${3:-0}" == - && "$got" == "$2 $(($2 / 10)) text 0 "*) ]] ||
    apply_fail "$1 after the rebuild: items, item_notes, typeof(qty), fk violations, plan steps =" \
      "$got (expected $2 $(($2 / 10)) text 0 ${3:-0})"
  sqlite3 -bail "$1" -cmd ".load $EXT" "SELECT coalesce((SELECT group_concat(name, ' ')
      FROM (SELECT name FROM pragma_index_list('items') ORDER BY name)), 'none') || char(9) ||
    coalesce((SELECT group_concat(op || ' ' || object, ', ') FROM migrate_plan(readfile('B_type.sql'))), '')"
}

# 3 and 4. The rebuild, contenders interleaved (the order rotates each
# round), each run on a fresh copy of base.db; peak RSS from /usr/bin/time.
apply_rebuild() {
  local rows="$1" k j c t0 ms after
  local contenders=(automigrate automigrate-threads0 hand)
  [[ "$APPLY_SCRIPT" == 1 ]] && contenders+=(script)
  [[ "$APPLY_TOOLS" == 1 ]] && contenders+=(sqlite-utils sqlite-utils+indexes alembic)
  local n=${#contenders[@]}
  echo "   rebuild (qty INTEGER -> TEXT): ${contenders[*]}, $APPLY_REPEAT rounds"
  printf '%s\t%s\n' "$rows" "$(cut -d' ' -f1 /proc/loadavg)" >>"$APPLY_DIR/rebuild_load.tsv"
  for ((k = 0; k < APPLY_REPEAT; k++)); do
    for ((j = 0; j < n; j++)); do
      c="${contenders[$(((j + k) % n))]}"
      fresh_copy base.db "work_$c.db"
      t0=$(date +%s%N)
      run_rebuild "$c" "work_$c.db" "rebuild_$c.$k" ||
        apply_fail "$c rebuild failed on $rows rows: $(tail -n 3 "rebuild_$c.$k.out" "rebuild_$c.$k.time")"
      ms=$(ms_since "$t0")
      after="$(check_rebuilt "work_$c.db" "$rows" "$([[ "$c" == sqlite-utils* ]] && echo - || echo 0)")"
      printf '%s\t%s\t%s\n' "$rows" "$c" "$after" >>"$APPLY_DIR/rebuild_after.tsv"
      printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$rows" "$c" "$k" "$ms" \
        "$(awk -F': ' '/User time/ {u = $2} /System time/ {s = $2} END {printf "%.0f", (u + s) * 1000}' \
          "rebuild_$c.$k.time")" \
        "$(awk -F': ' '/Maximum resident set size/ {print $2}' "rebuild_$c.$k.time")" \
        >>"$APPLY_DIR/rebuild_results.tsv"
      if [[ "$c" == automigrate ]]; then
        # Parts, from the extension's own clocks: the whole call (commit
        # included), the batch (until just before COMMIT) and the steps.
        printf '%s\t%s\t%s\t%s\t%s\n' "$rows" "$k" "$ms" \
          "$(sed -n 's/.*"duration_ms":\([0-9.]*\).*/\1/p' "rebuild_$c.$k.out")" \
          "$(one_value "work_$c.db" "SELECT b.duration_ms || char(9) || sum(h.duration_ms)
             FROM migration_batches AS b JOIN migration_history AS h USING (batch)
             WHERE b.batch = (SELECT max(batch) FROM migration_batches)" "$EXT")" \
          >>"$APPLY_DIR/rebuild_parts.tsv"
      fi
      echo "     round $k $c: $ms ms"
      rm -f "work_$c.db"
    done
  done
  printf '%s\t%s\n' "$rows" "$(cut -d' ' -f1 /proc/loadavg)" >>"$APPLY_DIR/rebuild_load.tsv"
  # The hand script statement by statement (.echo/.timer output).
  "$PY" - "$rows" rebuild_hand.*.out >>"$APPLY_DIR/rebuild_hand_breakdown.tsv" <<'PY'
import re, statistics, sys
runs = []
for path in sys.argv[2:]:
    stmt, out = None, []
    for line in open(path):
        m = re.match(r"Run Time: real ([0-9.]+) user ([0-9.]+) sys ([0-9.]+)", line)
        if m:
            if stmt:
                out.append((stmt[:60], float(m[1]) * 1000, (float(m[2]) + float(m[3])) * 1000))
            stmt = None
        elif stmt is None and line.strip() and not line.startswith(("--", ".", " ", ")")):
            stmt = line.strip()
    runs.append(out)
for i, (stmt, _, _) in enumerate(runs[0]):
    wall = statistics.median(r[i][1] for r in runs)
    cpu = statistics.median(r[i][2] for r in runs)
    print(f"{sys.argv[1]}\t{stmt}\t{wall:.0f}\t{cpu:.0f}")
PY
  # The extra work of migrate_apply, measured alone on base.db (read-only):
  # the row count the planner takes, one whole plan (migrate_status,
  # in-process; migrate_apply plans again under the lock only if another
  # connection committed meanwhile), and the foreign_key_check of the child
  # table (the hand script checks the whole database: the same work).
  local what sql samples
  for what in count plan fk_check; do
    case "$what" in
      count) sql="SELECT count(*) FROM items;" ;;
      plan) sql="SELECT migrate_status(readfile('B_type.sql'));" ;;
      fk_check) sql="SELECT count(*) FROM pragma_foreign_key_check('item_notes');" ;;
    esac
    samples=()
    for ((k = 0; k < 3; k++)); do samples+=("$(timer_ms base.db "$sql")"); done
    "$PY" -c '
import statistics, sys
w = statistics.median(float(s.split()[0]) for s in sys.argv[3:])
c = statistics.median(float(s.split()[1]) for s in sys.argv[3:])
print(f"{sys.argv[1]}\t{sys.argv[2]}\t{w:.1f}\t{c:.1f}")
' "$rows" "$what" "${samples[@]}" >>"$APPLY_DIR/rebuild_extra.tsv"
  done
}

# 4b. In-place changes (alter_table_in_place) against the rebuild the planner
# made before them (the same desired schema with {"in_place": false}): items
# drops NOT NULL on sku, gets a DEFAULT on account (NOT NULL without one: no
# row can predate it) and label becomes VARCHAR(200) (TEXT affinity): O(1).
# "inplace-scan" also changes qty's DEFAULT 0 -> 1: qty could have been added
# by ADD COLUMN, so the step first writes 0 into the rows that read it (a scan
# plus the rows with qty = 0, 1% here). Timed as the rebuild: wall time of
# the sqlite3 call on a fresh copy, contenders interleaved, APPLY_REPEAT rounds.
inplace_schemas() {
  sed -e 's/  account INTEGER NOT NULL,/  account INTEGER NOT NULL DEFAULT 0,/' \
    -e 's/  sku TEXT NOT NULL,/  sku TEXT,/' -e 's/  label TEXT,/  label VARCHAR(200),/' A.sql >B_inplace.sql
  sed 's/  qty INTEGER NOT NULL DEFAULT 0/  qty INTEGER NOT NULL DEFAULT 1/' B_inplace.sql >B_inplace_scan.sql
}

apply_inplace() {
  local rows="$1" k j c t0 ms plan desired opts
  local contenders=(inplace inplace-scan rebuild)
  local n=${#contenders[@]}
  inplace_schemas
  plan="$(one_value base.db "SELECT group_concat(op || ' ' || complexity || ' ' || est_rows || ' ' || est_ms, ', ')
    FROM migrate_plan(readfile('B_inplace.sql'))" "$EXT")"
  [[ "$plan" == "alter_table_in_place SIMPLE 0 "* ]] || apply_fail "B_inplace.sql plans $plan"
  printf '%s	plan	inplace	%s
' "$rows" "$plan" >>"$APPLY_DIR/inplace_plans.tsv"
  plan="$(one_value base.db "SELECT group_concat(op || ' ' || complexity || ' ' || est_rows || ' ' || est_ms, ', ')
    FROM migrate_plan(readfile('B_inplace_scan.sql'))" "$EXT")"
  [[ "$plan" == "alter_table_in_place "* ]] || apply_fail "B_inplace_scan.sql plans $plan"
  printf '%s	plan	inplace-scan	%s
' "$rows" "$plan" >>"$APPLY_DIR/inplace_plans.tsv"
  plan="$(one_value base.db "SELECT group_concat(op || ' ' || complexity || ' ' || est_rows || ' ' || est_ms, ', ')
    FROM migrate_plan(readfile('B_inplace.sql'), '{\"in_place\": false}')" "$EXT")"
  [[ "$plan" == "rebuild_table "* ]] || apply_fail "B_inplace.sql with in_place false plans $plan"
  printf '%s	plan	rebuild	%s
' "$rows" "$plan" >>"$APPLY_DIR/inplace_plans.tsv"
  echo "   in-place change vs the rebuild it replaces: ${contenders[*]}, $APPLY_REPEAT rounds"
  for ((k = 0; k < APPLY_REPEAT; k++)); do
    for ((j = 0; j < n; j++)); do
      c="${contenders[$(((j + k) % n))]}"
      desired=B_inplace.sql
      opts="$APPLY_REBUILD_OPTIONS"
      [[ "$c" == inplace-scan ]] && desired=B_inplace_scan.sql
      [[ "$c" == rebuild ]] && opts="${APPLY_REBUILD_OPTIONS%\}}, \"in_place\": false}"
      fresh_copy base.db "work_$c.db"
      t0=$(date +%s%N)
      sqlite3 -bail "work_$c.db" -cmd "PRAGMA foreign_keys=ON" -cmd ".load $EXT" \
        "SELECT migrate_apply(readfile('$desired'), '$opts')" >"inplace_$c.$k.out" ||
        apply_fail "$c on $rows rows failed: $(tail -n 3 "inplace_$c.$k.out")"
      ms=$(ms_since "$t0")
      [[ "$(one_value "work_$c.db" "SELECT (SELECT count(*) FROM migrate_plan(readfile('$desired'))) || ' ' ||
        (SELECT count(*) FROM items) || ' ' || (SELECT count(*) FROM pragma_foreign_key_check) || ' ' ||
        (SELECT group_concat(op) FROM migration_history WHERE batch = (SELECT max(batch) FROM migration_batches))" "$EXT")" \
        == "0 $rows 0 $([[ "$c" == rebuild ]] && echo rebuild_table || echo alter_table_in_place)" ]] ||
        apply_fail "$c on $rows rows did not reach $desired with every row"
      printf '%s	%s	%s	%s	%s
' "$rows" "$c" "$k" "$ms" \
        "$(one_value "work_$c.db" "SELECT duration_ms FROM migration_history
          WHERE batch = (SELECT max(batch) FROM migration_batches)" "$EXT")" >>"$APPLY_DIR/inplace_results.tsv"
      echo "     round $k $c: $ms ms"
      rm -f "work_$c.db"
    done
  done
}

# The in-place case alone: apply's base databases, apply_inplace, its summary.
run_inplace() {
  APPLY_DIR="$OUT/inplace"
  rm -rf "$APPLY_DIR"
  mkdir -p "$APPLY_DIR"
  : >"$APPLY_DIR/base.tsv"
  : >"$APPLY_DIR/inplace_results.tsv"
  : >"$APPLY_DIR/inplace_plans.tsv"
  local rows
  sqlite3 :memory: -cmd ".load $EXT" "SELECT automigrate_version()" >/dev/null
  for rows in $APPLY_ROWS; do
    (
      make_apply_base "$rows" "$APPLY_DIR/rows$rows"
      apply_inplace "$rows"
      rm -f base.db
    )
  done
  { machine; summarize_inplace; } | tee "$OUT/inplace_summary.txt"
}

# summarize_inplace: medians of apply_inplace's runs and the rebuild/in-place ratio.
summarize_inplace() {
  echo
  echo "in-place change vs the rebuild it replaces (wall ms of the sqlite3 call, median; step = the"
  echo "step's duration_ms in migration_history):"
  "$PY" - "$APPLY_DIR/inplace_results.tsv" "$APPLY_DIR/inplace_plans.tsv" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    rows, c, k, ms, step = line.rstrip("\n").split("\t")
    runs[(int(rows), c)].append((float(ms), float(step)))
plans = collections.defaultdict(dict)
for line in open(sys.argv[2]):
    rows, _, c, plan = line.rstrip("\n").split("\t")
    plans[int(rows)][c] = plan
for rows in sorted({r for r, _ in runs}):
    med = {}
    for c in ("inplace", "inplace-scan", "rebuild"):
        v = runs.get((rows, c), [])
        if not v:
            continue
        med[c] = (statistics.median(x for x, _ in v), statistics.median(s for _, s in v))
        print(f"  {rows:>9} rows  {c:<13} wall {med[c][0]:8.0f} ms  step {med[c][1]:9.1f} ms"
              f"  [{min(x for x, _ in v):.0f}-{max(x for x, _ in v):.0f}] n={len(v)}"
              f"  plan: {plans[rows].get(c, '?')}")
    if "inplace" in med and "rebuild" in med:
        print(f"  {rows:>9} rows  rebuild / in-place: wall {med['rebuild'][0] / med['inplace'][0]:.1f}x,"
              f" step {med['rebuild'][1] / max(med['inplace'][1], 0.001):.0f}x")
PY
}

# 5. est_ms against duration_ms: each one-step change planned on base.db,
# then applied on fresh copies (APPLY_REPEAT runs); the step's duration_ms
# comes from migration_history (the step's SQL only: no plan, no commit).
# The rebuild's duration is taken from the automigrate contender's runs.
apply_estimates() {
  local rows="$1" c k est ms
  for c in add index dropidx rename; do
    [[ "$(one_value base.db "SELECT count(*) FROM migrate_plan(readfile('B_$c.sql'))" "$EXT")" == 1 ]] ||
      apply_fail "B_$c.sql should plan exactly one step"
    est="$(one_value base.db "SELECT op || char(9) || est_rows || char(9) || est_ms
      FROM migrate_plan(readfile('B_$c.sql'))" "$EXT")"
    for ((k = 0; k < APPLY_REPEAT; k++)); do
      fresh_copy base.db work_est.db
      sqlite3 -bail work_est.db -cmd ".load $EXT" \
        "SELECT migrate_apply(readfile('B_$c.sql'), '$APPLY_REBUILD_OPTIONS')" >/dev/null
      ms="$(one_value work_est.db "SELECT duration_ms FROM migration_history
        WHERE batch = (SELECT max(batch) FROM migration_batches)" "$EXT")"
      [[ "$(one_value work_est.db "SELECT count(*) FROM migrate_plan(readfile('B_$c.sql'))" "$EXT")" == 0 ]] ||
        apply_fail "migrate_apply(B_$c.sql) on $rows rows did not reach it"
      printf '%s\t%s\t%s\t%s\t%s\n' "$rows" "$c" "$k" "$est" "$ms" >>"$APPLY_DIR/estimates.tsv"
    done
    rm -f work_est.db
  done
  printf '%s\t%s\n' "$rows" "$(one_value base.db "SELECT op || char(9) || est_rows || char(9) || est_ms
    FROM migrate_plan(readfile('B_type.sql'))" "$EXT")" >>"$APPLY_DIR/estimates_rebuild.tsv"
}

# The generated APPLY_PLAN_TABLES-table schema's ~10% plan (plan mode's
# generator): est_ms of each step against its duration_ms, applied on fresh
# copies of live.db.
apply_estimate_plan() {
  local n="$APPLY_PLAN_TABLES" dir k
  [[ -n "$n" ]] || return 0
  dir="$APPLY_DIR/plan$n"
  make_schema_dir "$n" "$dir"
  cd "$dir"
  sqlite3 -bail -separator $'\t' live.db -cmd ".load $EXT" \
    "SELECT step, op, est_ms FROM migrate_plan(readfile('B.sql'))" >est_steps.tsv
  echo "== apply: est_ms of the $n-table plan ($(wc -l <est_steps.tsv) steps), $APPLY_REPEAT runs"
  for ((k = 0; k < APPLY_REPEAT; k++)); do
    fresh_copy live.db work.db
    sqlite3 -bail work.db -cmd ".load $EXT" "SELECT migrate_apply(readfile('B.sql'),
      '{\"max_execution_time_ms\": 0, \"backup\": \"never\", \"allow_destructive\": true}')" >/dev/null
    [[ "$(one_value work.db "SELECT count(*) FROM migrate_plan(readfile('B.sql'))" "$EXT")" == 0 ]] ||
      apply_fail "migrate_apply(B.sql) on the $n-table schema did not reach it"
    sqlite3 -bail -separator $'\t' work.db -cmd ".load $EXT" "SELECT $k, step, op, duration_ms FROM migration_history
      WHERE batch = (SELECT max(batch) FROM migration_batches)" >>actual_steps.tsv
  done
  rm -f work.db live.db a.db b.db
  "$PY" - "$n" est_steps.tsv actual_steps.tsv >>"$APPLY_DIR/estimates_plan.tsv" <<'PY'
import collections, statistics, sys
n = sys.argv[1]
est = {int(l.split("\t")[0]): (l.split("\t")[1], float(l.split("\t")[2])) for l in open(sys.argv[2])}
runs = collections.defaultdict(dict)
for l in open(sys.argv[3]):
    k, step, op, ms = l.rstrip("\n").split("\t")
    runs[k][int(step)] = float(ms)
by_op = collections.defaultdict(lambda: [0, 0.0, []])
for step, (op, e) in est.items():
    by_op[op][0] += 1
    by_op[op][1] += e
for k, steps in runs.items():
    tot = collections.defaultdict(float)
    for step, ms in steps.items():
        tot[est[step][0]] += ms
    for op in by_op:
        by_op[op][2].append(tot[op])
for op, (count, e, actual) in sorted(by_op.items()):
    print(f"{n}\t{op}\t{count}\t{e:.1f}\t{statistics.median(actual):.1f}\t{min(actual):.1f}\t{max(actual):.1f}")
totals = [sum(steps.values()) for steps in runs.values()]
print(f"{n}\tall\t{len(est)}\t{sum(e for _, e in est.values()):.1f}\t{statistics.median(totals):.1f}"
      f"\t{min(totals):.1f}\t{max(totals):.1f}")
PY
}

run_apply() {
  APPLY_DIR="$OUT/apply"
  rm -rf "$APPLY_DIR"
  mkdir -p "$APPLY_DIR"
  command -v /usr/bin/time >/dev/null ||
    { echo "bench.sh: /usr/bin/time not found (scripts/setup.sh installs the time package)" >&2; exit 1; }
  declare -f fresh_copy >"$APPLY_DIR/fresh_copy.sh"
  echo 'fresh_copy "$@"' >>"$APPLY_DIR/fresh_copy.sh"
  : >"$APPLY_DIR/base.tsv"
  : >"$APPLY_DIR/add_results.tsv"
  : >"$APPLY_DIR/add_reported.tsv"
  : >"$APPLY_DIR/simple_results.tsv"
  : >"$APPLY_DIR/rebuild_results.tsv"
  : >"$APPLY_DIR/rebuild_parts.tsv"
  : >"$APPLY_DIR/rebuild_load.tsv"
  : >"$APPLY_DIR/rebuild_hand_breakdown.tsv"
  : >"$APPLY_DIR/rebuild_extra.tsv"
  : >"$APPLY_DIR/rebuild_after.tsv"
  : >"$APPLY_DIR/estimates.tsv"
  : >"$APPLY_DIR/estimates_rebuild.tsv"
  : >"$APPLY_DIR/estimates_plan.tsv"
  : >"$APPLY_DIR/inplace_results.tsv"
  : >"$APPLY_DIR/inplace_plans.tsv"
  local t_all rows
  t_all=$(date +%s%N)
  # Warm the binaries and the extension once.
  sqlite3 :memory: -cmd ".load $EXT" "SELECT automigrate_version()" >/dev/null
  apply_noop
  for rows in $APPLY_ROWS; do
    (
      make_apply_base "$rows" "$APPLY_DIR/rows$rows"
      apply_add_column "$rows"
      [[ "$APPLY_SIMPLE_REPEAT" -gt 0 ]] && apply_simple_changes "$rows"
      apply_rebuild "$rows"
      [[ "${BENCH_APPLY_INPLACE:-1}" == 1 ]] && apply_inplace "$rows"
      apply_estimates "$rows"
      rm -f base.db
    )
  done
  (apply_estimate_plan)
  APPLY_TOTAL_S=$(($(ms_since "$t_all") / 1000))
  summarize_apply | tee "$OUT/apply_summary.txt"
  summarize_inplace | tee -a "$OUT/apply_summary.txt"
}

summarize_apply() {
  machine
  echo "extension file: $(stat -c '%s bytes, modified %y' "$EXT.so") (at the end of the run)"
  echo "apply mode: ${APPLY_TOTAL_S} s in all; timed connections use the defaults," \
    "journal_mode=delete, synchronous=FULL (2), cache_size=-2000; each run on a fresh copy" \
    "(written back, then read once into the OS cache)"
  echo
  "$PY" - "$APPLY_DIR" "$APPLY_REPEAT" <<'PY'
import collections, statistics, sys
d, repeat = sys.argv[1], sys.argv[2]
def rows_of(name):
    return [l.rstrip("\n").split("\t") for l in open(f"{d}/{name}") if l.strip()]

noop = collections.defaultdict(dict)
for size, name, med, lo, hi, runs, cpu in rows_of("noop_results.tsv"):
    noop[size][name] = (float(med), float(lo), float(hi), int(runs), float(cpu))
reported = {(s, db): float(ms) for s, db, ms in rows_of("noop_reported.tsv")}
print("1. migrate_apply(A) no-op at start-up (whole sqlite3 process; ms)")
print("| tables | command | median [min-max] | cpu | median - startup+load | "
      "median - startup+load+schema | duration_ms reported | under 5 ms? |")
print("|---:|---|---:|---:|---:|---:|---:|---|")
for s, r in noop.items():
    base, schema = r["startup+load"][0], r["startup+load+schema"][0]
    for name, (med, lo, hi, runs, cpu) in r.items():
        extra = ""
        if name.startswith("no-op"):
            db = "migrated" if "migrated" in name else "direct"
            extra = (f"| {med - base:.1f} | {med - schema:.1f} | {reported[(s, db)]:.2f} | "
                     f"{'yes' if med - base < 5 else 'no'} |")
        else:
            extra = "| | | | |"
        print(f"| {s} | {name} | {med:.1f} [{lo:.1f}-{hi:.1f}] | {cpu:.1f} {extra}")
if noop:
    print(f"({runs} runs after 3 warm-ups per command)")
    print()

base = {r[0]: r for r in rows_of("base.tsv")}
if not base:
    sys.exit(0)
print("tables: " + "; ".join(f"{int(r):,} rows ({b[1]} bytes/row in the items b-tree, "
                              f"{int(r) // 10:,} child rows, base.db {b[2]} MiB, built in {int(b[3]) / 1000:.0f} s)"
                              for r, b in base.items()))
print()
add = collections.defaultdict(dict)
for size, name, med, lo, hi, runs, cpu in rows_of("add_results.tsv"):
    add[size][name] = (float(med), float(lo), float(hi), int(runs), float(cpu))
add_rep = dict(rows_of("add_reported.tsv"))
print("2. ADD COLUMN extra TEXT (nullable), fresh copy before every run (ms)")
print("| rows | command | median [min-max] | cpu | median - its start-up | ratio automigrate/hand |")
print("|---:|---|---:|---:|---:|---:|")
add_runs = 0
for s, r in add.items():
    for name, (med, lo, hi, add_runs, cpu) in r.items():
        sub = {"automigrate": "startup+load", "hand": "startup"}.get(name)
        minus = f"{med - r[sub][0]:.1f}" if sub else ""
        ratio = f"{med / r['hand'][0]:.2f}" if name == "automigrate" else ""
        print(f"| {int(s):,} | {name} | {med:.1f} [{lo:.1f}-{hi:.1f}] | {cpu:.1f} | {minus} | {ratio} |")
print(f"({add_runs} runs after 1 warm-up; migrate_apply's own duration_ms (before COMMIT), last run: "
      + ", ".join(f"{float(v):.1f} ms at {int(k):,} rows" for k, v in add_rep.items()) + ")")
print()

simple = collections.defaultdict(dict)
for size, change, name, med, lo, hi, runs, cpu in rows_of("simple_results.tsv"):
    simple[(size, change)][name] = (float(med), float(lo), float(hi), int(runs), float(cpu))
if simple:
    print("2b. CREATE INDEX items_price, DROP INDEX items_sku, RENAME COLUMN label TO title: "
          "migrate_apply against the statement in the shell, fresh copy before every run "
          "(whole process, ms)")
    print("| rows | change | contender | median [min-max] | cpu | ratio automigrate/hand |")
    print("|---:|---|---|---:|---:|---:|")
    simple_runs = 0
    for (s, change), r in simple.items():
        for name, (med, lo, hi, simple_runs, cpu) in r.items():
            ratio = f"{med / r['hand'][0]:.2f}" if name == "automigrate" and "hand" in r else ""
            print(f"| {int(s):,} | {change} | {name} | {med:.1f} [{lo:.1f}-{hi:.1f}] | {cpu:.1f} | {ratio} |")
    print(f"({simple_runs} runs after 1 warm-up; automigrate with its default options, "
          "so CREATE INDEX runs with the default sorter_threads)")
    print()

reb = collections.defaultdict(lambda: collections.defaultdict(list))
for size, c, k, ms, cpu, rss in rows_of("rebuild_results.tsv"):
    reb[size][c].append((int(ms), int(cpu), int(rss)))
load = collections.defaultdict(list)
for size, l in rows_of("rebuild_load.tsv"):
    load[size].append(l)
print(f"3. rebuild (qty INTEGER -> TEXT), median of {repeat} runs each (ms; process wall and user+sys);"
      " automigrate = migrate_apply with the default sorter_threads, automigrate-threads0 = with"
      " sorter_threads 0 (SQLite's default: no sorter worker threads)")
print("| rows | contender | runs (wall) | median wall | median cpu | wall ratio to hand | "
      "automigrate / contender | peak RSS median (max), MiB | load avg before/after |")
print("|---:|---|---|---:|---:|---:|---:|---:|---|")
med = lambda xs, i=0: statistics.median(x[i] for x in xs)
for s, by in reb.items():
    hand, am = med(by["hand"]), med(by["automigrate"])
    for c, xs in by.items():
        w, cpu, rss = med(xs), med(xs, 1), med(xs, 2) / 1024
        print(f"| {int(s):,} | {c} | {', '.join(str(x[0]) for x in xs)} | {w:.0f} | {cpu:.0f} | "
              f"{w / hand:.3f} | {am / w:.3f} | {rss:.1f} ({max(x[2] for x in xs) / 1024:.1f}) | "
              f"{'/'.join(load[s])} |")
for s, by in reb.items():
    h = med(by["hand"])
    for c in ("automigrate", "automigrate-threads0"):
        if c in by:
            r = med(by[c]) / h
            print(f"ratio {c}/hand at {int(s):,} rows: {r:.3f} "
                  f"({'meets' if r <= 0.95 else 'MISSES'} the 0.95 target)")
    a = med(by["automigrate"])
    for c in by:
        if c not in ("automigrate", "hand"):
            print(f"ratio automigrate/{c} at {int(s):,} rows: {a / med(by[c]):.3f}")
print()
after = collections.defaultdict(set)
for size, c, indexes, left in rows_of("rebuild_after.tsv"):
    after[c].add((indexes, left))
print("   what each contender leaves (after every run: items and item_notes row counts kept,"
      " typeof(qty) = 'text', foreign_key_check empty)")
print("| contender | indexes on items afterwards | migrate_plan(B_type.sql) afterwards |")
print("|---|---|---|")
for c, xs in after.items():
    for indexes, left in sorted(xs):
        print(f"| {c} | {indexes} | {left or 'no step: at B_type.sql'} |")
print()

print("   migrate_apply's parts (medians, ms): process wall; the call (duration_ms, commit included);"
      " the batch until COMMIT; the step's SQL; so: around the steps (plan, schema hashes,"
      " fk check, history rows) = batch - steps; COMMIT = call - batch; process = wall - call")
print("| rows | wall | call | batch | steps | batch - steps | call - batch | wall - call |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|")
parts = collections.defaultdict(list)
for size, k, wall, call, batch, steps in rows_of("rebuild_parts.tsv"):
    parts[size].append((float(wall), float(call), float(batch), float(steps)))
for s, xs in parts.items():
    m = [statistics.median(x[i] for x in xs) for i in range(4)]
    print(f"| {int(s):,} | {m[0]:.0f} | {m[1]:.0f} | {m[2]:.0f} | {m[3]:.0f} | {m[2] - m[3]:.0f} | "
          f"{m[1] - m[2]:.0f} | {m[0] - m[1]:.0f} |")
print()
print("   the extra work alone, on base.db (.timer, median of 3, ms wall / cpu)")
extra = collections.defaultdict(dict)
for size, what, w, c in rows_of("rebuild_extra.tsv"):
    extra[what][size] = (w, c)
label = {"count": "SELECT count(*) FROM items (the planner's row count, once per plan)",
         "plan": "one plan: migrate_status(B_type.sql), in-process",
         "fk_check": "pragma_foreign_key_check('item_notes') (both contenders do it)"}
sizes = list(reb)
print("| part | " + " | ".join(f"{int(s):,} rows" for s in sizes) + " |")
print("|---|" + "---:|" * len(sizes))
for what, by in extra.items():
    print(f"| {label[what]} | " + " | ".join(f"{by[s][0]} / {by[s][1]}" for s in sizes) + " |")
print()
print("   the hand script statement by statement (.timer, medians, ms wall / cpu)")
hb = collections.defaultdict(dict)
order = []
for size, stmt, w, c in rows_of("rebuild_hand_breakdown.tsv"):
    if stmt not in order: order.append(stmt)
    hb[stmt][size] = (w, c)
print("| statement | " + " | ".join(f"{int(s):,} rows" for s in sizes) + " |")
print("|---|" + "---:|" * len(sizes))
for stmt in order:
    print(f"| `{stmt}` | " + " | ".join(
        f"{hb[stmt][s][0]} / {hb[stmt][s][1]}" if s in hb[stmt] else "" for s in sizes) + " |")
print()

print("5. predicted vs actual: est_ms from migrate_plan on base.db, duration_ms of the step from"
      f" migration_history (the step's SQL; no plan, no commit), median [min-max] of {repeat} runs")
print("| rows | change | op | est_rows | est_ms | duration_ms | est/actual | within 2x? |")
print("|---:|---|---|---:|---:|---:|---:|---|")
label = {"add": "ADD COLUMN extra TEXT", "index": "CREATE INDEX items_price",
         "dropidx": "DROP INDEX items_sku", "rename": "RENAME COLUMN label TO title",
         "rebuild": "qty INTEGER -> TEXT (rebuild, 2 indexes)"}
est = collections.defaultdict(list)
for size, c, k, op, est_rows, est_ms, ms in rows_of("estimates.tsv"):
    est[(size, c)].append((op, int(est_rows), float(est_ms), float(ms)))
for size, op, est_rows, est_ms in rows_of("estimates_rebuild.tsv"):
    est[(size, "rebuild")] = [(op, int(est_rows), float(est_ms), x[3]) for x in parts.get(size, [])]
bad = []
for size in sizes:
    for c in label:
        xs = est.get((size, c))
        if not xs:
            continue
        actual = [x[3] for x in xs]
        a, e = statistics.median(actual), xs[0][2]
        r = e / a if a else float("inf")
        ok = 0.5 <= r <= 2
        if not ok: bad.append(f"{c} at {int(size):,} rows")
        print(f"| {int(size):,} | {label[c]} | {xs[0][0]} | {xs[0][1]:,} | {e:.1f} | "
              f"{a:.1f} [{min(actual):.1f}-{max(actual):.1f}] | {r:.2f} | {'yes' if ok else 'NO'} |")
for n, op, count, e, a, lo, hi in rows_of("estimates_plan.tsv"):
    e, a = float(e), float(a)
    r = e / a if a else float("inf")
    ok = 0.5 <= r <= 2
    if op == "all" and not ok: bad.append(f"the {n}-table plan")
    name = f"{n}-table 10% plan: " + ("all steps" if op == "all" else f"its {op} steps (part)")
    verdict = ("yes" if ok else "NO") if op == "all" else "(part)"
    print(f"| {n} tables x 20 rows | {name} | {count} steps | | {e:.1f} | {a:.1f} [{lo}-{hi}] | "
          f"{r:.2f} | {verdict} |")
print("every estimate within 2x" if not bad else "NOT within 2x: " + ", ".join(bad))
PY
}

# ---------------------------------------------------------------------------
# backup

# backup_fail MESSAGE: a result check failed.
backup_fail() {
  echo "bench.sh backup: $*" >&2
  exit 1
}

# backup_check_create DB MODE: one untimed backup_create of DB (journal mode
# MODE) into check.db: its checksum must be what xxh128sum prints of the
# copy, it must be the direct copy (method "copy" in the sidecar), and the
# copy must hold every row.
backup_check_create() {
  local db="$1" mode="$2" out got want method
  [[ "$(one_value "$db" "PRAGMA journal_mode")" == "$mode" ]] || backup_fail "$db is not in $mode mode"
  rm -f check.db check.db.json
  out="$(sqlite3 -bail "$db" -cmd ".load $EXT" "SELECT backup_create('check.db')")"
  got="$(echo "$out" | sed -n 's/.*"checksum":"\([0-9a-f]*\)".*/\1/p')"
  want="$(xxh128sum check.db | cut -d' ' -f1)"
  [[ -n "$got" && "$got" == "$want" ]] || backup_fail "backup_create on $db: checksum '$got', xxh128sum says $want"
  method="$(sed -n 's/.*"method": "\([a-z_]*\)".*/\1/p' check.db.json)"
  [[ "$method" == copy ]] || backup_fail "backup_create on $db ($mode) took method '$method', not the direct copy"
  [[ "$(one_value check.db "SELECT count(*) FROM items")" == "$BACKUP_ROWS" ]] ||
    backup_fail "the backup of $db does not hold $BACKUP_ROWS items"
  printf '%s\t%s\t%s\n' "$mode" "$method" "$(echo "$out" | sed -n 's/.*"bytes":\([0-9]*\).*/\1/p')" \
    >>"$BACKUP_DIR/checks.tsv"
  rm -f check.db check.db.json
}

# The backup mode: backup_create against .backup, cp, cp + sync and cp +
# xxh128sum on one database (apply's builder, BACKUP_ROWS items), and the
# extension's hashing alone against xxh128sum.
run_backup() {
  BACKUP_DIR="$OUT/backup"
  APPLY_DIR="$BACKUP_DIR"  # make_apply_base writes its base.tsv there
  rm -rf "$BACKUP_DIR"
  mkdir -p "$BACKUP_DIR"
  command -v xxh128sum >/dev/null ||
    { echo "bench.sh: xxh128sum not found (scripts/setup.sh installs the xxhash package)" >&2; exit 1; }
  : >"$BACKUP_DIR/base.tsv"
  : >"$BACKUP_DIR/checks.tsv"
  TSV="$BACKUP_DIR/backup_results.tsv"
  : >"$TSV"
  local t_all dir
  t_all=$(date +%s%N)
  sqlite3 :memory: -cmd ".load $EXT" "SELECT automigrate_version()" >/dev/null
  dir="$BACKUP_DIR/rows$BACKUP_ROWS"
  (
    make_apply_base "$BACKUP_ROWS" "$dir"
    # wal.db: the same database in WAL mode, checkpointed (the last
    # connection to close checkpoints and removes the -wal file).
    cp base.db wal.db
    [[ "$(sqlite3 -bail wal.db "PRAGMA journal_mode=WAL")" == wal ]] || backup_fail "wal.db: no WAL"
    [[ ! -e wal.db-wal ]] || backup_fail "wal.db-wal is left after the last connection closed"
    # hash.db: a copy that nothing writes to, for the two hashers.
    cp base.db hash.db
    backup_check_create base.db delete
    backup_check_create wal.db wal
    # The extension's hashing alone: backup_verify reads and hashes the
    # whole file, then stops at the checksum mismatch (a decoy sidecar with
    # the right size and a zero checksum), before integrity_check.
    printf '{"format": "sqlite-automigrate-backup/1", "bytes": %s, "checksum": "%s"}\n' \
      "$(stat -c %s hash.db)" 00000000000000000000000000000000 >hash.db.json
    local verify want
    verify="$(sqlite3 -bail :memory: -cmd ".load $EXT" "SELECT backup_verify('hash.db')")"
    want="$(xxh128sum hash.db | cut -d' ' -f1)"
    [[ "$verify" == *'"checksum_ok":false,"integrity_ok":null,"reason":"checksum mismatch: the file hashes to '"$want"','* ]] ||
      backup_fail "backup_verify on the decoy sidecar did not stop at the checksum ($want): $verify"
    # The pause: on a VM with free page reporting (virtio-balloon), memory
    # freed more than ~2 s ago is back with the host, and a writer that gets
    # it pays to fault it in again; after the pause every run starts from
    # that state, as a backup on an otherwise quiet machine does.
    echo "rm -f out.db out.db.json out.db-journal out.db-wal out.db-shm; sync; sleep $BACKUP_PAUSE" \
      >"$BACKUP_DIR/clean_out.sh"
    local f
    for f in base.db wal.db hash.db; do sync "$f"; cat "$f" >/dev/null; done
    printf '%s\t%s\t%s\t%s\n' "$(stat -c %s base.db)" "$(stat -c %s wal.db)" "$(stat -c %s hash.db)" \
      "$(cut -d' ' -f1 /proc/loadavg)" >"$BACKUP_DIR/sizes.tsv"
    # Every command once a round, in an order that rotates between rounds
    # (load changes fall on all of them); round 0 is the warm-up.
    local names=(
      "startup+load"
      "backup_create"
      "backup_create, WAL"
      ".backup"
      "cp"
      "cp + sync"
      "cp + xxh128sum"
      "cp + sync + xxh128sum"
      "dd bs=1M conv=fsync"
      "dd bs=64K conv=fsync"
      "xxh128sum"
      "hash alone (backup_verify, decoy sidecar)"
    )
    local cmds=(
      "sqlite3 :memory: -cmd '.load $EXT' 'SELECT 1'"
      "sqlite3 base.db -cmd '.load $EXT' \"SELECT backup_create('out.db')\""
      "sqlite3 wal.db -cmd '.load $EXT' \"SELECT backup_create('out.db')\""
      "sqlite3 base.db '.backup out.db'"
      "cp base.db out.db"
      "bash -c 'cp base.db out.db && sync out.db'"
      "bash -c 'cp base.db out.db && xxh128sum out.db'"
      "bash -c 'cp base.db out.db && sync out.db && xxh128sum out.db'"
      "dd if=base.db of=out.db bs=1M conv=fsync status=none"
      "dd if=base.db of=out.db bs=64K conv=fsync status=none"
      "xxh128sum hash.db"
      "sqlite3 :memory: -cmd '.load $EXT' \"SELECT backup_verify('hash.db')\""
    )
    local n=${#names[@]} k j i args
    echo "== backup: ${#names[@]} commands, 1 warm-up round + $BACKUP_RUNS rounds (order rotating);" \
      "out.db removed, sync and ${BACKUP_PAUSE} s pause before each run"
    for ((k = 0; k <= BACKUP_RUNS; k++)); do
      args=()
      for ((j = 0; j < n; j++)); do
        i=$(((j + k) % n))
        args+=("${names[$i]}" "${cmds[$i]}")
      done
      PREPARE="bash $BACKUP_DIR/clean_out.sh" RUNS=1 WARMUP=0 \
        time_cmds "$k" "$dir/hyperfine_round$k.json" "${args[@]}"
      echo "   round $k$( ((k == 0)) && echo ' (warm-up)'): $(awk -F'\t' -v k="$k" \
        '$1 == k && $2 == "backup_create" {print $3}' "$TSV") ms backup_create," \
        "load $(cut -d' ' -f1 /proc/loadavg)"
    done
    printf '\t%s\n' "$(cut -d' ' -f1 /proc/loadavg)" >>"$BACKUP_DIR/sizes.tsv"
    bash "$BACKUP_DIR/clean_out.sh"
    rm -f base.db wal.db hash.db hash.db.json
  )
  BACKUP_TOTAL_S=$(($(ms_since "$t_all") / 1000))
  summarize_backup | tee "$OUT/backup_summary.txt"
}

summarize_backup() {
  machine
  echo "extension file: $(stat -c '%s bytes, modified %y' "$EXT.so") (at the end of the run)"
  echo "backup mode: ${BACKUP_TOTAL_S} s in all; warm OS cache (every input written back and read" \
    "once); before every run (warm-up included, untimed): rm out.db out.db.json; sync; sleep $BACKUP_PAUSE"
  echo
  "$PY" - "$BACKUP_DIR" <<'PY'
import statistics, sys
d = sys.argv[1]
def rows_of(name):
    return [l.rstrip("\n").split("\t") for l in open(f"{d}/{name}") if l.strip()]
sizes = open(f"{d}/sizes.tsv").read().split()
size, wal_size, hash_size, load0, load1 = int(sizes[0]), int(sizes[1]), int(sizes[2]), sizes[3], sizes[4]
base = rows_of("base.tsv")[0]
# One line per command and round (1 run each); round 0 is the warm-up.
samples = {}
for rnd, name, ms, _, _, _, cpu in rows_of("backup_results.tsv"):
    samples.setdefault(name, [])  # in the warm-up round's (unrotated) order
    if rnd != "0":
        samples[name].append((float(ms), float(cpu)))
r = {}
for name, xs in samples.items():
    r[name] = (statistics.median(x[0] for x in xs), min(x[0] for x in xs), max(x[0] for x in xs),
               statistics.median(x[1] for x in xs))
runs = len(next(iter(samples.values())))
print(f"database: apply's base.db, {int(base[0]):,} items + {int(base[0]) // 10:,} item_notes, "
      f"{size:,} bytes ({size / 2**20:.0f} MiB; wal.db {wal_size:,}, hash.db {hash_size:,}), built in "
      f"{int(base[3]) / 1000:.0f} s; load average before/after timing {load0}/{load1}")
print("checks (untimed, before timing): " + "; ".join(
    f"{m} mode: method {meth}, {int(b):,} bytes, checksum = xxh128sum of the copy"
    for m, meth, b in rows_of("checks.tsv")))
print()
ref = r["cp + xxh128sum"][0]
print(f"1. whole processes ({runs} rounds after 1 warm-up round, every command once a round; ms)")
print("| command | median [min-max] | cpu (user+sys, median) | MB/s (median) | ratio to cp + xxh128sum |")
print("|---|---:|---:|---:|---:|")
for name, (med, lo, hi, cpu) in r.items():
    mbs = "" if name == "startup+load" else f"{size / 1e6 / (med / 1000):.0f}"
    print(f"| {name} | {med:.0f} [{lo:.0f}-{hi:.0f}] | {cpu:.0f} | {mbs} | {med / ref:.2f} |")
print()
bc = r["backup_create"][0]
def ratio(a, b, target=None):
    x = r[a][0] / r[b][0]
    t = f" (target <= {target}: {'met' if x <= target else 'MISSED'})" if target else ""
    print(f"| {a} / {b} | {r[a][0]:.0f} / {r[b][0]:.0f} | {x:.2f}{t} |")
print("2. ratios of medians")
print("| ratio | ms / ms | value |")
print("|---|---:|---:|")
ratio("backup_create", "cp + xxh128sum", 2.0)
ratio("backup_create", ".backup")
ratio("backup_create", "cp + sync + xxh128sum")
ratio("backup_create", "cp + sync")
ratio("backup_create", "cp")
ratio("backup_create", "dd bs=1M conv=fsync")
ratio("dd bs=1M conv=fsync", "cp + sync")
ratio("dd bs=1M conv=fsync", "dd bs=64K conv=fsync")
ratio("backup_create, WAL", "backup_create")
ratio("cp + sync", "cp")
print()
boot = r["startup+load"][0]
ours = r["hash alone (backup_verify, decoy sidecar)"][0] - boot
xxh = r["xxh128sum"][0]
x = ours / xxh
print("3. checksum throughput on hash.db (a copy of base.db in the OS cache)")
print("| hasher | ms | GB/s |")
print("|---|---:|---:|")
print(f"| xxh128sum hash.db (whole process) | {xxh:.0f} | {hash_size / 1e6 / xxh:.2f} |")
print(f"| ours: backup_verify('hash.db') with a decoy sidecar, minus startup+load ({boot:.0f} ms) | "
      f"{ours:.0f} | {hash_size / 1e6 / ours:.2f} |")
print(f"| ratio ours / xxh128sum (wall) | {x:.2f} (target <= 1.2: {'met' if x <= 1.2 else 'MISSED'}) | |")
oc = r["hash alone (backup_verify, decoy sidecar)"][3] - r["startup+load"][3]
print(f"| ratio ours / xxh128sum (cpu: {oc:.0f} / {r['xxh128sum'][3]:.0f} ms) | {oc / r['xxh128sum'][3]:.2f} | |")
def derived(label, other):
    d = bc - r[other][0]
    gbs = f"{size / 1e6 / d:.2f}" if d > 0 else "n/a (not positive)"
    print(f"| derived, not measured: bytes / (backup_create - {label}) = "
          f"{bc:.0f} - {r[other][0]:.0f} ms | {d:.0f} | {gbs} |")
derived("(cp + sync)", "cp + sync")
derived("(dd bs=1M conv=fsync: the same read/write/fsync, no hash)", "dd bs=1M conv=fsync")
print()
cp_sync = r["cp + sync"][0]
print("4. where backup_create's time goes (differences of medians, ms)")
print("| part | ms |")
print("|---|---:|")
print(f"| the fsync of the copy, as cp + sync - cp | {cp_sync - r['cp'][0]:.0f} |")
print(f"| hashing, as xxh128sum alone | {xxh:.0f} |")
print(f"| writing in 1 MiB instead of 64 KiB pieces, as dd bs=1M - dd bs=64K (both with fsync) | "
      f"{r['dd bs=1M conv=fsync'][0] - r['dd bs=64K conv=fsync'][0]:.0f} |")
print(f"| backup_create - (cp + sync + xxh128sum) | {bc - r['cp + sync + xxh128sum'][0]:.0f} |")
print(f"| backup_create - dd bs=1M conv=fsync | {bc - r['dd bs=1M conv=fsync'][0]:.0f} |")
print(f"| cpu: backup_create - (cp + xxh128sum) | {r['backup_create'][3] - r['cp + xxh128sum'][3]:.0f} |")
PY
}

case "$mode" in
  plan) run_plan ;;
  calibrate) run_calibrate ;;
  apply) run_apply ;;
  inplace) run_inplace ;;
  backup) run_backup ;;
  all) run_plan; (run_calibrate); (run_apply); (run_backup) ;;
esac
echo "raw results: $OUT"
