// tests/reliability/crash/crash_harness.cc -- kills a process with SIGKILL in
// the middle of migrate_apply, backup_create and backup_restore, then checks
// with a fresh connection what shared/DESIGN.md promises ("Atomic": on a
// crash the database is exactly as before; "Never half a backup").
//
// The child is this binary re-executed ("child-apply" etc.): it opens the
// database with the system libsqlite3, loads the built extension with
// sqlite3_load_extension and calls the SQL function, as an application does.
// The parent sleeps a seeded random delay, uniform over [0, 1.2 x the
// measured duration of an uninterrupted child], and kills it.
//
// The database: accounts (100k rows at scale 1, a TEXT column `balance` that
// becomes INTEGER: a rebuild), 2 indexes on it, orders (an FK child with its
// own index), a view and a trigger on accounts. After each kill:
//   - PRAGMA integrity_check is ok;
//   - the user's schema (sqlite_schema rows, the extension's own tables
//     excluded) is exactly the old or exactly the new one;
//   - the rows of both tables are exactly the old ones, or exactly the old
//     ones as INTEGER affinity converts them (computed by SQLite in a temp
//     table, not by the extension), matching the schema;
//   - history: an applied batch exists iff the schema is the new one, and
//     then exactly one, with every step applied and its backup recorded and
//     verifiable; with the old schema no batch is recorded at all (a killed
//     process cannot record its failure);
//   - every backup file left in the backup folder with a sidecar verifies,
//     every one without a sidecar (a copy cut short) does not, and every
//     backup recorded in migration_backups whose file exists verifies;
//   - a later migrate_apply succeeds (nothing to do when the schema is new)
//     and lands the new schema and rows.
// backup_create: the database is untouched, a leftover file is complete and
// verifies or has no sidecar and does not; a later backup_create works.
// inplace: the same kills and checks for migrate_apply of kInPlaceSchema (only
// alter_table_in_place steps; no backup under "auto"; rows never change).
// backup_restore: the user's tables are exactly the pre-restore ones or
// exactly the backup's, integrity ok, the restore batch recorded iff
// restored; a later backup_restore lands the backup's content.
//
// Usage: automigrate_crash [--seed N] [--only apply|backup|restore|inplace]
//                          [--mode wal|delete] [--delay-us N] [--rows N]
//   --delay-us replays one kill point (with --only and --mode): the
//   reproducer printed on a failure.
//   --control kills, instead of migrate_apply, the same steps (migrate_script)
//   run without a transaction, and succeeds only if that is caught: proof
//   that the checks can fail.
// Environment: AUTOMIGRATE_RELIABILITY_SCALE (counts), AUTOMIGRATE_EXT_PATH
// (the extension, default the one built beside this harness),
// AUTOMIGRATE_RELIABILITY_TMPDIR (default /dev/shm, see harness_util.h),
// AUTOMIGRATE_RELIABILITY_KEEP (keep the temporary folder),
// AUTOMIGRATE_RELIABILITY_JOBS (kill points run at once, default 2; each has
// its own files), AUTOMIGRATE_CRASH_SEED (instead of a random seed).
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "harness_util.h"

namespace automigrate::reliability {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::string_view kOldSchema = R"sql(
CREATE TABLE accounts(id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT, balance TEXT,
                      created TEXT);
CREATE INDEX accounts_email ON accounts(email);
CREATE INDEX accounts_created ON accounts(created);
CREATE TABLE orders(id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES accounts(id),
                    item TEXT, qty INTEGER);
CREATE INDEX orders_account ON orders(account_id);
CREATE VIEW account_totals AS
  SELECT a.id, a.email, count(o.id) AS n FROM accounts a LEFT JOIN orders o ON o.account_id = a.id
  GROUP BY a.id;
CREATE TRIGGER accounts_touch AFTER UPDATE OF email ON accounts
BEGIN UPDATE accounts SET created = 'touched' WHERE id = new.id; END;
)sql";

// balance TEXT -> INTEGER: a rebuild of a table with dependants (COMPLEX),
// not destructive, backed up under backup "auto".
constexpr std::string_view kNewSchema = R"sql(
CREATE TABLE accounts(id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT, balance INTEGER,
                      created TEXT);
CREATE INDEX accounts_email ON accounts(email);
CREATE INDEX accounts_created ON accounts(created);
CREATE TABLE orders(id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES accounts(id),
                    item TEXT, qty INTEGER);
CREATE INDEX orders_account ON orders(account_id);
CREATE VIEW account_totals AS
  SELECT a.id, a.email, count(o.id) AS n FROM accounts a LEFT JOIN orders o ON o.account_id = a.id
  GROUP BY a.id;
CREATE TRIGGER accounts_touch AFTER UPDATE OF email ON accounts
BEGIN UPDATE accounts SET created = 'touched' WHERE id = new.id; END;
)sql";

// The same database changed only in ways an alter_table_in_place step takes
// (no row is rewritten): accounts drops NOT NULL on email, retypes name with
// the same affinity and gives created a DEFAULT (a column that may have been
// added by ADD COLUMN: the step first writes the old DEFAULT, NULL, into rows
// that lack it, so it scans the table); orders drops its FOREIGN KEY.
constexpr std::string_view kInPlaceSchema = R"sql(
CREATE TABLE accounts(id INTEGER PRIMARY KEY, email TEXT, name VARCHAR(200), balance TEXT,
                      created TEXT DEFAULT 'unknown');
