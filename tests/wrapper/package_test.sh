#!/usr/bin/env bash
# tests/wrapper/package_test.sh -- the install and the .deb, as a user gets them.
#
# Usage: package_test.sh BUILD_DIR
#
#  1. `cmake --install BUILD_DIR --prefix P`: the exact file list under P.
#  2. cpack (DEB) into a scratch directory: the file name, the control fields
#     (Package, Version, Architecture, Depends, Recommends) and the file list.
#  3. `dpkg -x` into a scratch root; the installed .so loaded by the sqlite3
#     shell (.load <root>/usr/lib/<multiarch>/sqlite3/automigrate) runs a real
#     migration (rebuild + new table, rows kept) and rolls it back.
#  4. The installed <root>/usr/bin/automigrate with AUTOMIGRATE_EXT unset finds
#     that same .so relative to itself, and migrates a database.
# Nothing is installed on the machine itself.
set -euo pipefail

build="$(cd "${1:?usage: package_test.sh BUILD_DIR}" && pwd)"
version="$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")"
multiarch="$(sed -n 's/^CMAKE_LIBRARY_ARCHITECTURE:INTERNAL=//p' "$build/CMakeCache.txt")"
[[ -n "$multiarch" ]] || multiarch="$(gcc -print-multiarch)"
arch="$(dpkg --print-architecture)"
scratch="$(mktemp -d "${TMPDIR:-/tmp}/automigrate-package.XXXXXX")"
trap 'rm -rf -- "$scratch"' EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
expect_eq() {  # expect_eq WHAT EXPECTED ACTUAL
  [[ "$2" == "$3" ]] || fail "$1: expected
$2
got
$3"
}

src="$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$build/CMakeCache.txt")"
docs=(README.md)
for f in "$src"/docs/*.md; do docs+=("$(basename "$f")"); done
for f in "$src"/LICENSE*; do [[ -e "$f" ]] && docs+=("$(basename "$f")"); done

expected_files() {  # the files under a prefix, sorted
  {
    echo "bin/automigrate"
    echo "lib/$multiarch/sqlite3/automigrate.so"
    for d in "${docs[@]}"; do echo "share/doc/sqlite-automigrate/$d"; done
  } | LC_ALL=C sort
}

# 1. cmake --install
echo "== cmake --install --prefix"
cmake --install "$build" --prefix "$scratch/prefix" >/dev/null
expect_eq "installed files" "$(expected_files)" \
  "$(cd "$scratch/prefix" && find . -type f -o -type l | sed 's|^\./||' | LC_ALL=C sort)"
[[ -x "$scratch/prefix/bin/automigrate" ]] || fail "bin/automigrate is not executable"

# 2. cpack
echo "== cpack -G DEB"
(cd "$build" && cpack -G DEB -B "$scratch/cpack" >"$scratch/cpack.log" 2>&1) ||
  { cat "$scratch/cpack.log" >&2; fail "cpack failed"; }
deb="$scratch/cpack/sqlite-automigrate_${version}_${arch}.deb"
[[ -f "$deb" ]] || fail "no $deb; cpack made: $(ls "$scratch/cpack")"
expect_eq "Package" "sqlite-automigrate" "$(dpkg-deb -f "$deb" Package)"
expect_eq "Version" "$version" "$(dpkg-deb -f "$deb" Version)"
expect_eq "Architecture" "$arch" "$(dpkg-deb -f "$deb" Architecture)"
expect_eq "Recommends" "sqlite3" "$(dpkg-deb -f "$deb" Recommends)"
depends="$(dpkg-deb -f "$deb" Depends)"
echo "Depends: $depends"
for dep in 'libsqlite3-0 (>= 3.40)' 'libxxhash0' 'libc6' 'libstdc++6'; do
  [[ ", $depends," == *", $dep"[\ ,]* ]] || fail "Depends lacks $dep: $depends"
done
[[ "$depends" != *sqlite3,* && "$depends" != *"sqlite3 "* && "$depends" != *sqlite3 ]] ||
  fail "the sqlite3 shell must be a Recommends, not a Depends: $depends"
expect_eq "package files" "$(expected_files | sed 's|^|./usr/|')" \
  "$(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {print $6}' | LC_ALL=C sort)"

# 3. the installed .so in the sqlite3 shell
echo "== dpkg -x; .load the installed extension"
root="$scratch/root"
dpkg -x "$deb" "$root"
so="$root/usr/lib/$multiarch/sqlite3/automigrate.so"
[[ -f "$so" ]] || fail "no $so"
if readelf -S "$so" | grep -q '\.debug_info'; then fail "$so is not stripped"; fi
db="$scratch/app.db"
sqlite3 -bail "$db" "CREATE TABLE users(id INTEGER PRIMARY KEY, fullname TEXT);
  INSERT INTO users(fullname) VALUES ('Ann'), ('Bob');"
out="$(sqlite3 -bail "$db" <<EOF
.load '${so%.so}'
SELECT automigrate_version();
SELECT json_extract(migrate_apply('CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL, -- @renamed from=fullname
  email TEXT UNIQUE); CREATE TABLE posts(id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id));'), '\$.steps');
SELECT group_concat(name, ',') FROM users;
SELECT op FROM migration_history ORDER BY id;
SELECT json_extract(migrate_rollback(), '\$.method');
SELECT group_concat(name, ',') FROM pragma_table_info('users');
EOF
)"
expect_eq "migration through the installed .so" "$version
3
Ann,Bob
create_table
rename_column
rebuild_table
sql
id,fullname" "$out"

# 4. the installed wrapper, finding the installed .so relative to itself
echo "== the installed automigrate, AUTOMIGRATE_EXT unset"
wrapper="$root/usr/bin/automigrate"
out="$(env -u AUTOMIGRATE_EXT "$wrapper" --version)"
expect_eq "automigrate --version" "automigrate $version
extension: $so
sqlite: $(sqlite3 :memory: 'SELECT sqlite_version()')" "$out"
printf 'CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);\n' >"$scratch/schema.sql"
set +e
env -u AUTOMIGRATE_EXT "$wrapper" status "$scratch/app.db" "$scratch/schema.sql" >/dev/null
rc=$?
set -e
expect_eq "status exit before apply" 1 "$rc"
env -u AUTOMIGRATE_EXT "$wrapper" apply "$scratch/app.db" "$scratch/schema.sql" --allow-destructive \
  >"$scratch/apply.out"
grep -q '^applied: batch 3, ' "$scratch/apply.out" || fail "apply: $(cat "$scratch/apply.out")"
env -u AUTOMIGRATE_EXT "$wrapper" status "$scratch/app.db" "$scratch/schema.sql"
echo "package test: ok ($(basename "$deb"), $(stat -c %s "$deb") bytes)"
