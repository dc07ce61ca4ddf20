// tests/reliability/crash/harness_util.h -- small helpers shared by the crash
// and concurrency harnesses (tests/reliability/{crash,concurrency}/): RAII
// owners on the raw sqlite3 API (the harnesses must not lean on core/, the
// code they test), query helpers that return SQLite's message instead of
// failing, child processes (the harness binary re-executed with a "child"
// mode), the reliability scale and a content hash.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace automigrate::reliability {

struct DbCloser {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;

struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

using Row = std::vector<std::string>;
using Rows = std::vector<Row>;

// AUTOMIGRATE_RELIABILITY_SCALE (float, default 1): multiplies every count.
inline double Scale() {
  const char* s = std::getenv("AUTOMIGRATE_RELIABILITY_SCALE");
  if (s == nullptr || *s == '\0') return 1.0;
  char* end = nullptr;
  double v = std::strtod(s, &end);
  return (end != s && v > 0) ? v : 1.0;
}

// round(n * scale), at least `min`.
inline int Scaled(int n, int min = 1) {
  int v = static_cast<int>(std::lround(n * Scale()));
  return v < min ? min : v;
}

// Opens `path` (no extension loaded). nullptr and `error` set on failure.
inline DbPtr Open(const std::string& path, std::string* error,
                  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK) {
    if (error) *error = "open " + path + ": " + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc));
    return nullptr;
  }
  return db;
}

// Loads the built extension (`ext_path` without suffix, as `.load` takes it).
inline bool LoadExtension(sqlite3* db, const std::string& ext_path, std::string* error) {
  if (sqlite3_enable_load_extension(db, 1) != SQLITE_OK) {
    if (error) *error = sqlite3_errmsg(db);
    return false;
  }
  char* msg = nullptr;
  int rc = sqlite3_load_extension(db, ext_path.c_str(), nullptr, &msg);
  if (rc != SQLITE_OK) {
    if (error) *error = "load " + ext_path + ": " + (msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    return false;
  }
  return true;
}

// Renders one column as text; NULL as "NULL".
inline std::string ColumnText(sqlite3_stmt* s, int i) {
  if (sqlite3_column_type(s, i) == SQLITE_NULL) return "NULL";
  const unsigned char* t = sqlite3_column_text(s, i);
  return t ? std::string(reinterpret_cast<const char*>(t), sqlite3_column_bytes(s, i)) : "";
}

// Runs one statement with `params` bound as text (nullopt: NULL) and collects
// every row. On failure returns false with SQLite's message in `error`.
inline bool Query(sqlite3* db, std::string_view sql,
                  const std::vector<std::optional<std::string>>& params, Rows* rows,
                  std::string* error) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &raw, nullptr);
  StmtPtr stmt(raw);
  if (rc != SQLITE_OK) {
    if (error) *error = sqlite3_errmsg(db);
    return false;
  }
  for (size_t i = 0; i < params.size(); ++i) {
    if (params[i])
      sqlite3_bind_text(raw, static_cast<int>(i + 1), params[i]->data(),
                        static_cast<int>(params[i]->size()), SQLITE_TRANSIENT);
    else
      sqlite3_bind_null(raw, static_cast<int>(i + 1));
  }
  const int n = sqlite3_column_count(raw);
  while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
    if (!rows) continue;
    Row row;
    for (int i = 0; i < n; ++i) row.push_back(ColumnText(raw, i));
    rows->push_back(std::move(row));
  }
  if (rc != SQLITE_DONE) {
    if (error) *error = sqlite3_errmsg(db);
    return false;
  }
  return true;
}

inline bool Query(sqlite3* db, std::string_view sql, Rows* rows, std::string* error) {
  return Query(db, sql, {}, rows, error);
}

// First column of the first row ("" when there is none).
inline bool QueryOne(sqlite3* db, std::string_view sql,
                     const std::vector<std::optional<std::string>>& params, std::string* out,
                     std::string* error) {
  Rows rows;
  if (!Query(db, sql, params, &rows, error)) return false;
  *out = rows.empty() || rows[0].empty() ? "" : rows[0][0];
  return true;
}

// Every statement of `sql`.
inline bool Exec(sqlite3* db, std::string_view sql, std::string* error) {
  char* msg = nullptr;
  int rc = sqlite3_exec(db, std::string(sql).c_str(), nullptr, nullptr, &msg);
  if (rc != SQLITE_OK) {
    if (error) *error = msg ? msg : sqlite3_errstr(rc);
    sqlite3_free(msg);
    return false;
  }
  return true;
}

// XXH3-128 over a sequence of strings (each length-prefixed), as 32 hex digits.
class Hasher {
 public:
  Hasher() { XXH3_128bits_reset(&state_); }
  void Add(std::string_view s) {
    uint64_t n = s.size();
    XXH3_128bits_update(&state_, &n, sizeof n);
    XXH3_128bits_update(&state_, s.data(), s.size());
  }
  std::string Hex() {
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits_digest(&state_));
    static const char* kDigits = "0123456789abcdef";
    std::string out;
    for (unsigned char b : c.digest) {
      out += kDigits[b >> 4];
      out += kDigits[b & 15];
    }
    return out;
  }

 private:
  XXH3_state_t state_;
};

