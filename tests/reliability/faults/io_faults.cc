// tests/reliability/faults/io_faults.cc -- the I/O-error harness.
//
// For each operation (migrate_apply of a rebuild with a backup, an add-column
// batch, migrate_rollback by SQL and from the backup, backup_create,
// backup_restore), each journal mode (rollback journal "delete", WAL) and
// each fault (the Nth xRead/xWrite/xSync/xTruncate/xLock fails with its
// SQLITE_IOERR_* code, or the Nth xWrite returns SQLITE_FULL), for N = 1, 2,
// ... until the operation completes without reaching the fault:
//   1. copy the scenario's template database into a fresh directory, open it
//      on the fault VFS (registered as the default, so the connections the
//      extension opens itself go through it too), load the real
//      automigrate.so with sqlite3_load_extension, arm the fault, run the
//      operation's SQL, disarm, close;
//   2. the outcome is a result (success) or an SQL error with a message
//      (never a crash; a crash prints the fault point);
//   3. reopen on the plain unix VFS (hot-journal and WAL recovery happen
//      there): integrity_check ok, no foreign-key violations, the user's
//      schema + data identical to before the operation or to a fault-free
//      run of it (success must mean the latter), the history agreeing with
//      that state, recorded backups verifying;
//   4. run the operation again without faults: it succeeds and leaves the
//      fully migrated state.
//
// Scale: AUTOMIGRATE_RELIABILITY_SCALE (default 1) divides the sampling
// stride (below 1: every k-th fault point from a seeded offset; at or above
// the scale where the stride reaches 1, every point).
// AUTOMIGRATE_RELIABILITY_SEED picks the offsets. AUTOMIGRATE_FAULT_ONLY=
// op:mode:kind:N runs one fault point, verbosely (the reproducer printed on
// failure). AUTOMIGRATE_RELIABILITY_VERBOSE=1 lists the error messages seen.
#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <iostream>
#include <map>
#include <set>

#include "tests/reliability/faults/fault_vfs.h"
#include "tests/reliability/faults/harness.h"

namespace automigrate::reliability {
namespace {

namespace fs = std::filesystem;
using Params = std::vector<std::optional<std::string>>;

constexpr const char* kExtPath = AUTOMIGRATE_EXT_PATH;
// Every 4th fault point at scale 1 (about 40 s on the reference machine);
// every point from scale 4 up.
constexpr double kBaseStride = 4.0;

// Rollback journal deleted at commit, truncated at commit (xTruncate), WAL.
enum class Mode { kDelete, kTruncate, kWal };
const char* ModeName(Mode m) {
  return m == Mode::kWal ? "wal" : m == Mode::kTruncate ? "truncate" : "delete";
}

enum class OpKind { kApplyRebuild, kApplyAddColumn, kRollbackSql, kRollbackBackup, kBackupCreate,
                    kBackupRestore };
constexpr OpKind kOps[] = {OpKind::kApplyRebuild,   OpKind::kApplyAddColumn,
                           OpKind::kRollbackSql,    OpKind::kRollbackBackup,
                           OpKind::kBackupCreate,   OpKind::kBackupRestore};

const char* OpName(OpKind k) {
  switch (k) {
    case OpKind::kApplyRebuild: return "apply_rebuild";
    case OpKind::kApplyAddColumn: return "apply_add_column";
    case OpKind::kRollbackSql: return "rollback_sql";
    case OpKind::kRollbackBackup: return "rollback_backup";
    case OpKind::kBackupCreate: return "backup_create";
    case OpKind::kBackupRestore: return "backup_restore";
  }
  return "?";
}
const char* FunctionName(OpKind k) {
  switch (k) {
    case OpKind::kApplyRebuild:
    case OpKind::kApplyAddColumn: return "migrate_apply";
    case OpKind::kRollbackSql:
    case OpKind::kRollbackBackup: return "migrate_rollback";
    case OpKind::kBackupCreate: return "backup_create";
    case OpKind::kBackupRestore: return "backup_restore";
  }
  return "?";
}

std::string Unquote(const std::string& v) {
  if (v.size() >= 2 && v.front() == '\'' && v.back() == '\'') return v.substr(1, v.size() - 2);
  return v;
}

// One (operation, journal mode): its template database and what a
// fault-free run of it leaves.
struct Scenario {
  OpKind op;
  Mode mode;
  std::string name;           // "apply_rebuild:wal"
  std::string template_db;    // copied for every run
  std::string backup_path;    // backup_restore: the backup to restore
  std::string before_dump;    // the user's state before the operation
  std::string after_dump;     // ... and after a fault-free run
  std::string before_history; // "applied=1 rolled_back=0"
  std::string after_history;
};

std::string HistoryCounts(sqlite3* db) {
  QueryResult r = Query(db,
                        "SELECT (SELECT count(*) FROM migration_batches WHERE status = 'applied'), "
                        "(SELECT count(*) FROM migration_batches WHERE status = 'rolled_back')");
  if (!r.ok() || r.rows.empty()) return "ERROR " + r.error;
  std::string row = r.rows[0];
  return "applied=" + row.substr(0, row.find('\t')) +
         " rolled_back=" + row.substr(row.find('\t') + 1);
}

struct RunOutcome {
  FaultState fault;
  QueryResult result;
  std::string failure;  // empty: every check passed
  bool state_after = false;
  bool leftover_backup = false;
};

class Harness {
 public:
  explicit Harness(std::string base) : base_(std::move(base)) {}