CREATE INDEX accounts_email ON accounts(email);
CREATE INDEX accounts_created ON accounts(created);
CREATE TABLE orders(id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL,
                    item TEXT, qty INTEGER);
CREATE INDEX orders_account ON orders(account_id);
CREATE VIEW account_totals AS
  SELECT a.id, a.email, count(o.id) AS n FROM accounts a LEFT JOIN orders o ON o.account_id = a.id
  GROUP BY a.id;
CREATE TRIGGER accounts_touch AFTER UPDATE OF email ON accounts
BEGIN UPDATE accounts SET created = 'touched' WHERE id = new.id; END;
)sql";

// Rows: balances are integers as text, with some that INTEGER affinity keeps
// as text ('n/a'), turns into REAL ('12.5') or reads as a number ('007').
constexpr std::string_view kSeedSql = R"sql(
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < CAST(?1 AS INTEGER))
INSERT INTO accounts(id, email, name, balance, created)
SELECT i, 'user' || i || '@example.com', 'name ' || hex(randomblob(6)),
       CASE WHEN i % 97 = 0 THEN 'n/a' WHEN i % 89 = 0 THEN '12.5' WHEN i % 83 = 0 THEN '007'
            WHEN i % 79 = 0 THEN NULL ELSE CAST(abs(random() % 100000) AS TEXT) END,
       '2026-01-' || (1 + i % 28)
FROM c;
)sql";
constexpr std::string_view kSeedOrdersSql = R"sql(
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < CAST(?1 AS INTEGER) / 3)
INSERT INTO orders(id, account_id, item, qty)
SELECT i, 1 + (i * 7) % CAST(?1 AS INTEGER), 'item ' || (i % 500), i % 9 FROM c;
)sql";

constexpr std::string_view kAccountsRows = "SELECT * FROM accounts ORDER BY id";
constexpr std::string_view kOrdersRows = "SELECT * FROM orders ORDER BY id";

struct Config {
  std::string ext_path;
  uint64_t seed = 0;
  std::string only;       // "" = every scenario
  std::string mode;       // "" = both
  int64_t delay_us = -1;  // >= 0: replay one kill point
  int rows = 100000;
  bool control = false;  // --control: kill a non-atomic migration instead
};

// What a database state looks like from the outside.
struct State {
  std::string schema;    // SchemaDump
  std::string accounts;  // HashQuery of the rows
  std::string orders;
};

struct Failure {
  std::string scenario, mode;
  int point = 0;
  int64_t delay_us = 0;
  std::string what;
};

class Harness {
 public:
  explicit Harness(Config config) : config_(std::move(config)) {}
  int Run();

 private:
  bool Prepare(const std::string& mode);
  // `scenario` "apply" (kNewSchema, a rebuild) or "inplace" (kInPlaceSchema).
  bool RunApply(const std::string& mode, int points);
  // Which desired schema Prepare and RunApply use.
  void UseScenario(const std::string& scenario) {
    scenario_ = scenario;
    desired_ = scenario == "inplace" ? kInPlaceSchema : kNewSchema;
  }
  bool RunBackup(const std::string& mode, int points);
  bool RunRestore(const std::string& mode, int points);

  // Starts the child and kills it after `delay_us`; returns true when the
  // child had already finished (exit code in *exit_code).
  bool KillAfter(const std::vector<std::string>& args, int64_t delay_us, const std::string& log,
                 int* exit_code);
  // Runs the child to completion, returns its wall time in µs (-1 on failure).
  int64_t Measure(const std::vector<std::string>& args, const std::string& log);

  bool ReadState(sqlite3* db, State* s, std::string* error);
  std::string CheckBackupFolder(sqlite3* ext_db, const std::string& dir, int* partial,
                                int* complete);
  std::string CheckBackupRecords(sqlite3* ext_db);
  DbPtr OpenWithExtension(const std::string& path, std::string* error);
  std::string WorkerLog(int w) const {
    return tmp_->path() + "/child-w" + std::to_string(w) + ".log";
  }

  void Fail(const std::string& scenario, const std::string& mode, int point, int64_t delay_us,
            const std::string& what);
  // The kill delays of `points` points, drawn in order from the seeded
  // generator (or the one replayed with --delay-us).
  std::vector<int64_t> Delays(int points, int64_t max_us) {
    std::vector<int64_t> out;
    std::uniform_int_distribution<int64_t> d(0, max_us);
    for (int i = 0; i < points; ++i)
      out.push_back(config_.delay_us >= 0 ? config_.delay_us : d(rng_));
    return out;
  }
  // Runs body(worker, point) for every point on jobs_ threads; worker w uses
  // files of its own. Returns the outcome words the bodies gave.
  template <typename Body>
  std::vector<std::string> ForPoints(int points, Body body) {
    std::vector<std::string> outcomes(points);
    std::mutex m;
    int next = 0;
    std::vector<std::thread> threads;
    for (int w = 0; w < jobs_; ++w)
      threads.emplace_back([&, w] {
        for (;;) {
          int point;
          {
            std::lock_guard<std::mutex> lock(m);
            if (next >= points) return;
            point = next++;
          }
          try {
            outcomes[point] = body(w, point);
          } catch (const std::exception& e) {
            outcomes[point] = std::string("exception: ") + e.what();
          }
        }
      });
    for (std::thread& t : threads) t.join();
    return outcomes;
  }
  // Wall time of the child run to completion on every worker at once (the
  // load the kill points see); `prepare(w)` readies worker w's files.
  int64_t MeasureParallel(const std::function<std::vector<std::string>(int)>& args,
                          const std::function<void(int)>& prepare, const std::string& scenario,
                          const std::string& mode);
  static std::string Tally(const std::vector<std::string>& outcomes) {
    std::map<std::string, int> n;
    for (const std::string& o : outcomes) ++n[o];
    std::string out;
    for (const auto& [k, v] : n) out += (out.empty() ? "" : ", ") + k + " " + std::to_string(v);
    return out;
  }

