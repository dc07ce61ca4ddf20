// tests/reliability/faults/harness.h -- what the I/O-fault and the
// out-of-memory harnesses share: the scale knob, sampling of fault points,
// the fixture database, dumps for "unchanged or fully migrated" checks, and
// a reproducer line printed if the process dies mid-run.
//
// Written on the raw sqlite3 API (not on core/): the harnesses load the real
// automigrate.so, as users do, and must not lean on the code they test.
#pragma once

#include <signal.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace automigrate::reliability {

// AUTOMIGRATE_RELIABILITY_SCALE (float, default 1): 20 for a soak, 0.25 for
// the sanitizer pass.
inline double Scale() {
  const char* s = std::getenv("AUTOMIGRATE_RELIABILITY_SCALE");
  if (!s || !*s) return 1.0;
  double v = std::atof(s);
  return v > 0 ? v : 1.0;
}

// AUTOMIGRATE_RELIABILITY_SEED (default 1): picks the offsets of sampled
// fault points, so a sampled run is reproducible.
inline uint64_t Seed() {
  const char* s = std::getenv("AUTOMIGRATE_RELIABILITY_SEED");
  return s && *s ? std::strtoull(s, nullptr, 10) : 1;
}

// Fault points N = offset+1, offset+1+stride, ...: every point when
// base_stride / scale <= 1, else every stride-th with an offset derived from
// the seed and `salt` (so different operations sample different points).
struct Sampling {
  int64_t stride = 1;
  int64_t offset = 0;
};
inline Sampling SampleFor(double base_stride, uint64_t salt) {
  Sampling s;
  double k = base_stride / Scale();
  s.stride = k <= 1 ? 1 : static_cast<int64_t>(std::llround(k));
  // splitmix64 of seed ^ salt
  uint64_t z = Seed() ^ (salt * 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  s.offset = s.stride > 1 ? static_cast<int64_t>(z % static_cast<uint64_t>(s.stride)) : 0;
  return s;
}

inline uint64_t HashName(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

// ------------------------------------------------------------- crash report
// The reproducer of the run in progress, printed by a fatal-signal handler
// (a crash or std::terminate) before the process dies.
inline char g_current_run[512] = "(no run in progress)";
inline void SetCurrentRun(const std::string& text) {
  std::snprintf(g_current_run, sizeof g_current_run, "%s", text.c_str());
}
inline void FatalSignal(int sig) {
  const char head[] = "\nFATAL: the process died during fault point: ";
  (void)!write(2, head, sizeof head - 1);
  (void)!write(2, g_current_run, std::strlen(g_current_run));
  (void)!write(2, "\n", 1);
  signal(sig, SIG_DFL);
  raise(sig);
}
inline void InstallCrashReporter() {
  for (int sig : {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL}) signal(sig, FatalSignal);
}

// ------------------------------------------------------------- sqlite helpers
struct Conn {
  sqlite3* db = nullptr;
  Conn() = default;
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  ~Conn() { Close(); }
  // SQLITE_OK, or SQLITE_BUSY when a statement was left unfinalized (a leak).
  int Close() {
    int rc = SQLITE_OK;
    if (db) rc = sqlite3_close(db);
    if (rc == SQLITE_OK) db = nullptr;
    return rc;
  }
};

// Opens `path` on `vfs` (nullptr: the default) and, when `ext` is given,
// loads the extension. Returns an error message, or "" on success.
inline std::string Open(Conn* c, const std::string& path, const char* vfs, const char* ext) {
  int rc = sqlite3_open_v2(path.c_str(), &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs);
  if (rc != SQLITE_OK) {
    std::string msg = c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc);
    sqlite3_close(c->db);
    c->db = nullptr;
    return "open " + path + ": " + msg;
  }
  sqlite3_extended_result_codes(c->db, 1);
  if (ext) {
    sqlite3_enable_load_extension(c->db, 1);
    char* err = nullptr;
    rc = sqlite3_load_extension(c->db, ext, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      return "load " + std::string(ext) + ": " + msg;
    }
  }
  return "";
}

inline std::string Exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return "";
  std::string msg = err ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  return msg.empty() ? "error" : msg;
}

inline std::string ValueText(sqlite3_stmt* st, int i) {
  switch (sqlite3_column_type(st, i)) {
    case SQLITE_NULL:
      return "NULL";
    case SQLITE_INTEGER:
      return std::to_string(sqlite3_column_int64(st, i));
    case SQLITE_FLOAT: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.17g", sqlite3_column_double(st, i));
      return buf;
    }
    case SQLITE_BLOB: {
      const auto* p = static_cast<const unsigned char*>(sqlite3_column_blob(st, i));
      std::string out = "X'";
      char buf[3];
      for (int k = 0; k < sqlite3_column_bytes(st, i); ++k) {
        std::snprintf(buf, sizeof buf, "%02x", p[k]);
        out += buf;
      }
      return out + "'";
    }
    default:
      return "'" +
             std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, i)),
                         sqlite3_column_bytes(st, i)) +
             "'";
  }
}