  bool BuildScenario(Scenario* s) {
    std::string dir = base_ + "/tpl-" + OpName(s->op) + "-" + ModeName(s->mode);
    fs::create_directories(dir);
    s->template_db = dir + "/app.db";
    Conn c;
    std::string err = Open(&c, s->template_db, RealVfsName(), kExtPath);
    if (err.empty() && s->mode == Mode::kWal) err = Exec(c.db, "PRAGMA journal_mode=WAL");
    if (err.empty()) err = Exec(c.db, kFixtureSql);
    if (err.empty() && (s->op == OpKind::kRollbackSql || s->op == OpKind::kRollbackBackup)) {
      // By SQL: an add-column batch (a rebuild has no rollback SQL). From
      // the backup: a rebuild.
      QueryResult r = Query(c.db, "SELECT migrate_apply(?1, ?2)",
                            {s->op == OpKind::kRollbackSql ? kAddColumnDesired
                                                           : kRebuildCheckDesired,
                             R"({"backup": "always", "backup_dir": ")" + dir + R"(/bk"})"});
      if (!r.ok()) err = "template apply: " + r.error;
    }
    if (err.empty() && s->op == OpKind::kBackupRestore) {
      QueryResult r = Query(c.db, "SELECT backup_create(NULL, ?1)",
                            {R"({"backup_dir": ")" + dir + R"(/bk"})"});
      if (!r.ok()) {
        err = "template backup: " + r.error;
      } else {
        s->backup_path = nlohmann::json::parse(Unquote(r.rows.at(0)))["path"].get<std::string>();
        // Rows written after the backup, which the restore throws away.
        err = Exec(c.db,
                   "UPDATE parent SET note = 'changed', score = 0 WHERE id % 3 = 0;"
                   "DELETE FROM child WHERE id % 5 = 0;"
                   "INSERT INTO parent(name, score) VALUES ('late-1', 1), ('late-2', 2);"
                   // grows the file, so the restore truncates it
                   "INSERT INTO audit(what) SELECT hex(randomblob(3000)) FROM parent "
                   "WHERE id <= 20;");
      }
    }
    if (!err.empty()) {
      std::cerr << "io-faults: cannot build the template for " << s->name << ": " << err << "\n";
      return false;
    }
    s->before_dump = DumpUserState(c.db);
    s->before_history = HistoryCounts(c.db);
    if (c.Close() != SQLITE_OK) return false;
    if (fs::exists(s->template_db + "-wal")) {
      std::cerr << "io-faults: template " << s->template_db << " kept its WAL\n";
      return false;
    }
    // The fault-free run: what "fully migrated" is, and the proof that the
    // operation works at all.
    RunOutcome base = Run(*s, FaultKind::kNone, 0, /*calibrating=*/true);
    if (!base.failure.empty()) {
      std::cerr << "io-faults: " << s->name << " fails without any fault: " << base.failure << "\n";
      return false;
    }
    return true;
  }