  Config config_;
  std::string scenario_ = "apply";
  std::string_view desired_ = kNewSchema;
  int jobs_ = 2;
  std::mutex fail_mutex_;
  std::mt19937_64 rng_;
  std::unique_ptr<TempDir> tmp_;
  std::string template_path_;  // old schema + rows, in the mode being run
  State old_, new_;            // expected states (new_.schema from the calibration run)
  std::string desired_path_;
  std::vector<Failure> failures_;
  std::vector<std::string> summary_;
};

void Harness::Fail(const std::string& scenario, const std::string& mode, int point,
                   int64_t delay_us, const std::string& what) {
  std::lock_guard<std::mutex> lock(fail_mutex_);
  failures_.push_back({scenario, mode, point, delay_us, what});
  std::fprintf(stderr,
               "FAIL crash/%s mode=%s point=%d delay_us=%" PRId64
               ": %s\n"
               "  reproduce: %s --seed %" PRIu64 " --only %s --mode %s --delay-us %" PRId64
               " --rows %d\n",
               scenario.c_str(), mode.c_str(), point, delay_us, what.c_str(), SelfExe().c_str(),
               config_.seed, scenario.c_str(), mode.c_str(), delay_us, config_.rows);
}

DbPtr Harness::OpenWithExtension(const std::string& path, std::string* error) {
  DbPtr db = Open(path, error, SQLITE_OPEN_READWRITE);
  if (!db) return nullptr;
  sqlite3_busy_timeout(db.get(), 5000);
  if (!LoadExtension(db.get(), config_.ext_path, error)) return nullptr;
  return db;
}

bool Harness::ReadState(sqlite3* db, State* s, std::string* error) {
  return SchemaDump(db, &s->schema, error) &&
         HashQuery(db, kAccountsRows, &s->accounts, nullptr, error) &&
         HashQuery(db, kOrdersRows, &s->orders, nullptr, error);
}

int64_t Harness::Measure(const std::vector<std::string>& args, const std::string& log) {
  double start = NowMs();
  pid_t pid = Spawn(args, log);
  if (pid < 0) return -1;
  int code = WaitChild(pid);
  if (code != 0) return -1;
  return static_cast<int64_t>((NowMs() - start) * 1000);
}

