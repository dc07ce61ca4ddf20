// tests/reliability/oom/oom.cc -- the out-of-memory harness.
//
// Two allocators fail on demand:
//   * SQLite's, replaced with sqlite3_config(SQLITE_CONFIG_MALLOC) before
//     sqlite3_initialize by a counting wrapper around the default one: the
//     Nth xMalloc/xRealloc returns NULL;
//   * C++'s: this executable replaces the global operator new/delete (every
//     form), and is linked with ENABLE_EXPORTS (-rdynamic) so the real
//     automigrate.so, loaded with sqlite3_load_extension as users load it,
//     binds its operator new calls to these: the Nth throws std::bad_alloc
//     (the nothrow forms return nullptr). The harness checks that the
//     extension's allocations are counted, so it cannot pass without
//     reaching them.
// For each allocator and N = 1, 2, ... until the sequence completes without
// reaching the fault, one run: open a copy of the fixture database, load the
// extension, then (armed) migrate_plan, migrate_apply of a rebuild and an
// added column with a backup into a directory, reads of migration_history
// and migration_batches, then migrate_status, migrate_stats,
// migrate_configure and migrate_health, stopping at the first error.
// After each run:
//   * no crash (std::terminate and fatal signals print the fault point);
//   * an error is an SQL error with a message (SQLITE_NOMEM for a failed
//     allocation inside the extension);
//   * the connection closes with SQLITE_OK (no statement leaked), and SQLite's
//     memory in use and the count of live operator new blocks are back at
//     their baseline (no leak on an error path; ASan's leak check repeats
//     this at exit under the sanitizer build);
//   * reopened: integrity_check ok, the user's schema + data identical to
//     before or to a fault-free run, the history agreeing with it;
//   * the same sequence without faults then succeeds and leaves the
//     migrated state.
// AUTOMIGRATE_RELIABILITY_SCALE divides the sampling stride;
// AUTOMIGRATE_RELIABILITY_SEED picks offsets; AUTOMIGRATE_OOM_ONLY=kind:N
// (kind sqlite or new) runs one fault point verbosely.
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <map>
#include <new>

#include "tests/reliability/faults/harness.h"

// ------------------------------------------------------------ the allocators
namespace {

enum class OomKind { kNone, kSqlite, kNew };

struct OomState {
  OomKind kind = OomKind::kNone;
  int64_t target = 0;
  int64_t calls = 0;
  bool hit = false;
};
OomState g_oom;
std::atomic<int64_t> g_live_new{0};     // operator new blocks not yet deleted
std::atomic<int64_t> g_total_new{0};    // every operator new call
sqlite3_mem_methods g_default_mem;

int64_t g_sqlite_calls = 0;  // every xMalloc/xRealloc
int64_t g_new_calls = 0;     // every operator new

bool OomTick(OomKind kind) {
  ++(kind == OomKind::kSqlite ? g_sqlite_calls : g_new_calls);
  if (g_oom.kind != kind) return false;
  if (++g_oom.calls != g_oom.target) return false;
  g_oom.hit = true;
  return true;
}

void* CountingMalloc(int n) {
  if (OomTick(OomKind::kSqlite)) return nullptr;
  return g_default_mem.xMalloc(n);
}
void* CountingRealloc(void* p, int n) {
  if (OomTick(OomKind::kSqlite)) return nullptr;
  return g_default_mem.xRealloc(p, n);
}

void* NewImpl(std::size_t n, std::size_t align, bool nothrow) {
  ++g_total_new;
  if (OomTick(OomKind::kNew)) {
    if (nothrow) return nullptr;
    throw std::bad_alloc();
  }
  if (n == 0) n = 1;
  void* p = align > alignof(std::max_align_t) ? std::aligned_alloc(align, (n + align - 1) / align * align)
                                              : std::malloc(n);
  if (!p) {
    if (nothrow) return nullptr;
    throw std::bad_alloc();
  }
  ++g_live_new;
  return p;
}
void DeleteImpl(void* p) noexcept {
  if (!p) return;
  --g_live_new;
  std::free(p);
}

}  // namespace