// Result of one statement: rows as tab-joined text; rc and message on error.
struct QueryResult {
  int rc = SQLITE_OK;  // extended code
  std::string error;
  std::vector<std::string> rows;
  bool ok() const { return rc == SQLITE_OK; }
};

inline QueryResult Query(sqlite3* db, const std::string& sql,
                         const std::vector<std::optional<std::string>>& params = {}) {
  QueryResult r;
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr);
  if (rc == SQLITE_OK) {
    for (size_t i = 0; i < params.size(); ++i) {
      if (params[i])
        sqlite3_bind_text(st, static_cast<int>(i + 1), params[i]->c_str(), -1, SQLITE_TRANSIENT);
      else
        sqlite3_bind_null(st, static_cast<int>(i + 1));
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      std::string row;
      for (int i = 0; i < sqlite3_column_count(st); ++i) {
        if (i) row += '\t';
        row += ValueText(st, i);
      }
      r.rows.push_back(std::move(row));
    }
    if (rc == SQLITE_DONE) rc = SQLITE_OK;
  }
  if (rc != SQLITE_OK) {
    r.rc = sqlite3_extended_errcode(db);
    if (r.rc == SQLITE_OK) r.rc = rc;
    r.error = sqlite3_errmsg(db);
  }
  sqlite3_finalize(st);
  return r;
}

// First column of the first row, without quotes ("" on error or no row).
inline std::string QueryOne(sqlite3* db, const std::string& sql,
                            const std::vector<std::optional<std::string>>& params = {}) {
  QueryResult r = Query(db, sql, params);
  if (!r.ok() || r.rows.empty()) return "";
  std::string v = r.rows[0].substr(0, r.rows[0].find('\t'));
  if (v.size() >= 2 && v.front() == '\'' && v.back() == '\'') v = v.substr(1, v.size() - 2);
  return v;
}

// The user's schema and data (everything but sqlite_* and the extension's
// _automigrate_* tables), as text: equal dumps mean an identical database
// for the user. An error is part of the dump (it never equals a good one).
inline std::string DumpUserState(sqlite3* db) {
  std::string out;
  QueryResult schema = Query(
      db,
      "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' "
      "ESCAPE '\\' AND name NOT LIKE '\\_automigrate\\_%' ESCAPE '\\' "
      "AND tbl_name NOT LIKE '\\_automigrate\\_%' ESCAPE '\\' ORDER BY type, name");
  if (!schema.ok()) return "ERROR " + schema.error;
  for (const std::string& r : schema.rows) out += r + "\n";
  QueryResult tables = Query(
      db,
      "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' "
      "ESCAPE '\\' AND name NOT LIKE '\\_automigrate\\_%' ESCAPE '\\' ORDER BY name");
  if (!tables.ok()) return "ERROR " + tables.error;
  for (std::string t : tables.rows) {
    t = t.substr(1, t.size() - 2);  // a quoted text value
    std::string q = "\"";
    for (char ch : t) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    q += "\"";
    QueryResult rows = Query(db, "SELECT * FROM " + q + " ORDER BY rowid");
    if (!rows.ok()) return "ERROR " + rows.error;
    out += "-- " + t + "\n";
    for (const std::string& r : rows.rows) out += r + "\n";
  }
  return out;
}

// A short description of how two dumps differ (the first differing line).
inline std::string FirstDifference(const std::string& a, const std::string& b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  size_t line_start = a.rfind('\n', i == 0 ? 0 : i - 1);
  line_start = line_start == std::string::npos ? 0 : line_start + 1;
  auto line = [&](const std::string& s) {
    size_t e = s.find('\n', line_start);
    return s.substr(line_start, e == std::string::npos ? std::string::npos : e - line_start);
  };
  return "got: " + line(a) + " | expected: " + line(b);
}

// ------------------------------------------------------------- the fixture
// Rows, indexes, a foreign-key child, a view and a trigger.
inline constexpr const char* kFixtureSql = R"sql(
CREATE TABLE parent(id INTEGER PRIMARY KEY, name TEXT NOT NULL, score INTEGER, note TEXT);
CREATE INDEX parent_name ON parent(name);
CREATE TABLE child(id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id), qty INTEGER);
CREATE INDEX child_parent ON child(parent_id);
CREATE TABLE audit(id INTEGER PRIMARY KEY, parent_id INTEGER, what TEXT);
CREATE VIEW parent_totals AS
  SELECT p.id, p.name, sum(c.qty) AS total FROM parent p LEFT JOIN child c ON c.parent_id = p.id
  GROUP BY p.id;
CREATE TRIGGER parent_audit AFTER UPDATE OF score ON parent
  BEGIN INSERT INTO audit(parent_id, what) VALUES (new.id, 'score'); END;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400)
  INSERT INTO parent SELECT i, 'name-' || i, CASE WHEN i % 7 = 0 THEN NULL ELSE i * 3 END,
    printf('%.*c', 40 + i % 60, 'x') FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 900)
  INSERT INTO child SELECT i, 1 + i % 400, i % 13 FROM n;
UPDATE parent SET score = score + 1 WHERE id % 50 = 0;
)sql";