bool Harness::KillAfter(const std::vector<std::string>& args, int64_t delay_us,
                        const std::string& log, int* exit_code) {
  pid_t pid = Spawn(args, log);
  if (pid < 0) {
    *exit_code = -1;
    return true;
  }
  timespec ts{static_cast<time_t>(delay_us / 1000000),
              static_cast<long>(delay_us % 1000000) * 1000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
  int status = 0;
  pid_t done = ::waitpid(pid, &status, WNOHANG);
  if (done == pid) {
    *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return true;
  }
  ::kill(pid, SIGKILL);
  *exit_code = WaitChild(pid);
  // The child may have exited between waitpid and kill.
  return *exit_code != 128 + SIGKILL;
}

// Template database in `mode` with the old schema and the seeded rows, and
// the expected old and new states.
bool Harness::Prepare(const std::string& mode) {
  template_path_ = tmp_->path() + "/template-" + mode + ".db";
  fs::remove(template_path_);
  std::string error;
  {
    DbPtr db = Open(template_path_, &error);
    if (!db) return std::fprintf(stderr, "crash: %s\n", error.c_str()), false;
    std::string rows = std::to_string(config_.rows);
    Rows ignored;
    bool ok = Exec(db.get(), std::string("PRAGMA journal_mode=") + mode, &error) &&
              Exec(db.get(), "BEGIN", &error) && Exec(db.get(), kOldSchema, &error) &&
              Query(db.get(), kSeedSql, {rows}, &ignored, &error) &&
              Query(db.get(), kSeedOrdersSql, {rows}, &ignored, &error) &&
              Exec(db.get(), "COMMIT", &error) && ReadState(db.get(), &old_, &error);
    // The new rows as SQLite's INTEGER affinity converts them, computed
    // without the extension; an in-place change keeps every row as it is.
    if (scenario_ == "inplace") new_.accounts = old_.accounts;
    ok = ok && (scenario_ == "inplace" ||
         (Exec(db.get(),
              "CREATE TEMP TABLE expect_accounts(id INTEGER PRIMARY KEY, email TEXT NOT NULL, "
              "name TEXT, balance INTEGER, created TEXT);"
              "INSERT INTO expect_accounts SELECT * FROM accounts;",
              &error) &&
         HashQuery(db.get(), "SELECT * FROM expect_accounts ORDER BY id", &new_.accounts, nullptr,
                   &error) &&
         Exec(db.get(), "DROP TABLE temp.expect_accounts", &error)));
    new_.orders = old_.orders;
    std::string journal;
    ok = ok && QueryOne(db.get(), "PRAGMA journal_mode", {}, &journal, &error);
    if (ok && journal != mode) error = "journal_mode is " + journal + ", not " + mode, ok = false;
    if (!ok) return std::fprintf(stderr, "crash: template: %s\n", error.c_str()), false;
  }
  desired_path_ = tmp_->path() + "/desired.sql";
  if (!WriteFile(desired_path_, desired_)) return false;
  // The new schema as migrate_apply leaves it: a calibration apply on a copy.
  std::string calib = tmp_->path() + "/calib-" + mode + ".db";
  fs::remove_all(calib + ".backups");
  fs::copy_file(template_path_, calib, fs::copy_options::overwrite_existing);
  DbPtr db = OpenWithExtension(calib, &error);
  std::string result;
  if (!db ||
      !QueryOne(db.get(), "SELECT migrate_apply(?1)", {std::string(desired_)}, &result, &error)) {
    std::fprintf(stderr, "crash: calibration apply (%s): %s\n", mode.c_str(), error.c_str());
    return false;
  }
  State got;
  if (!ReadState(db.get(), &got, &error)) return false;
  if (got.accounts != new_.accounts || got.orders != new_.orders) {
    Fail(scenario_, mode, -1, 0, "an uninterrupted migrate_apply changed the rows");
    return false;
  }
  const std::string marker = scenario_ == "inplace" ? "name VARCHAR(200)" : "balance INTEGER";
  if (got.schema == old_.schema || got.schema.find(marker) == std::string::npos) {
    Fail(scenario_, mode, -1, 0, "an uninterrupted migrate_apply did not land the new schema");
    return false;
  }
  if (scenario_ == "inplace") {
    // The phase is only worth its time if the plan really is in place.
    std::string ops;
    if (!QueryOne(db.get(), "SELECT group_concat(DISTINCT op) FROM migration_history", {}, &ops,
                  &error) ||
        ops.find("alter_table_in_place") == std::string::npos ||
        ops.find("rebuild_table") != std::string::npos) {
      Fail(scenario_, mode, -1, 0, "the in-place plan ran " + ops + " " + error);
      return false;
    }
  }
  new_.schema = got.schema;
  return true;
}

// Checks every backup file in `dir`: with a sidecar it must verify, without
// one it must not. Returns "" or what is wrong.
std::string Harness::CheckBackupFolder(sqlite3* ext_db, const std::string& dir, int* partial,
                                       int* complete) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return "";
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string p = entry.path().string();
    if (entry.path().extension() != ".db") continue;
    bool sidecar = fs::exists(p + ".json", ec);
    std::string out, error;
    if (!QueryOne(ext_db, "SELECT backup_verify(?1)", {p}, &out, &error))
      return "backup_verify(" + p + ") errored: " + error;
    json v = json::parse(out, nullptr, false);
    if (v.is_discarded() || !v.contains("ok")) return "backup_verify returned " + out;
    bool ok = v["ok"].get<bool>();
    if (sidecar && !ok) return "a backup with its sidecar does not verify: " + out;
    if (!sidecar && ok) return "a backup without a sidecar verifies: " + out;
    ++*(ok ? complete : partial);
  }
  return "";
}

// Every recorded backup whose file exists verifies.
std::string Harness::CheckBackupRecords(sqlite3* ext_db) {
  Rows rows;
  std::string error;
  if (!Query(ext_db, "SELECT path FROM migration_backups WHERE \"exists\"", &rows, &error))
    return "migration_backups: " + error;
  for (const Row& r : rows) {
    std::string out;
    if (!QueryOne(ext_db, "SELECT json_extract(backup_verify(?1), '$.ok')", {r[0]}, &out, &error))
      return "backup_verify: " + error;
    if (out != "1") return "migration_backups lists " + r[0] + " but it does not verify";
  }
  return "";
}

int64_t Harness::MeasureParallel(const std::function<std::vector<std::string>(int)>& args,
                                 const std::function<void(int)>& prepare,
                                 const std::string& scenario, const std::string& mode) {
  int64_t duration = 0;
  for (int round = 0; round < 2; ++round) {
    std::vector<int64_t> d(jobs_, -1);
    std::vector<std::thread> threads;
    for (int w = 0; w < jobs_; ++w) prepare(w);
    for (int w = 0; w < jobs_; ++w)
      threads.emplace_back([&, w] { d[w] = Measure(args(w), WorkerLog(w)); });
    for (std::thread& t : threads) t.join();
    for (int w = 0; w < jobs_; ++w) {
      if (d[w] < 0) {
        Fail(scenario, mode, -1, 0, "the uninterrupted child failed: " + ReadFile(WorkerLog(w)));
        return -1;
      }
      duration = std::max(duration, d[w]);
    }
  }
  return duration;
}

// Removes the database at `db_path` (with its journal, WAL and backups) and
// copies `from` there.
void FreshCopy(const std::string& from, const std::string& db_path) {
  for (const char* suffix : {"", "-journal", "-wal", "-shm"}) fs::remove(db_path + suffix);
  fs::remove_all(db_path + ".backups");
  fs::copy_file(from, db_path);
}