  // One run: fault `kind` at call `n` (kNone: no fault).
  RunOutcome Run(Scenario& s, FaultKind kind, int64_t n, bool calibrating = false) {
    RunOutcome out;
    std::string run_dir = base_ + "/run";
    std::error_code ec;
    fs::remove_all(run_dir, ec);
    fs::create_directories(run_dir);
    std::string db_path = run_dir + "/app.db";
    std::string bk_dir = run_dir + "/bk";
    if (!CopyFile(s.template_db, db_path)) {
      out.failure = "cannot copy the template";
      return out;
    }
    auto fail = [&](std::string why) {
      if (out.failure.empty()) out.failure = std::move(why);
    };

    // 1. The operation on the fault VFS.
    std::string sql;
    Params params;
    switch (s.op) {
      case OpKind::kApplyRebuild:
        sql = "SELECT migrate_apply(?1, ?2)";
        params = {kRebuildDesired, R"({"backup": "always", "backup_dir": ")" + bk_dir + R"("})"};
        break;
      case OpKind::kApplyAddColumn:
        sql = "SELECT migrate_apply(?1)";
        params = {kAddColumnDesired};
        break;
      case OpKind::kRollbackSql:
        sql = "SELECT migrate_rollback(?1)";
        params = {R"({"method": "sql"})"};
        break;
      case OpKind::kRollbackBackup:
        sql = "SELECT migrate_rollback(?1)";
        params = {R"({"method": "backup"})"};
        break;
      case OpKind::kBackupCreate:
        sql = "SELECT backup_create(NULL, ?1)";
        params = {R"({"backup_dir": ")" + bk_dir + R"("})"};
        break;
      case OpKind::kBackupRestore:
        sql = "SELECT backup_restore(?1)";
        params = {s.backup_path};
        break;
    }
    {
      Conn c;
      std::string err = Open(&c, db_path, kFaultVfsName, kExtPath);
      // TRUNCATE is a setting of the connection (WAL is kept in the file).
      if (err.empty() && s.mode == Mode::kTruncate) err = Exec(c.db, "PRAGMA journal_mode=TRUNCATE");
      if (!err.empty()) {
        out.failure = err;
        return out;
      }
      ArmFault(kind, n);
      out.result = Query(c.db, sql, params);
      out.fault = DisarmFault();
      int rc = c.Close();
      if (rc != SQLITE_OK) fail("sqlite3_close: " + std::string(sqlite3_errstr(rc)) +
                                " (a statement was left unfinalized)");
    }
    const QueryResult& r = out.result;
    if (calibrating && !r.ok()) {
      fail("error: " + r.error);
      return out;
    }
    if (!r.ok()) {
      // A clear SQL error: a message, not an internal error, an I/O-ish code.
      if (r.error.empty() || r.error == "not an error" || r.error == "unknown error" ||
          r.error.find("internal error") != std::string::npos)
        fail("unclear error message: \"" + r.error + "\"");
      if (!out.fault.hit) fail("failed without reaching the fault: " + r.error);
    } else if (r.rows.size() != 1) {
      fail("expected one result row");
    }

    // 2. Reopen on the plain VFS (recovery happens here) and check.
    Conn c;
    std::string err = Open(&c, db_path, RealVfsName(), kExtPath);
    if (!err.empty()) {
      fail("reopen: " + err);
      return out;
    }
    std::string ic = QueryOne(c.db, "PRAGMA integrity_check");
    if (ic != "ok") fail("integrity_check: " + ic);
    QueryResult fk = Query(c.db, "PRAGMA foreign_key_check");
    if (!fk.ok() || !fk.rows.empty()) fail("foreign_key_check: " + (fk.ok() ? fk.rows[0] : fk.error));
    std::string dump = DumpUserState(c.db);
    std::string history = HistoryCounts(c.db);
    if (calibrating) {
      s.after_dump = dump;
      s.after_history = history;
      if (s.op != OpKind::kBackupCreate && dump == s.before_dump)
        fail("the fault-free run changed nothing");
    }
    bool is_before = dump == s.before_dump, is_after = dump == s.after_dump;
    out.state_after = is_after && !is_before;
    if (!is_before && !is_after) {
      fail("the database is neither unchanged nor fully migrated: " +
           FirstDifference(dump, s.after_dump));
    } else if (r.ok() && !is_after) {
      fail("the operation reported success but the database is not migrated");
    }
    // What the error says about the database is what happened to it: "nothing
    // was changed" only when it is unchanged, "was committed" only when the
    // change is there; an operation that committed despite the error says so.
    // Every backup restored here is valid, so "failed verification" would
    // call a read error a corrupt backup.
    if (!r.ok()) {
      const bool says_unchanged = r.error.find("nothing was changed") != std::string::npos ||
                                  r.error.find("Nothing was changed") != std::string::npos;
      const bool says_committed = r.error.find("was committed") != std::string::npos;
      const bool restores = s.op == OpKind::kBackupRestore || s.op == OpKind::kRollbackBackup;
      if (says_unchanged && !is_before)
        fail("the error says nothing was changed, but the database changed: " + r.error);
      if (says_committed && !is_after)
        fail("the error says the change was committed, but it is not there: " + r.error);
      if (is_after && !is_before && !says_committed)
        fail("the operation committed, but the error does not say so: " + r.error);
      if (restores && r.error.find("failed verification") != std::string::npos)
        fail("a valid backup was reported as failing verification: " + r.error);
    }
    // A restore never leaves its scratch copy behind.
    for (const auto& e : fs::directory_iterator(run_dir))
      if (e.path().filename().string().find(".automigrate-restore-") != std::string::npos)
        fail("scratch file left beside the database: " + e.path().string());
    // History: the batches agree with the state (failed batches may be added).
    if (is_after && history != s.after_history)
      fail("history " + history + " but the migrated state needs " + s.after_history);
    if (is_before && !is_after && history != s.before_history)
      fail("history " + history + " but the unchanged state needs " + s.before_history);
    std::string health = QueryOne(c.db, "SELECT migrate_health()");
    try {
      auto j = nlohmann::json::parse(health);
      for (const auto& check : j.at("checks")) {
        std::string name = check.at("name").get<std::string>();
        if (name == "history_consistency" && check.at("ok") == false)
          fail("migrate_health history_consistency: " + check.at("detail").get<std::string>());
        if (name == "integrity" && check.at("ok") == false)
          fail("migrate_health integrity: " + check.at("detail").get<std::string>());
      }
    } catch (const std::exception& e) {
      fail(std::string("migrate_health: ") + e.what() + ": " + health);
    }
    // Recorded backups (of this run) must be complete; a reported one must exist.
    QueryResult backups = Query(c.db, "SELECT path FROM migration_backups WHERE \"exists\" = 1");
    if (!backups.ok()) fail("migration_backups: " + backups.error);
    for (const std::string& row : backups.rows) {
      std::string path = Unquote(row);
      if (path.rfind(run_dir, 0) != 0) continue;
      std::string v = QueryOne(c.db, "SELECT backup_verify(?1) ->> 'ok'", {path});
      if (v != "1") fail("recorded backup does not verify: " + path);
    }
    if (r.ok() && (s.op == OpKind::kApplyRebuild || s.op == OpKind::kBackupCreate)) {
      std::string path;
      try {
        auto j = nlohmann::json::parse(Unquote(r.rows.at(0)));
        const auto& b = s.op == OpKind::kApplyRebuild ? j.at("backup") : j;
        path = b.at("path").get<std::string>();
        // A backup it could not record is reported so: id null and a note.
        if (s.op == OpKind::kBackupCreate && j.at("id").is_null() && !j.contains("note"))
          fail("backup_create: id null without a note");
        if (s.op == OpKind::kBackupCreate && j.at("id").is_null()) out.leftover_backup = true;
      } catch (const std::exception& e) {
        fail(std::string("result JSON: ") + e.what());
      }
      if (!path.empty() && QueryOne(c.db, "SELECT backup_verify(?1) ->> 'ok'", {path}) != "1")
        fail("the backup the result names does not verify: " + path);
    }
    if (fs::exists(bk_dir)) {
      std::set<std::string> recorded;
      for (const std::string& row : backups.rows) recorded.insert(Unquote(row));
      for (const auto& e : fs::directory_iterator(bk_dir)) {
        std::string p = e.path().string();
        if (p.size() > 5 && p.substr(p.size() - 5) == ".json") continue;
        if (!recorded.count(p)) out.leftover_backup = true;
        // backup_create reports a backup it could not record (a read-only
        // database) with id null and a note; an error must leave nothing.
        if (!recorded.count(p) && !r.ok() && s.op == OpKind::kBackupCreate)
          fail("backup_create failed but left " + p);
      }
    }
    if (c.Close() != SQLITE_OK) fail("check connection: close failed");
    if (calibrating) return out;

    // 3. Again without faults: completes, and leaves the migrated state.
    bool rerun = true;
    if ((s.op == OpKind::kRollbackSql || s.op == OpKind::kRollbackBackup) && is_after)
      rerun = false;  // a second rollback would undo the batch before
    if (rerun) {
      Conn w;
      err = Open(&w, db_path, kFaultVfsName, kExtPath);
      if (err.empty() && s.mode == Mode::kTruncate) err = Exec(w.db, "PRAGMA journal_mode=TRUNCATE");
      if (!err.empty()) {
        fail("rerun open: " + err);
        return out;
      }
      if (s.op == OpKind::kApplyRebuild || s.op == OpKind::kBackupCreate)
        fs::remove_all(bk_dir, ec);  // a fresh backup directory (names are per millisecond)
      QueryResult again = Query(w.db, sql, params);
      if (!again.ok()) {
        fail("rerun without faults failed: " + again.error);
      } else {
        std::string d = DumpUserState(w.db);
        if (d != s.after_dump) fail("rerun did not migrate: " + FirstDifference(d, s.after_dump));
        if (s.op == OpKind::kApplyRebuild || s.op == OpKind::kApplyAddColumn) {
          std::string desired = s.op == OpKind::kApplyRebuild ? kRebuildDesired : kAddColumnDesired;
          if (QueryOne(w.db, "SELECT migrate_status(?1) ->> 'migration_needed'", {desired}) != "0")
            fail("after the rerun migrate_status still needs a migration");
        }
      }
      if (w.Close() != SQLITE_OK) fail("rerun: close failed");
    }
    return out;
  }