// The same schema as desired DDL (what the fixture is).
inline constexpr const char* kFixtureDesired = R"sql(
CREATE TABLE parent(id INTEGER PRIMARY KEY, name TEXT NOT NULL, score INTEGER, note TEXT);
CREATE INDEX parent_name ON parent(name);
CREATE TABLE child(id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id), qty INTEGER);
CREATE INDEX child_parent ON child(parent_id);
CREATE TABLE audit(id INTEGER PRIMARY KEY, parent_id INTEGER, what TEXT);
CREATE VIEW parent_totals AS
  SELECT p.id, p.name, sum(c.qty) AS total FROM parent p LEFT JOIN child c ON c.parent_id = p.id
  GROUP BY p.id;
CREATE TRIGGER parent_audit AFTER UPDATE OF score ON parent
  BEGIN INSERT INTO audit(parent_id, what) VALUES (new.id, 'score'); END;
)sql";

// A rebuild of parent that changes no value (a CHECK that every row meets):
// rolled back from its backup, nothing written after it is discarded.
inline constexpr const char* kRebuildCheckDesired = R"sql(
CREATE TABLE parent(id INTEGER PRIMARY KEY, name TEXT NOT NULL CHECK (length(name) > 0),
                    score INTEGER, note TEXT);
CREATE INDEX parent_name ON parent(name);
CREATE TABLE child(id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id), qty INTEGER);
CREATE INDEX child_parent ON child(parent_id);
CREATE TABLE audit(id INTEGER PRIMARY KEY, parent_id INTEGER, what TEXT);
CREATE VIEW parent_totals AS
  SELECT p.id, p.name, sum(c.qty) AS total FROM parent p LEFT JOIN child c ON c.parent_id = p.id
  GROUP BY p.id;
CREATE TRIGGER parent_audit AFTER UPDATE OF score ON parent
  BEGIN INSERT INTO audit(parent_id, what) VALUES (new.id, 'score'); END;
)sql";

// A rebuild of parent (NOT NULL with a DEFAULT, a CHECK): its index, the
// view and the trigger that name it are dropped and recreated around it,
// and child references it.
inline constexpr const char* kRebuildDesired = R"sql(
CREATE TABLE parent(id INTEGER PRIMARY KEY, name TEXT NOT NULL CHECK (length(name) > 0),
                    score INTEGER NOT NULL DEFAULT 0, note TEXT);
CREATE INDEX parent_name ON parent(name);
CREATE TABLE child(id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id), qty INTEGER);
CREATE INDEX child_parent ON child(parent_id);
CREATE TABLE audit(id INTEGER PRIMARY KEY, parent_id INTEGER, what TEXT);
CREATE VIEW parent_totals AS
  SELECT p.id, p.name, sum(c.qty) AS total FROM parent p LEFT JOIN child c ON c.parent_id = p.id
  GROUP BY p.id;
CREATE TRIGGER parent_audit AFTER UPDATE OF score ON parent
  BEGIN INSERT INTO audit(parent_id, what) VALUES (new.id, 'score'); END;
)sql";

// Columns added to two tables and a new index: ALTER TABLE only.
inline constexpr const char* kAddColumnDesired = R"sql(
CREATE TABLE parent(id INTEGER PRIMARY KEY, name TEXT NOT NULL, score INTEGER, note TEXT,
                    email TEXT, rank INTEGER DEFAULT 5);
CREATE INDEX parent_name ON parent(name);
CREATE TABLE child(id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id), qty INTEGER,
                   label TEXT DEFAULT 'none');
CREATE INDEX child_parent ON child(parent_id);
CREATE INDEX child_qty ON child(qty);
CREATE TABLE audit(id INTEGER PRIMARY KEY, parent_id INTEGER, what TEXT);
CREATE VIEW parent_totals AS
  SELECT p.id, p.name, sum(c.qty) AS total FROM parent p LEFT JOIN child c ON c.parent_id = p.id
  GROUP BY p.id;
CREATE TRIGGER parent_audit AFTER UPDATE OF score ON parent
  BEGIN INSERT INTO audit(parent_id, what) VALUES (new.id, 'score'); END;
)sql";

inline bool CopyFile(const std::string& from, const std::string& to) {
  std::error_code ec;
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing, ec);
  return !ec;
}

// A fresh directory under $TMPDIR, removed by the destructor.
class TempDir {
 public:
  // Under $TMPDIR when set, else in /dev/shm when there is one: the
  // harnesses sync a lot and never need the data to survive a power loss
  // (faults are injected above the file system), so tmpfs, where fsync
  // costs nothing, keeps a run within its time budget.
  explicit TempDir(const char* tag) {
    std::filesystem::path root = std::filesystem::temp_directory_path();
    if (!std::getenv("TMPDIR") && access("/dev/shm", W_OK) == 0) root = "/dev/shm";
    std::string tmpl = (root / tag).string() + "-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data())) path_ = buf.data();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty() && !std::getenv("AUTOMIGRATE_RELIABILITY_KEEP"))
      std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace automigrate::reliability