bool Harness::RunApply(const std::string& mode, int points) {
  auto db_path = [&](int w) {
    return tmp_->path() + "/" + scenario_ + "-" + mode + "-w" + std::to_string(w) + ".db";
  };
  auto args = [&](int w) {
    return std::vector<std::string>{SelfExe(), config_.control ? "child-nonatomic" : "child-apply",
                                    db_path(w), desired_path_, config_.ext_path};
  };
  const int64_t duration = MeasureParallel(
      args, [&](int w) { FreshCopy(template_path_, db_path(w)); }, scenario_, mode);
  if (duration < 0) return false;
  const int64_t max_delay = duration * 12 / 10;
  const std::vector<int64_t> delays = Delays(points, max_delay);
  std::atomic<int> partial_backups = 0, complete_backups = 0;
  const size_t failures_before = failures_.size();
  std::vector<std::string> outcomes = ForPoints(points, [&](int w, int point) -> std::string {
    const int64_t delay = delays[point];
    const std::string path = db_path(w), log = WorkerLog(w);
    FreshCopy(template_path_, path);
    fs::remove(log);
    int exit_code = 0;
    bool finished = KillAfter(args(w), delay, log, &exit_code);
    auto fail = [&](const std::string& what) {
      Fail(scenario_, mode, point, delay, what);
      return std::string("FAILED");
    };
    if (finished && exit_code != 0)
      return fail("the child failed before the kill: " + ReadFile(log));
    std::string error, detail;
    DbPtr db = Open(path, &error, SQLITE_OPEN_READWRITE);
    if (!db) return fail(error);
    if (!IntegrityOk(db.get(), &detail)) return fail("integrity_check: " + detail);
    State got;
    if (!ReadState(db.get(), &got, &error)) return fail("reading the database: " + error);
    const bool is_new = got.schema == new_.schema;
    if (!is_new && got.schema != old_.schema)
      return fail("the schema is neither the old nor the new one:\n" + got.schema);
    const State& want = is_new ? new_ : old_;
    if (got.accounts != want.accounts || got.orders != want.orders)
      return fail(std::string("the rows are not the ") + (is_new ? "new" : "old") +
                  " schema's rows (accounts " + (got.accounts == want.accounts ? "ok" : "differ") +
                  ", orders " + (got.orders == want.orders ? "ok" : "differ") + ")");
    // History: one applied batch iff the schema is new; none at all otherwise.
    Rows batches;
    if (TableExists(db.get(), "_automigrate_batches") &&
        !Query(db.get(), "SELECT batch, status, steps, backup_id FROM _automigrate_batches",
               &batches, &error))
      return fail("reading _automigrate_batches: " + error);
    if (!is_new && !batches.empty())
      return fail("the schema is the old one but a batch is recorded (status " + batches[0][1] +
                  ")");
    if (is_new) {
      if (batches.size() != 1 || batches[0][1] != "applied")
        return fail(
            "the schema is the new one but the batches are not exactly one applied batch (" +
            std::to_string(batches.size()) + " rows)");
      std::string steps;
      if (!QueryOne(db.get(),
                    "SELECT count(*) FROM _automigrate_history WHERE batch = ?1 AND status = "
                    "'applied'",
                    {batches[0][0]}, &steps, &error) ||
          steps != batches[0][2])
        return fail("the applied batch has " + batches[0][2] + " steps but " + steps +
                    " applied history rows " + error);
      std::string recorded;
      // backup "auto" takes none for in-place steps (they have rollback SQL).
      if (scenario_ == "inplace") {
        if (batches[0][3] != "NULL")
          return fail("the in-place batch took a backup (backup_id " + batches[0][3] + ")");
      } else if (batches[0][3] == "NULL" ||
          !QueryOne(db.get(), "SELECT count(*) FROM _automigrate_backups WHERE id = ?1",
                    {batches[0][3]}, &recorded, &error) ||
          recorded != "1")
        return fail("the applied batch's backup is not recorded (backup_id " + batches[0][3] + ")");
    }
    db.reset();
    DbPtr ext = OpenWithExtension(path, &error);
    if (!ext) return fail(error);
    int partial = 0, complete = 0;
    std::string problem = CheckBackupFolder(ext.get(), path + ".backups", &partial, &complete);
    if (problem.empty()) problem = CheckBackupRecords(ext.get());
    if (!problem.empty()) return fail(problem);
    partial_backups += partial;
    complete_backups += complete;
    // A later apply lands the new schema (nothing to do when it is there).
    std::string out;
    if (!QueryOne(ext.get(), "SELECT migrate_apply(?1)", {std::string(desired_)}, &out, &error))
      return fail("the later migrate_apply failed: " + error);
    json r = json::parse(out, nullptr, false);
    if (r.is_discarded() || r["batch"].is_null() != is_new)
      return fail("the later migrate_apply returned " + out);
    if (!ReadState(ext.get(), &got, &error) || got.schema != new_.schema ||
        got.accounts != new_.accounts || got.orders != new_.orders ||
        !IntegrityOk(ext.get(), &detail, /*quick=*/true))
      return fail("after the later migrate_apply the database is not the new one " + error +
                  detail);
    // Coverage: where the kill landed, as far as the files tell.
    return is_new     ? (finished ? "finished" : "killed after commit")
           : scenario_ == "inplace" ? "killed before commit"
           : complete ? "killed after the backup, before commit"
           : partial  ? "killed during the backup"
                      : "killed before the backup";
  });
  summary_.push_back("crash/" + scenario_ + " " + mode + ": " + std::to_string(points) +
                     " kill points over [0, " + std::to_string(max_delay / 1000) +
                     " ms] (uninterrupted run " + std::to_string(duration / 1000) + " ms), " +
                     std::to_string(failures_.size() - failures_before) + " failures; " +
                     Tally(outcomes) + "; leftover backup files: " +
                     std::to_string(partial_backups) + " partial (no sidecar, do not verify), " +
                     std::to_string(complete_backups) + " complete (verify)");
  return true;
}