// Hash of every row of `sql`'s result (each value with its storage class).
inline bool HashQuery(sqlite3* db, std::string_view sql, std::string* hex, int64_t* row_count,
                      std::string* error) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &raw, nullptr) !=
      SQLITE_OK) {
    if (error) *error = sqlite3_errmsg(db);
    return false;
  }
  StmtPtr stmt(raw);
  Hasher h;
  int64_t count = 0;
  const int n = sqlite3_column_count(raw);
  int rc;
  while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
    ++count;
    for (int i = 0; i < n; ++i) {
      h.Add(std::to_string(sqlite3_column_type(raw, i)));
      h.Add(ColumnText(raw, i));
    }
  }
  if (rc != SQLITE_DONE) {
    if (error) *error = sqlite3_errmsg(db);
    return false;
  }
  *hex = h.Hex();
  if (row_count) *row_count = count;
  return true;
}

// The user's schema: every sqlite_schema row but the extension's own objects,
// one line each, ordered.
inline bool SchemaDump(sqlite3* db, std::string* dump, std::string* error) {
  Rows rows;
  if (!Query(db,
             "SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_schema "
             "WHERE name NOT LIKE '\\_automigrate\\_%' ESCAPE '\\' "
             "AND tbl_name NOT LIKE '\\_automigrate\\_%' ESCAPE '\\' ORDER BY type, name",
             &rows, error))
    return false;
  dump->clear();
  for (const Row& r : rows) *dump += r[0] + "|" + r[1] + "|" + r[2] + "|" + r[3] + "\n";
  return true;
}

// PRAGMA integrity_check (quick_check when `quick`: no index contents) is ok.
inline bool IntegrityOk(sqlite3* db, std::string* detail, bool quick = false) {
  Rows rows;
  std::string error;
  if (!Query(db, quick ? "PRAGMA quick_check" : "PRAGMA integrity_check", &rows, &error)) {
    *detail = "integrity_check failed to run: " + error;
    return false;
  }
  if (rows.size() == 1 && rows[0][0] == "ok") return true;
  detail->clear();
  for (size_t i = 0; i < rows.size() && i < 5; ++i) *detail += rows[i][0] + "; ";
  return false;
}

inline bool TableExists(sqlite3* db, std::string_view name) {
  std::string out, error;
  return QueryOne(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?1",
                  {std::string(name)}, &out, &error) &&
         out == "1";
}

inline double NowMs() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

// The running executable, to start children of the same binary.
inline std::string SelfExe() { return std::filesystem::read_symlink("/proc/self/exe").string(); }

// Starts `args[0]` with `args`, stdout and stderr to `out_path` (appended),
// stdin from /dev/null unless `stdin_fd` >= 0. Returns the pid, -1 on failure.
// Every other descriptor except `keep_fd` is closed by exec (O_CLOEXEC) or
// left as the parent has it.
inline pid_t Spawn(const std::vector<std::string>& args, const std::string& out_path,
                   int stdin_fd = -1) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid != 0) return pid;
  // Child: only async-signal-safe calls until exec.
  int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (out >= 0) {
    ::dup2(out, 1);
    ::dup2(out, 2);
    ::close(out);
  }
  int in = stdin_fd >= 0 ? stdin_fd : ::open("/dev/null", O_RDONLY);
  if (in >= 0 && in != 0) {
    ::dup2(in, 0);
    ::close(in);
  }
  ::execv(argv[0], argv.data());
  ::_exit(127);
}

// Waits for `pid`; returns the exit code, or 128 + signal.
inline int WaitChild(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline bool WriteFile(const std::string& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  return static_cast<bool>(out);
}

// Where the harnesses put their databases: AUTOMIGRATE_RELIABILITY_TMPDIR,
// else /dev/shm when it is a writable folder, else $TMPDIR or /tmp. tmpfs is
// the default because these harnesses kill processes and race them for
// locks; they do not cut power. What a SIGKILLed process wrote is in the page
// cache either way, and POSIX locks behave the same, while on a busy disk the
// fsyncs of every commit and backup would take most of the time budget.
inline std::string ScratchBase() {
  if (const char* d = std::getenv("AUTOMIGRATE_RELIABILITY_TMPDIR"); d && *d) return d;
  std::error_code ec;
  if (std::filesystem::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0)
    return "/dev/shm";
  const char* t = std::getenv("TMPDIR");
  return t && *t ? t : "/tmp";
}

// A fresh directory under ScratchBase(), removed with everything in it
// unless AUTOMIGRATE_RELIABILITY_KEEP is set (then its path is printed).
class TempDir {
 public:
  explicit TempDir(const std::string& prefix) {
    std::string base = ScratchBase();
    std::string tmpl = base + "/" + prefix + "-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) != nullptr) path_ = buf.data();
  }
  ~TempDir() {
    if (path_.empty()) return;
    if (std::getenv("AUTOMIGRATE_RELIABILITY_KEEP")) {
      std::fprintf(stderr, "kept %s\n", path_.c_str());
      return;
    }
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  bool ok() const { return !path_.empty(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace automigrate::reliability