 private:
  std::string base_;
};

struct Totals {
  std::map<FaultKind, int64_t> points;
  int64_t runs = 0;
  int64_t failures = 0;
  int64_t errors = 0;          // runs that ended in an SQL error
  int64_t after_commit = 0;    // errors whose database was nevertheless migrated
  int64_t absorbed = 0;        // fault reached, the operation still succeeded
  int64_t leftover_backups = 0;
  std::map<std::string, int64_t> messages;
  std::map<int, int64_t> codes;
  std::map<std::string, int64_t> leftover_by_point;
  std::vector<std::string> after_commit_points;
};

std::string Normalize(std::string msg) {
  // Paths and numbers vary between runs.
  std::string out;
  for (size_t i = 0; i < msg.size(); ++i) {
    if (msg[i] == '/' && (i == 0 || msg[i - 1] == ' ' || msg[i - 1] == ':')) {
      while (i < msg.size() && msg[i] != ' ' && msg[i] != ':' && msg[i] != ',') ++i;
      out += "<path>";
      if (i < msg.size()) out += msg[i];
    } else if (std::isdigit(static_cast<unsigned char>(msg[i]))) {
      while (i + 1 < msg.size() && std::isdigit(static_cast<unsigned char>(msg[i + 1]))) ++i;
      out += '#';
    } else {
      out += msg[i];
    }
  }
  return out;
}

int Main(int argc, char** argv) {
  InstallCrashReporter();
  const bool verbose = std::getenv("AUTOMIGRATE_RELIABILITY_VERBOSE") != nullptr;
  const char* only_env = std::getenv("AUTOMIGRATE_FAULT_ONLY");
  std::string only = only_env ? only_env : "";
  const std::string self = argc > 0 ? argv[0] : "automigrate_io_faults";

  if (RegisterFaultVfs(/*make_default=*/true) != SQLITE_OK) {
    std::cerr << "io-faults: cannot register the fault VFS\n";
    return 1;
  }
  TempDir tmp("am-io-faults");
  if (tmp.path().empty()) {
    std::cerr << "io-faults: cannot create a temporary directory\n";
    return 1;
  }
  Harness h(tmp.path());
  // Keeps automigrate.so loaded: otherwise each run's last sqlite3_close
  // unloads it and the next run loads it again.
  Conn anchor;
  if (std::string err = Open(&anchor, ":memory:", RealVfsName(), kExtPath); !err.empty()) {
    std::cerr << "io-faults: " << err << "\n";
    return 1;
  }
  Totals t;
  auto start = std::chrono::steady_clock::now();

  for (OpKind op : kOps) {
    for (Mode mode : {Mode::kDelete, Mode::kTruncate, Mode::kWal}) {
      Scenario s{op, mode, std::string(OpName(op)) + ":" + ModeName(mode)};
      if (!only.empty() && only.rfind(s.name, 0) != 0 && s.name.rfind(only, 0) != 0) continue;
      if (!h.BuildScenario(&s)) {
        ++t.failures;
        continue;
      }
      for (FaultKind kind : kFaultKinds) {
        std::string prefix = s.name + ":" + FaultName(kind) + ":";
        // AUTOMIGRATE_FAULT_ONLY: a prefix of op:mode:kind: selects
        // scenarios; op:mode:kind:N one fault point.
        if (!only.empty() && only.rfind(prefix, 0) != 0 && prefix.rfind(only, 0) != 0) continue;
        Sampling smp = SampleFor(kBaseStride, HashName(prefix));
        int64_t first = smp.offset + 1, stride = smp.stride;
        if (only.size() > prefix.size()) {
          first = std::atoll(only.c_str() + prefix.size());
          stride = 0;
        }
        for (int64_t n = first; n < 1000000; n += stride) {
          std::string point = prefix + std::to_string(n);
          SetCurrentRun("AUTOMIGRATE_FAULT_ONLY=" + point + " " + self);
          RunOutcome o = h.Run(s, kind, n);
          ++t.runs;
          if (o.fault.hit) ++t.points[kind];
          if (!o.result.ok()) {
            ++t.errors;
            ++t.messages[std::string(FunctionName(op)) + " | " + Normalize(o.result.error)];
            ++t.codes[o.result.rc];
            if (o.state_after) {
              ++t.after_commit;
              t.after_commit_points.push_back(point + ": " + o.result.error);
            }
          } else if (o.fault.hit) {
            ++t.absorbed;
          }
          if (o.leftover_backup) {
            ++t.leftover_backups;
            ++t.leftover_by_point[s.name + ":" + FaultName(kind)];
          }
          if (!o.failure.empty()) {
            ++t.failures;
            std::cerr << "FAIL " << point << ": " << o.failure
                      << "\n  operation result: " << (o.result.ok() ? "ok" : "error")
                      << (o.result.ok() ? "" : " (" + std::to_string(o.result.rc) + ") " +
                                                   o.result.error)
                      << "\n  reproduce: AUTOMIGRATE_FAULT_ONLY=" << point << " " << self
                      << "\n";
          } else if (stride == 0) {
            std::cout << point << ": fault " << (o.fault.hit ? "reached" : "not reached") << ", "
                      << (o.result.ok() ? "ok " + (o.result.rows.empty() ? "" : o.result.rows[0])
                                        : "error (" + std::to_string(o.result.rc) + ") " +
                                              o.result.error)
                      << ", database " << (o.state_after ? "migrated" : "unchanged") << "\n";
          }
          if (!o.fault.hit || stride == 0) break;  // completed without the fault
        }
      }
    }
  }
  SetCurrentRun("(after the last run)");
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  int64_t total = 0;
  for (auto& [k, v] : t.points) total += v;
  std::cout << "io-faults: " << total << " fault points (";
  bool first_kind = true;
  for (FaultKind kind : kFaultKinds) {
    std::cout << (first_kind ? "" : ", ") << FaultName(kind) << " " << t.points[kind];
    first_kind = false;
  }
  std::cout << "), " << t.runs << " runs, " << t.failures << " failures; " << t.errors
            << " SQL errors (" << t.after_commit << " after commit), " << t.absorbed
            << " faults absorbed, " << t.leftover_backups
            << " runs left an unrecorded backup file; scale " << Scale() << ", seed " << Seed()
            << ", stride " << SampleFor(kBaseStride, 0).stride << ", " << secs << " s\n";
  if (verbose) {
    for (auto& [code, n] : t.codes) std::cout << "  code " << code << ": " << n << "\n";
    for (auto& [msg, n] : t.messages) std::cout << "  " << n << "x " << msg << "\n";
    for (const std::string& p : t.after_commit_points)
      std::cout << "  error, but the operation had committed: " << p << "\n";
    for (auto& [p, n] : t.leftover_by_point)
      std::cout << "  unrecorded backup file left: " << n << "x " << p << "\n";
  }
  return t.failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace automigrate::reliability

int main(int argc, char** argv) { return automigrate::reliability::Main(argc, argv); }