bool Harness::RunBackup(const std::string& mode, int points) {
  auto db_path = [&](int w) {
    return tmp_->path() + "/backup-" + mode + "-w" + std::to_string(w) + ".db";
  };
  auto args = [&](int w) {
    return std::vector<std::string>{SelfExe(), "child-backup", db_path(w), config_.ext_path};
  };
  const int64_t duration = MeasureParallel(
      args, [&](int w) { FreshCopy(template_path_, db_path(w)); }, "backup", mode);
  if (duration < 0) return false;
  const int64_t max_delay = duration * 12 / 10;
  const std::vector<int64_t> delays = Delays(points, max_delay);
  const size_t failures_before = failures_.size();
  std::vector<std::string> outcomes = ForPoints(points, [&](int w, int point) -> std::string {
    const int64_t delay = delays[point];
    const std::string path = db_path(w), log = WorkerLog(w);
    FreshCopy(template_path_, path);
    fs::remove(log);
    int exit_code = 0;
    bool finished = KillAfter(args(w), delay, log, &exit_code);
    auto fail = [&](const std::string& what) {
      Fail("backup", mode, point, delay, what);
      return std::string("FAILED");
    };
    if (finished && exit_code != 0)
      return fail("the child failed before the kill: " + ReadFile(log));
    std::string error, detail;
    DbPtr ext = OpenWithExtension(path, &error);
    if (!ext) return fail(error);
    State got;
    if (!IntegrityOk(ext.get(), &detail)) return fail("integrity_check: " + detail);
    if (!ReadState(ext.get(), &got, &error) || got.schema != old_.schema ||
        got.accounts != old_.accounts || got.orders != old_.orders)
      return fail("backup_create changed the database " + error);
    int partial = 0, complete = 0;
    std::string problem = CheckBackupFolder(ext.get(), path + ".backups", &partial, &complete);
    if (problem.empty()) problem = CheckBackupRecords(ext.get());
    if (!problem.empty()) return fail(problem);
    std::string recorded = "0";
    if (TableExists(ext.get(), "_automigrate_backups") &&
        !QueryOne(ext.get(), "SELECT count(*) FROM _automigrate_backups", {}, &recorded, &error))
      return fail(error);
    if (recorded != "0" && complete == 0)
      return fail("a backup is recorded but no complete backup file exists");
    // A later backup works and verifies.
    std::string out;
    if (!QueryOne(ext.get(),
                  "SELECT json_extract(backup_verify(json_extract(backup_create(), '$.path')), "
                  "'$.ok')",
                  {}, &out, &error) ||
        out != "1")
      return fail("a later backup_create failed or does not verify: " + error + out);
    // ... and removed the partial file the killed one left (its writer is gone).
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(path + ".backups", ec))
      if (e.path().extension() == ".db" && !fs::exists(e.path().string() + ".json"))
        return fail("a partial backup file is left after the later backup_create: " +
                    e.path().string());
    return complete  ? (recorded != "0" ? "file complete, recorded" : "file complete, not recorded")
           : partial ? "file partial (does not verify)"
                     : "no file";
  });
  summary_.push_back("crash/backup_create " + mode + ": " + std::to_string(points) +
                     " kill points over [0, " + std::to_string(max_delay / 1000) + " ms], " +
                     std::to_string(failures_.size() - failures_before) + " failures; " +
                     Tally(outcomes));
  return true;
}