void* operator new(std::size_t n) { return NewImpl(n, 0, false); }
void* operator new[](std::size_t n) { return NewImpl(n, 0, false); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return NewImpl(n, 0, true);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return NewImpl(n, 0, true);
  } catch (...) {
    return nullptr;
  }
}
void* operator new(std::size_t n, std::align_val_t a) {
  return NewImpl(n, static_cast<std::size_t>(a), false);
}
void* operator new[](std::size_t n, std::align_val_t a) {
  return NewImpl(n, static_cast<std::size_t>(a), false);
}
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  try {
    return NewImpl(n, static_cast<std::size_t>(a), true);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  try {
    return NewImpl(n, static_cast<std::size_t>(a), true);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { DeleteImpl(p); }
void operator delete[](void* p) noexcept { DeleteImpl(p); }
void operator delete(void* p, std::size_t) noexcept { DeleteImpl(p); }
void operator delete[](void* p, std::size_t) noexcept { DeleteImpl(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { DeleteImpl(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { DeleteImpl(p); }
void operator delete(void* p, std::align_val_t) noexcept { DeleteImpl(p); }
void operator delete[](void* p, std::align_val_t) noexcept { DeleteImpl(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { DeleteImpl(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { DeleteImpl(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { DeleteImpl(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  DeleteImpl(p);
}

namespace automigrate::reliability {
namespace {

namespace fs = std::filesystem;

constexpr const char* kExtPath = AUTOMIGRATE_EXT_PATH;
// Fault points per allocator at scale 1 (every allocation once the scale
// makes the stride 1).
constexpr double kPointsPerKind = 300;

const char* KindName(OomKind k) { return k == OomKind::kSqlite ? "sqlite" : "new"; }

// The plan: parent rebuilt (NOT NULL with a DEFAULT, a CHECK; its index,
// view and trigger recreated; child references it), a column and an index
// added to child.
constexpr const char* kDesired = R"sql(
CREATE TABLE parent(id INTEGER PRIMARY KEY, name TEXT NOT NULL CHECK (length(name) > 0),
                    score INTEGER NOT NULL DEFAULT 0, note TEXT);
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

// What the armed part of a run saw. Fixed-size: nothing in the armed region
// allocates on the harness's behalf.
struct ArmedResult {
  int stage = -1;  // the statement that failed (-1: none)
  int rc = SQLITE_OK;
  char error[512] = "";
  int64_t new_calls_in_extension = 0;
  int64_t sqlite_calls = 0;  // allocations of each kind in the armed part
  int64_t new_calls = 0;
};

// Runs `sql` with ?1/?2 bound (static text), stepping through every row.
// Returns SQLITE_OK or the extended error code (message into `out`).
int RunArmedStatement(sqlite3* db, const char* sql, const char* p1, const char* p2,
                      ArmedResult* out) {
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &st, nullptr);
  if (rc == SQLITE_OK) {
    if (p1) sqlite3_bind_text(st, 1, p1, -1, SQLITE_STATIC);
    if (p2) sqlite3_bind_text(st, 2, p2, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      for (int i = 0; i < sqlite3_column_count(st); ++i) (void)sqlite3_column_text(st, i);
    }
    if (rc == SQLITE_DONE) rc = SQLITE_OK;
  }
  if (rc != SQLITE_OK) {
    rc = sqlite3_extended_errcode(db) ? sqlite3_extended_errcode(db) : rc;
    std::snprintf(out->error, sizeof out->error, "%s", sqlite3_errmsg(db));
  }
  sqlite3_finalize(st);
  return rc;
}

struct Outcome {
  bool hit = false;
  ArmedResult armed;
  std::string failure;
  bool migrated = false;
};

class Harness {
 public:
  explicit Harness(std::string base) : base_(std::move(base)) {}

  bool Build() {
    template_db_ = base_ + "/template.db";
    Conn c;
    std::string err = Open(&c, template_db_, nullptr, kExtPath);
    if (err.empty()) err = Exec(c.db, kFixtureSql);
    if (!err.empty()) {
      std::cerr << "oom: cannot build the fixture: " << err << "\n";
      return false;
    }
    before_ = DumpUserState(c.db);
    if (c.Close() != SQLITE_OK) return false;
    // Keeps automigrate.so loaded for the whole process: without it every
    // run's last sqlite3_close would unload it, and the next load would run
    // its static initializers inside the armed region.
    std::string anchor_err = Open(&anchor_, ":memory:", nullptr, kExtPath);
    if (!anchor_err.empty()) {
      std::cerr << "oom: " << anchor_err << "\n";
      return false;
    }
    // Warm-up: the fault-free run gives the migrated state, and the
    // baselines are taken after it (lazily built caches, e.g. in libstdc++
    // and SQLite's, exist from then on).
    Outcome o = Run(OomKind::kNone, 0, /*calibrating=*/true);
    if (!o.failure.empty()) {
      std::cerr << "oom: the sequence fails without any fault: " << o.failure << "\n";
      return false;
    }
    o = Run(OomKind::kNone, 0, /*calibrating=*/false);
    if (!o.failure.empty()) {
      std::cerr << "oom: the second fault-free run fails: " << o.failure << "\n";
      return false;
    }
    if (o.armed.new_calls_in_extension == 0) {
      std::cerr << "oom: no operator new call was counted during the extension's calls: the "
                   "replacement does not reach automigrate.so\n";
      return false;
    }
    extension_new_calls_ = o.armed.new_calls_in_extension;
    sqlite_calls_ = o.armed.sqlite_calls;
    new_calls_ = o.armed.new_calls;
    return true;
  }

  int64_t extension_new_calls() const { return extension_new_calls_; }
  // Allocations of `kind` in a fault-free sequence.
  int64_t Calls(OomKind kind) const { return kind == OomKind::kSqlite ? sqlite_calls_ : new_calls_; }

  Outcome Run(OomKind kind, int64_t n, bool calibrating = false) {
    Outcome out;
    auto fail = [&](std::string why) {
      if (out.failure.empty()) out.failure = std::move(why);
    };
    std::string run_dir = base_ + "/run";
    std::error_code ec;
    fs::remove_all(run_dir, ec);
    fs::create_directories(run_dir);
    const std::string db_path = run_dir + "/app.db";
    const std::string options = R"({"backup": "always", "backup_dir": ")" + run_dir + R"(/bk"})";
    if (!CopyFile(template_db_, db_path)) {
      out.failure = "cannot copy the fixture";
      return out;
    }
    const int64_t mem_before = sqlite3_memory_used();
    const int64_t live_before = g_live_new.load();

    {
      Conn c;
      std::string err = Open(&c, db_path, nullptr, kExtPath);
      if (!err.empty()) {
        fail(err);
        return out;
      }
      ArmedResult& a = out.armed;
      // (sql, binds the desired schema, binds the options)
      struct Armed {
        const char* sql;
        bool desired, options;
      };
      const Armed statements[] = {
          {"SELECT count(*) FROM migrate_plan(?1)", true, false},
          {"SELECT migrate_apply(?1, ?2)", true, true},
          {"SELECT * FROM migration_history", false, false},
          {"SELECT * FROM migration_batches", false, false},
          // The JSON results built the core/json_scope.h way.
          {"SELECT migrate_status(?1)", true, false},
          {"SELECT migrate_stats()", false, false},
          {"SELECT migrate_configure('{\"max_execution_time_ms\": 20000}')", false, false},
          {"SELECT migrate_health()", false, false}};
      constexpr int kStatements = static_cast<int>(sizeof statements / sizeof statements[0]);
      const int64_t new_before = g_total_new.load();
      const int64_t sqlite_calls_before = g_sqlite_calls, new_calls_before = g_new_calls;
      g_oom = OomState{kind, n, 0, false};
      for (int i = 0; i < kStatements; ++i) {
        int rc = RunArmedStatement(c.db, statements[i].sql,
                                   statements[i].desired ? kDesired : nullptr,
                                   statements[i].options ? options.c_str() : nullptr, &a);
        if (rc != SQLITE_OK) {
          a.stage = i;
          a.rc = rc;
          break;
        }
      }
      out.hit = g_oom.hit;
      g_oom = OomState{};
      a.sqlite_calls = g_sqlite_calls - sqlite_calls_before;
      a.new_calls = g_new_calls - new_calls_before;
      a.new_calls_in_extension = g_total_new.load() - new_before;
      int rc = c.Close();
      if (rc != SQLITE_OK)
        fail(std::string("sqlite3_close: ") + sqlite3_errstr(rc) + " (a statement leaked)");
    }
    const ArmedResult& a = out.armed;
    if (a.stage >= 0) {
      if (calibrating || !out.hit)
        fail(std::string("failed without reaching the fault: ") + a.error);
      std::string msg = a.error;
      if (msg.empty() || msg == "not an error" || msg.find("internal error") != std::string::npos)
        fail("unclear error message: \"" + msg + "\"");
      // A failed allocation is reported as one (std::bad_alloc included).
      if ((a.rc & 0xff) != SQLITE_NOMEM)
        fail("error code " + std::to_string(a.rc) + " instead of SQLITE_NOMEM: " + msg);
    }
    // No leak: what the run allocated is freed once its connection is closed.
    if (!calibrating) {
      if (sqlite3_memory_used() != mem_before)
        fail("SQLite memory in use " + std::to_string(mem_before) + " -> " +
             std::to_string(sqlite3_memory_used()) + " bytes after the run (a leak)");
      if (g_live_new.load() != live_before)
        fail("live operator new blocks " + std::to_string(live_before) + " -> " +
             std::to_string(g_live_new.load()) + " after the run (a leak)");
    }

    Conn c;
    std::string err = Open(&c, db_path, nullptr, kExtPath);
    if (!err.empty()) {
      fail("reopen: " + err);
      return out;
    }
    std::string ic = QueryOne(c.db, "PRAGMA integrity_check");
    if (ic != "ok") fail("integrity_check: " + ic);
    QueryResult fk = Query(c.db, "PRAGMA foreign_key_check");
    if (!fk.ok() || !fk.rows.empty()) fail("foreign_key_check: " + (fk.ok() ? fk.rows[0] : fk.error));
    std::string dump = DumpUserState(c.db);
    std::string applied =
        QueryOne(c.db, "SELECT count(*) FROM migration_batches WHERE status = 'applied'");
    if (calibrating) after_ = dump;
    bool is_before = dump == before_, is_after = dump == after_;
    out.migrated = is_after;
    if (!is_before && !is_after)
      fail("the database is neither unchanged nor migrated: " + FirstDifference(dump, after_));
    if (a.stage < 0 && !is_after) fail("every call succeeded but the database is not migrated");
    if (is_after && applied != "1") fail("migrated, but " + applied + " applied batches recorded");
    if (is_before && applied != "0" && applied != "")
      fail("unchanged, but " + applied + " applied batches recorded");
    QueryResult backups = Query(c.db, "SELECT path FROM migration_backups WHERE \"exists\" = 1");
    for (const std::string& row : backups.rows) {
      std::string path = row.substr(1, row.size() - 2);
      if (QueryOne(c.db, "SELECT backup_verify(?1) ->> 'ok'", {path}) != "1")
        fail("recorded backup does not verify: " + path);
    }
    if (calibrating) return out;

    // Again without faults.
    QueryResult again = Query(c.db, "SELECT migrate_apply(?1, ?2)", {kDesired, options});
    if (!again.ok()) {
      fail("rerun without faults failed: " + again.error);
    } else if (DumpUserState(c.db) != after_) {
      fail("rerun without faults did not migrate");
    }
    if (c.Close() != SQLITE_OK) fail("check connection: close failed");
    return out;
  }

 private:
  std::string base_;
  std::string template_db_;
  std::string before_, after_;
  Conn anchor_;
  int64_t extension_new_calls_ = 0;
  int64_t sqlite_calls_ = 0, new_calls_ = 0;
};

// One run in a child process, so a crash (std::terminate, a signal) is one
// failed fault point with its reproducer, and the others still run. The
// child reports through a pipe; it leaves with exit(), so under ASan the
// leak checker looks at every run.
struct ChildReport {
  bool hit = false;
  bool migrated = false;
  int stage = -1;
  int rc = 0;
  char error[512] = "";
  char failure[1024] = "";
};

ChildReport RunInProcess(Harness& h, OomKind kind, int64_t n) {
  Outcome o = h.Run(kind, n);
  ChildReport c;
  c.hit = o.hit;
  c.migrated = o.migrated;
  c.stage = o.armed.stage;
  c.rc = o.armed.rc;
  std::snprintf(c.error, sizeof c.error, "%s", o.armed.error);
  std::snprintf(c.failure, sizeof c.failure, "%s", o.failure.c_str());
  return c;
}

ChildReport RunIsolated(Harness& h, OomKind kind, int64_t n) {
  ChildReport rep;
  int fds[2];
  if (pipe(fds) != 0) {
    std::snprintf(rep.failure, sizeof rep.failure, "pipe failed");
    return rep;
  }
  std::cout.flush();
  std::cerr.flush();
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    ChildReport c = RunInProcess(h, kind, n);
    (void)!write(fds[1], &c, sizeof c);
    close(fds[1]);
    std::exit(0);
  }
  close(fds[1]);
  ssize_t got = 0, r = 0;
  char* p = reinterpret_cast<char*>(&rep);
  while (got < static_cast<ssize_t>(sizeof rep) &&
         (r = read(fds[0], p + got, sizeof rep - got)) > 0)
    got += r;
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (got != static_cast<ssize_t>(sizeof rep) || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    rep.hit = true;
    std::snprintf(rep.failure, sizeof rep.failure, "the run died (%s %d)",
                  WIFSIGNALED(status) ? "signal" : "exit status",
                  WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
  }
  return rep;
}

int Main(int argc, char** argv) {
  InstallCrashReporter();
  std::set_terminate([] {
    const char msg[] = "\nFATAL: std::terminate (an exception escaped)";
    (void)!write(2, msg, sizeof msg - 1);
    FatalSignal(SIGABRT);
  });
  const std::string self = argc > 0 ? argv[0] : "automigrate_oom";
  const char* only_env = std::getenv("AUTOMIGRATE_OOM_ONLY");
  std::string only = only_env ? only_env : "";

  // The counting SQLite allocator, before SQLite initializes.
  if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &g_default_mem) != SQLITE_OK) return 1;
  sqlite3_mem_methods counting = g_default_mem;
  counting.xMalloc = CountingMalloc;
  counting.xRealloc = CountingRealloc;
  if (sqlite3_config(SQLITE_CONFIG_MALLOC, &counting) != SQLITE_OK ||
      sqlite3_initialize() != SQLITE_OK) {
    std::cerr << "oom: cannot install the counting allocator\n";
    return 1;
  }

  TempDir tmp("am-oom");
  if (tmp.path().empty()) return 1;
  Harness h(tmp.path());
  if (!h.Build()) return 1;

  auto start = std::chrono::steady_clock::now();
  std::map<OomKind, int64_t> points;
  std::map<OomKind, int64_t> strides;
  std::map<int, int64_t> codes;
  std::map<std::string, int64_t> messages;
  int64_t runs = 0, failures = 0, absorbed = 0, migrated_errors = 0;
  for (OomKind kind : {OomKind::kSqlite, OomKind::kNew}) {
    std::string prefix = std::string(KindName(kind)) + ":";
    if (!only.empty() && only.rfind(prefix, 0) != 0) continue;
    // About kPointsPerKind fault points per allocator at scale 1, spread
    // over the whole sequence.
    Sampling smp = SampleFor(
        std::max(1.0, static_cast<double>(h.Calls(kind)) / kPointsPerKind), HashName(prefix));
    int64_t first = smp.offset + 1, stride = smp.stride;
    strides[kind] = stride;
    if (!only.empty()) {
      first = std::atoll(only.c_str() + prefix.size());
      stride = 0;
    }
    for (int64_t n = first; n < 10000000; n += stride) {
      std::string point = prefix + std::to_string(n);
      SetCurrentRun("AUTOMIGRATE_OOM_ONLY=" + point + " " + self);
      // One point (a reproducer) runs in this process, for a debugger.
      ChildReport o = only.empty() ? RunIsolated(h, kind, n) : RunInProcess(h, kind, n);
      ++runs;
      if (o.hit) ++points[kind];
      if (o.stage >= 0) {
        ++codes[o.rc];
        ++messages[std::to_string(o.stage) + " | " + o.error];
        if (o.migrated) ++migrated_errors;
      } else if (o.hit) {
        ++absorbed;
      }
      if (o.failure[0]) {
        ++failures;
        std::cerr << "FAIL " << point << ": " << o.failure << "\n  statement " << o.stage
                  << " error (" << o.rc << ") " << o.error
                  << "\n  reproduce: AUTOMIGRATE_OOM_ONLY=" << point << " " << self << "\n";
      } else if (!only.empty()) {
        std::cout << point << ": fault " << (o.hit ? "reached" : "not reached") << ", statement "
                  << o.stage << " (" << o.rc << ") " << o.error << ", database "
                  << (o.migrated ? "migrated" : "unchanged") << "\n";
      }
      if (!o.hit || stride == 0) break;
    }
  }
  SetCurrentRun("(after the last run)");
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "oom: " << points[OomKind::kSqlite] + points[OomKind::kNew]
            << " fault points (sqlite malloc " << points[OomKind::kSqlite] << ", operator new "
            << points[OomKind::kNew] << "; " << h.extension_new_calls()
            << " operator new calls per fault-free sequence), " << runs << " runs, " << failures
            << " failures; " << absorbed << " faults absorbed, " << migrated_errors
            << " errors after commit; " << h.Calls(OomKind::kSqlite) << " sqlite and "
            << h.Calls(OomKind::kNew) << " new allocations per sequence, strides "
            << strides[OomKind::kSqlite] << "/" << strides[OomKind::kNew] << "; scale " << Scale()
            << ", seed " << Seed() << ", " << secs << " s\n";
  if (std::getenv("AUTOMIGRATE_RELIABILITY_VERBOSE")) {
    for (auto& [code, k] : codes) std::cout << "  code " << code << ": " << k << "\n";
    for (auto& [msg, k] : messages) std::cout << "  " << k << "x " << msg << "\n";
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace automigrate::reliability

int main(int argc, char** argv) { return automigrate::reliability::Main(argc, argv); }