bool Harness::RunRestore(const std::string& mode, int points) {
  // Before: the template with a backup of it taken, then changed (rows
  // updated and deleted, a table added). The restore brings back the backup.
  const std::string before_path = tmp_->path() + "/restore-before-" + mode + ".db";
  const std::string backup_path = tmp_->path() + "/restore-" + mode + ".backup.db";
  std::string error;
  State backup_state, changed_state;
  for (const std::string& p : {before_path, backup_path, backup_path + ".json"}) fs::remove(p);
  fs::copy_file(template_path_, before_path);
  {
    DbPtr ext = OpenWithExtension(before_path, &error);
    std::string out;
    bool ok = ext && QueryOne(ext.get(), "SELECT backup_create(?1)", {backup_path}, &out, &error) &&
              ReadState(ext.get(), &backup_state, &error) &&
              Exec(ext.get(),
                   "UPDATE accounts SET name = name || '!' WHERE id % 3 = 0;"
                   "DELETE FROM orders WHERE id % 5 = 0;"
                   "CREATE TABLE extra(x INTEGER PRIMARY KEY, y TEXT);"
                   "INSERT INTO extra(y) SELECT email FROM accounts WHERE id % 10 = 0;",
                   &error) &&
              ReadState(ext.get(), &changed_state, &error);
    if (!ok) {
      Fail("restore", mode, -1, 0, "preparing: " + error);
      return false;
    }
  }
  auto db_path = [&](int w) {
    return tmp_->path() + "/restore-" + mode + "-w" + std::to_string(w) + ".db";
  };
  auto scratch_files = [&](int w) {
    std::vector<fs::path> out;
    const std::string prefix =
        "restore-" + mode + "-w" + std::to_string(w) + ".db.automigrate-restore";
    for (const auto& e : fs::directory_iterator(tmp_->path()))
      if (e.path().filename().string().rfind(prefix, 0) == 0) out.push_back(e.path());
    return out;
  };
  auto prepare = [&](int w) {
    for (const fs::path& p : scratch_files(w)) fs::remove(p);
    FreshCopy(before_path, db_path(w));
  };
  auto args = [&](int w) {
    return std::vector<std::string>{SelfExe(), "child-restore", db_path(w), backup_path,
                                    config_.ext_path};
  };
  const int64_t duration = MeasureParallel(args, prepare, "restore", mode);
  if (duration < 0) return false;
  const int64_t max_delay = duration * 12 / 10;
  const std::vector<int64_t> delays = Delays(points, max_delay);
  std::atomic<int> scratch_left = 0;
  const size_t failures_before = failures_.size();
  std::vector<std::string> outcomes = ForPoints(points, [&](int w, int point) -> std::string {
    const int64_t delay = delays[point];
    const std::string path = db_path(w), log = WorkerLog(w);
    prepare(w);
    fs::remove(log);
    int exit_code = 0;
    bool finished = KillAfter(args(w), delay, log, &exit_code);
    auto fail = [&](const std::string& what) {
      Fail("restore", mode, point, delay, what);
      return std::string("FAILED");
    };
    if (finished && exit_code != 0)
      return fail("the child failed before the kill: " + ReadFile(log));
    scratch_left += static_cast<int>(scratch_files(w).size());
    std::string error, detail;
    DbPtr ext = OpenWithExtension(path, &error);
    if (!ext) return fail(error);
    if (!IntegrityOk(ext.get(), &detail)) return fail("integrity_check: " + detail);
    State got;
    if (!ReadState(ext.get(), &got, &error)) return fail(error);
    const bool is_restored = got.schema == backup_state.schema;
    const State& want = is_restored ? backup_state : changed_state;
    if (got.schema != want.schema || got.accounts != want.accounts || got.orders != want.orders)
      return fail(
          std::string("the database is neither the pre-restore one nor the backup's (schema ") +
          (got.schema == want.schema ? "matches " : "differs from ") +
          (is_restored ? "the backup's" : "the pre-restore one") + ", rows " +
          (got.accounts == want.accounts && got.orders == want.orders ? "match" : "differ") + ")");
    std::string restore_batches;
    if (!QueryOne(ext.get(),
                  "SELECT count(*) FROM migration_history WHERE op = 'restore_backup' AND status "
                  "= 'applied'",
                  {}, &restore_batches, &error))
      return fail(error);
    if (restore_batches != (is_restored ? "1" : "0"))
      return fail("restored=" + std::to_string(is_restored) + " but " + restore_batches +
                  " applied restore batches are recorded");
    // A later restore lands the backup's content.
    std::string out;
    if (!QueryOne(ext.get(), "SELECT backup_restore(?1)", {backup_path}, &out, &error))
      return fail("the later backup_restore failed: " + error);
    if (!ReadState(ext.get(), &got, &error) || got.schema != backup_state.schema ||
        got.accounts != backup_state.accounts || got.orders != backup_state.orders ||
        !IntegrityOk(ext.get(), &detail, /*quick=*/true))
      return fail("after the later backup_restore the database is not the backup's " + error +
                  detail);
    // The later restore removed the scratch copy the killed one left.
    if (const std::vector<fs::path> left = scratch_files(w); !left.empty())
      return fail("a scratch file is left after the later backup_restore: " + left[0].string());
    return is_restored ? (finished ? "finished" : "killed after the restore committed")
                       : "killed before the restore committed";
  });
  summary_.push_back("crash/backup_restore " + mode + ": " + std::to_string(points) +
                     " kill points over [0, " + std::to_string(max_delay / 1000) + " ms], " +
                     std::to_string(failures_.size() - failures_before) + " failures; " +
                     Tally(outcomes) + "; scratch files left beside the database " +
                     std::to_string(scratch_left));
  return true;
}

int Harness::Run() {
  rng_.seed(config_.seed);
  if (const char* j = std::getenv("AUTOMIGRATE_RELIABILITY_JOBS"))
    jobs_ = std::max(1, std::atoi(j));
  if (config_.delay_us >= 0) jobs_ = 1;
  tmp_ = std::make_unique<TempDir>("automigrate-crash");
  if (!tmp_->ok()) return std::fprintf(stderr, "crash: no temporary folder\n"), 2;
  const bool replay = config_.delay_us >= 0;
  const int apply_points = replay ? 1 : Scaled(50, 3);
  const int backup_points = replay ? 1 : Scaled(10, 2);
  const int restore_points = replay ? 1 : Scaled(10, 2);
  const int inplace_points = replay ? 1 : Scaled(10, 2);
  const double start = NowMs();
  int apply_total = 0, inplace_total = 0;
  std::map<std::string, int> per_mode;
  for (const std::string mode : {"wal", "delete"}) {
    if (!config_.mode.empty() && config_.mode != mode) continue;
    if (config_.only != "inplace" && !Prepare(mode)) return 1;
    if (config_.only.empty() || config_.only == "apply") {
      if (!RunApply(mode, apply_points)) return 1;
      apply_total += apply_points;
      per_mode[mode] += apply_points;
    }
    if (config_.only.empty() || config_.only == "backup")
      if (!RunBackup(mode, backup_points)) return 1;
    if (config_.only.empty() || config_.only == "restore")
      if (!RunRestore(mode, restore_points)) return 1;
    if (config_.only.empty() || config_.only == "inplace") {
      UseScenario("inplace");
      if (!Prepare(mode) || !RunApply(mode, inplace_points)) return 1;
      UseScenario("apply");
      inplace_total += inplace_points;
    }
  }
  for (const std::string& line : summary_) std::printf("%s\n", line.c_str());
  std::printf(
      "crash: %d migrate_apply kill points (%d WAL, %d DELETE), %d backup_create, %d "
      "backup_restore, %d in-place migrate_apply, %zu failures, seed %" PRIu64
      ", %d rows, %.1f s\n",
      apply_total, per_mode["wal"], per_mode["delete"],
      (config_.mode.empty() ? 2 : 1) *
          (config_.only.empty() || config_.only == "backup" ? backup_points : 0),
      (config_.mode.empty() ? 2 : 1) *
          (config_.only.empty() || config_.only == "restore" ? restore_points : 0),
      inplace_total, failures_.size(), config_.seed, config_.rows, (NowMs() - start) / 1000);
  if (config_.control) {
    // Expected: failures. Exit 0 only when the harness caught the
    // non-atomic migration at least once.
    std::printf("crash control: the non-atomic migration was caught at %zu kill points\n",
                failures_.size());
    return failures_.empty() ? 1 : 0;
  }
  return failures_.empty() ? 0 : 1;
}

// ---- children --------------------------------------------------------------

int ChildOpen(const std::string& db_path, const std::string& ext, DbPtr* db) {
  std::string error;
  *db = Open(db_path, &error, SQLITE_OPEN_READWRITE);
  if (!*db || (sqlite3_busy_timeout(db->get(), 5000), !LoadExtension(db->get(), ext, &error))) {
    std::fprintf(stderr, "child: %s\n", error.c_str());
    return 1;
  }
  return 0;
}

int ChildCall(sqlite3* db, std::string_view sql,
              const std::vector<std::optional<std::string>>& params) {
  std::string out, error;
  if (!QueryOne(db, sql, params, &out, &error)) {
    std::fprintf(stderr, "child: %s\n", error.c_str());
    return 1;
  }
  std::printf("%s\n", out.c_str());
  return 0;
}

int ChildMain(int argc, char** argv) {
  const std::string mode = argv[1];
  DbPtr db;
  if (mode == "child-apply" && argc == 5) {
    if (ChildOpen(argv[2], argv[4], &db) != 0) return 1;
    return ChildCall(db.get(), "SELECT migrate_apply(?1)", {ReadFile(argv[3])});
  }
  if (mode == "child-nonatomic" && argc == 5) {
    // The control: the same steps as migrate_apply (its migrate_script),
    // each statement committed on its own. The harness must catch it.
    if (ChildOpen(argv[2], argv[4], &db) != 0) return 1;
    std::string script, error;
    if (!QueryOne(db.get(), "SELECT migrate_script(?1)", {ReadFile(argv[3])}, &script, &error))
      return std::fprintf(stderr, "child: %s\n", error.c_str()), 1;
    std::string unwrapped;
    std::istringstream lines(script);
    for (std::string line; std::getline(lines, line);)
      if (line != "BEGIN IMMEDIATE;" && line != "COMMIT;") unwrapped += line + "\n";
    if (!Exec(db.get(), unwrapped, &error))
      return std::fprintf(stderr, "child: %s\n", error.c_str()), 1;
    return 0;
  }
  if (mode == "child-backup" && argc == 4) {
    if (ChildOpen(argv[2], argv[3], &db) != 0) return 1;
    return ChildCall(db.get(), "SELECT backup_create()", {});
  }
  if (mode == "child-restore" && argc == 5) {
    if (ChildOpen(argv[2], argv[4], &db) != 0) return 1;
    return ChildCall(db.get(), "SELECT backup_restore(?1)", {std::string(argv[3])});
  }
  std::fprintf(stderr, "child: bad arguments\n");
  return 2;
}

}  // namespace
}  // namespace automigrate::reliability

int main(int argc, char** argv) {
  using namespace automigrate::reliability;
  if (argc >= 2 && std::strncmp(argv[1], "child-", 6) == 0) return ChildMain(argc, argv);
  Config config;
  const char* ext = std::getenv("AUTOMIGRATE_EXT_PATH");
  config.ext_path = ext && *ext ? ext : AUTOMIGRATE_EXT_PATH;
  config.seed = std::random_device{}();
  if (const char* s = std::getenv("AUTOMIGRATE_CRASH_SEED"))
    config.seed = std::strtoull(s, nullptr, 10);
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--seed")
      config.seed = std::strtoull(next().c_str(), nullptr, 10);
    else if (a == "--only")
      config.only = next();
    else if (a == "--mode")
      config.mode = next();
    else if (a == "--delay-us")
      config.delay_us = std::strtoll(next().c_str(), nullptr, 10);
    else if (a == "--rows")
      config.rows = std::atoi(next().c_str());
    else if (a == "--control")
      config.control = true, config.only = "apply";
    else {
      std::fprintf(stderr,
                   "usage: %s [--seed N] [--only apply|backup|restore|inplace] "
                   "[--mode wal|delete] [--delay-us N] [--rows N]\n",
                   argv[0]);
      return 2;
    }
  }
  if (!config.only.empty() && config.only != "apply" && config.only != "backup" &&
      config.only != "restore" && config.only != "inplace")
    return std::fprintf(stderr, "crash: --only apply|backup|restore|inplace\n"), 2;
  if (!config.mode.empty() && config.mode != "wal" && config.mode != "delete")
    return std::fprintf(stderr, "crash: --mode wal|delete\n"), 2;
  try {
    Harness harness(std::move(config));
    return harness.Run();
  } catch (const std::exception& e) {  // std::filesystem errors, json parse errors
    std::fprintf(stderr, "crash: %s\n", e.what());
    return 2;
  }
}
