// tests/reliability/concurrency/concurrency_harness.cc -- 8 processes call
// migrate_apply at once on one database file while 4 other processes insert
// rows and read in a loop; shared/DESIGN.md's "Locked" guarantee must hold
// and no committed insert may be lost. In WAL and rollback-journal (DELETE)
// mode, every connection with a busy timeout (10 s).
//
// Round "same": all 8 apply the same desired schema (a rebuild of the table
// the writers insert into, a new index, a view, an added column): exactly
// one applied batch, the other 7 find nothing to do.
// Round "two": 4 apply schema A and 4 schema B (each a rebuild of the same
// table from the other, neither destructive): every applier either applies
// (the schema was not its own) or finds nothing to do; two consecutive
// applied batches never bring the same schema (nobody re-applied what was
// already there); the final schema is the last applied batch's (migrate_plan
// of it is empty).
// In both: every insert that reported success is in the table with its
// values, every one that reported an error is not; the rows there before are
// unchanged; the history has exactly the batches the appliers reported;
// integrity_check is ok; every error text is collected and classified, and
// only "database is locked"/"database table is locked" (SQLITE_BUSY,
// SQLITE_LOCKED, documented) is accepted.
//
// The processes are this binary re-executed ("child-apply", "child-writer");
// they wait on a pipe and start together when the parent closes it.
//
// Usage: automigrate_concurrency [--mode wal|delete] [--round same|two]
// Environment: AUTOMIGRATE_RELIABILITY_SCALE (repetitions of every round),
// AUTOMIGRATE_EXT_PATH (the extension, default the one built beside this
// harness), AUTOMIGRATE_RELIABILITY_TMPDIR (default /dev/shm, see
// harness_util.h), AUTOMIGRATE_RELIABILITY_KEEP (keep the folder).
#include <algorithm>
#include <cinttypes>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "harness_util.h"

namespace automigrate::reliability {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kAppliers = 8;
constexpr int kWriters = 4;
constexpr int kBaseRows = 20000;
constexpr int64_t kWriterIdBase = 1000000;  // writer k inserts ids from (k + 1) * this
constexpr int kBusyTimeoutMs = 10000;
constexpr int kMinInserts = 100;  // a writer goes on until the appliers are done and it has these
constexpr int kMaxInserts = 100000;  // and never beyond these
constexpr useconds_t kWriterPauseUs = 2000;

constexpr std::string_view kBase = R"sql(
CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty TEXT);
CREATE INDEX items_name ON items(name);
CREATE TABLE notes(id INTEGER PRIMARY KEY, item_id INTEGER REFERENCES items(id), body TEXT);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 20000)
INSERT INTO items SELECT i, 'item ' || i, CAST(i % 50 AS TEXT) FROM c;
INSERT INTO notes VALUES (1, 1, 'first'), (2, 20000, 'last');
)sql";

constexpr std::string_view kSame = R"sql(
CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER);
CREATE INDEX items_name ON items(name);
CREATE INDEX items_qty ON items(qty);
CREATE TABLE notes(id INTEGER PRIMARY KEY, item_id INTEGER REFERENCES items(id), body TEXT,
                   tag TEXT);
CREATE VIEW item_count AS SELECT count(*) AS n FROM items;
)sql";

constexpr std::string_view kSchemaA = R"sql(
CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER);
CREATE INDEX items_a ON items(qty);
CREATE TABLE notes(id INTEGER PRIMARY KEY, item_id INTEGER REFERENCES items(id), body TEXT);
CREATE VIEW view_a AS SELECT id, qty FROM items WHERE qty > 10;
)sql";

constexpr std::string_view kSchemaB = R"sql(
CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty TEXT);
CREATE INDEX items_b ON items(name, qty);
CREATE TABLE notes(id INTEGER PRIMARY KEY, item_id INTEGER REFERENCES items(id), body TEXT);
CREATE VIEW view_b AS SELECT id, name FROM items;
)sql";

// SQLite's busy/locked outcomes: the only errors the contract allows here.
bool IsBusyOrLocked(int code, const std::string& message) {
  int primary = code & 0xff;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) return true;
  return message.find("database is locked") != std::string::npos ||
         message.find("database table is locked") != std::string::npos;
}

// An error text with the numbers taken out, to group similar ones.
std::string ErrorClass(const std::string& message) {
  std::string out;
  for (char c : message) {
    if (c >= '0' && c <= '9') {
      if (out.empty() || out.back() != '#') out += '#';
    } else {
      out += c;
    }
  }
  return out.substr(0, 160);
}

struct Config {
  std::string ext_path;
  std::string mode, round;  // "" = all
};

class Harness {
 public:
  explicit Harness(Config config) : config_(std::move(config)) {}
  int Run();

 private:
  bool RunOnce(const std::string& mode, const std::string& round, int repetition);
  void Fail(const std::string& where, const std::string& what) {
    ++failures_;
    std::fprintf(stderr, "FAIL concurrency/%s: %s\n", where.c_str(), what.c_str());
  }

  Config config_;
  std::unique_ptr<TempDir> tmp_;
  int failures_ = 0;
  int runs_ = 0;
  int64_t inserts_ = 0, reads_ = 0, inserts_during_total_ = 0;
  std::map<std::string, int> errors_;    // class -> count, every process
  std::map<std::string, int> outcomes_;  // applier outcomes
  std::vector<std::string> lines_;
};

bool Harness::RunOnce(const std::string& mode, const std::string& round, int repetition) {
  const std::string where = mode + "/" + round + "#" + std::to_string(repetition);
  const std::string dir =
      tmp_->path() + "/" + mode + "-" + round + "-" + std::to_string(repetition);
  fs::create_directories(dir);
  const std::string db_path = dir + "/db.sqlite";
  std::string error;
  std::string base_names;  // hash of the rows there before
  {
    DbPtr db = Open(db_path, &error);
    if (!db || !Exec(db.get(), "PRAGMA journal_mode=" + mode, &error) ||
        !Exec(db.get(), kBase, &error) ||
        !HashQuery(db.get(), "SELECT id, name FROM items ORDER BY id", &base_names, nullptr,
                   &error)) {
      Fail(where, "creating the database: " + error);
      return false;
    }
  }
  std::vector<std::string> schema_text = {std::string(kSame)};
  if (round == "two") schema_text = {std::string(kSchemaA), std::string(kSchemaB)};
  std::vector<std::string> schema_files;
  for (size_t i = 0; i < schema_text.size(); ++i) {
    schema_files.push_back(dir + "/schema" + std::to_string(i) + ".sql");
    WriteFile(schema_files.back(), schema_text[i]);
  }
  const std::string stop_file = dir + "/stop";

  // The start pipe: children read it until EOF, which comes when the parent
  // closes the write end after starting everyone.
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Fail(where, "pipe"), false;
  ::fcntl(fds[0], F_SETFD, 0);  // the read end is inherited through exec
  const std::string start_fd = std::to_string(fds[0]);
  std::vector<pid_t> appliers, writers;
  std::vector<int> applier_schema;
  for (int i = 0; i < kAppliers; ++i) {
    int s = i % static_cast<int>(schema_files.size());
    applier_schema.push_back(s);
    appliers.push_back(
        Spawn({SelfExe(), "child-apply", db_path, schema_files[s], config_.ext_path, start_fd},
              dir + "/apply" + std::to_string(i) + ".log"));
  }
  for (int k = 0; k < kWriters; ++k)
    writers.push_back(
        Spawn({SelfExe(), "child-writer", db_path, std::to_string(k), stop_file, start_fd},
              dir + "/writer" + std::to_string(k) + ".log"));
  ::close(fds[0]);
  ::close(fds[1]);  // go
  const double start = NowMs();
  for (pid_t p : appliers) WaitChild(p);
  const double applied_ms = NowMs() - start;
  WriteFile(stop_file, "stop");
  std::vector<int> writer_codes;
  for (pid_t p : writers) writer_codes.push_back(WaitChild(p));
  ++runs_;

  bool ok = true;
  auto fail = [&](const std::string& what) {
    Fail(where, what);
    ok = false;
  };
  auto note_error = [&](const std::string& who, int code, const std::string& message) {
    ++errors_[who + ": " + ErrorClass(message)];
    if (!IsBusyOrLocked(code, message))
      fail(who + " got an error other than busy/locked (code " + std::to_string(code) +
           "): " + message);
  };

  // Appliers: {"result": {...}} or {"error": text, "code": n}.
  std::map<int64_t, int> batch_schema;  // batch -> schema index
  int applied = 0, nothing = 0, errored = 0;
  for (int i = 0; i < kAppliers; ++i) {
    const std::string out = ReadFile(dir + "/apply" + std::to_string(i) + ".log");
    json line = json::parse(out.substr(0, out.find('\n')), nullptr, false);
    if (line.is_discarded() || !line.is_object()) {
      fail("applier " + std::to_string(i) + " printed: " + out);
      continue;
    }
    if (line.contains("error")) {
      ++errored;
      ++outcomes_["error"];
      note_error("migrate_apply", line.value("code", 0), line["error"].get<std::string>());
      continue;
    }
    json r = json::parse(line["result"].get<std::string>(), nullptr, false);
    if (r.is_discarded() || !r.contains("batch")) {
      fail("applier " + std::to_string(i) + " returned " + line.dump());
      continue;
    }
    if (r["batch"].is_null()) {
      ++nothing;
      ++outcomes_["nothing to do"];
    } else {
      ++applied;
      ++outcomes_["applied"];
      batch_schema[r["batch"].get<int64_t>()] = applier_schema[i];
    }
  }
  if (round == "same" && applied != 1)
    fail(std::to_string(applied) + " appliers of the same schema applied a batch (want 1)");
  if (applied == 0) fail("no applier applied anything");

  // Writers: "ok <id>", "fail <id> <code> <text>", "readerr <code> <text>",
  // "mismatch <committed> <seen>" (it does not see exactly its own committed
  // rows),
  // "done <inserts> <reads> <inserts before it saw the appliers were done>".
  std::set<int64_t> committed, refused;
  int64_t inserts_during = 0;  // committed while appliers were still running
  for (int k = 0; k < kWriters; ++k) {
    if (writer_codes[k] != 0)
      fail("writer " + std::to_string(k) + " exited with " + std::to_string(writer_codes[k]));
    std::istringstream in(ReadFile(dir + "/writer" + std::to_string(k) + ".log"));
    std::string line;
    bool done = false;
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string word;
      f >> word;
      if (word == "ok") {
        int64_t id;
        f >> id;
        committed.insert(id);
      } else if (word == "fail" || word == "readerr") {
        int64_t id = 0;
        int code = 0;
        if (word == "fail") f >> id;
        f >> code;
        std::string text;
        std::getline(f, text);
        if (word == "fail") refused.insert(id);
        note_error(word == "fail" ? "insert" : "read", code, text);
      } else if (word == "mismatch") {
        fail("writer " + std::to_string(k) +
             " sees a different number of its rows than it committed (committed, seen): " + line);
      } else if (word == "done") {
        int64_t n, r, during;
        f >> n >> r >> during;
        inserts_ += n;
        reads_ += r;
        inserts_during += during;
        inserts_during_total_ += during;
        done = true;
      } else {
        fail("writer " + std::to_string(k) + " printed: " + line);
      }
    }
    if (!done) fail("writer " + std::to_string(k) + " did not finish");
  }

  // The database afterwards, through a fresh connection.
  DbPtr db = Open(db_path, &error, SQLITE_OPEN_READWRITE);
  std::string detail;
  if (!db || !LoadExtension(db.get(), config_.ext_path, &error)) {
    fail(error);
    return false;
  }
  sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);
  if (!IntegrityOk(db.get(), &detail)) fail("integrity_check: " + detail);
  Rows rows;
  if (!Query(db.get(), "SELECT id, name FROM items WHERE id >= ?1 ORDER BY id",
             {std::to_string(kWriterIdBase)}, &rows, &error))
    fail(error);
  std::set<int64_t> present;
  for (const Row& r : rows) {
    int64_t id = std::strtoll(r[0].c_str(), nullptr, 10);
    present.insert(id);
    if (r[1] != "w" + std::to_string(id)) fail("row " + r[0] + " has name " + r[1]);
  }
  int64_t lost = 0, ghost = 0;
  for (int64_t id : committed)
    if (!present.count(id)) ++lost;
  for (int64_t id : refused)
    if (present.count(id)) ++ghost;
  for (int64_t id : present)
    if (!committed.count(id) && !refused.count(id)) ++ghost;
  if (lost) fail(std::to_string(lost) + " inserts that reported success are missing");
  if (ghost) fail(std::to_string(ghost) + " rows are present that no insert reported as committed");
  std::string names;
  if (!HashQuery(db.get(), "SELECT id, name FROM items WHERE id <= 20000 ORDER BY id", &names,
                 nullptr, &error) ||
      names != base_names)
    fail("the rows there before changed " + error);

  // History: exactly the batches the appliers reported, all applied.
  Rows batches;
  if (!Query(db.get(), "SELECT batch, status FROM migration_batches ORDER BY batch", &batches,
             &error))
    fail("migration_batches: " + error);
  std::map<int64_t, std::string> recorded;
  for (const Row& r : batches) recorded[std::strtoll(r[0].c_str(), nullptr, 10)] = r[1];
  for (const auto& [b, status] : recorded)
    if (status != "applied" || !batch_schema.count(b))
      fail("batch " + std::to_string(b) + " (" + status + ") was not reported by an applier");
  for (const auto& [b, s] : batch_schema)
    if (!recorded.count(b)) fail("batch " + std::to_string(b) + " was reported but not recorded");
  // Nobody re-applied the schema already there.
  int previous = -1;
  for (const auto& [b, s] : batch_schema) {
    if (s == previous)
      fail("batches in a row brought the same schema (batch " + std::to_string(b) + ")");
    previous = s;
  }
  // The final schema is the last applied one's.
  if (previous >= 0) {
    std::string steps;
    if (!QueryOne(db.get(), "SELECT count(*) FROM migrate_plan(?1)", {schema_text[previous]},
                  &steps, &error) ||
        steps != "0")
      fail("the final schema is not the last applied batch's (" + steps + " steps left) " + error);
  }
  std::string mode_now;
  if (QueryOne(db.get(), "PRAGMA journal_mode", {}, &mode_now, &error) && mode_now != mode)
    fail("journal mode changed to " + mode_now);
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "%s: %d applied, %d nothing to do, %d busy; %zu inserts committed (%" PRId64
                " while appliers ran), %zu refused; appliers done in %.0f ms",
                where.c_str(), applied, nothing, errored, committed.size(), inserts_during,
                refused.size(), applied_ms);
  lines_.push_back(buf);
  if (ok && !std::getenv("AUTOMIGRATE_RELIABILITY_KEEP")) fs::remove_all(dir);
  return ok;
}

int Harness::Run() {
  tmp_ = std::make_unique<TempDir>("automigrate-concurrency");
  if (!tmp_->ok()) return std::fprintf(stderr, "concurrency: no temporary folder\n"), 2;
  const int repetitions = Scaled(1);
  const double start = NowMs();
  std::map<std::string, int> per_mode;
  for (int rep = 0; rep < repetitions; ++rep)
    for (const std::string mode : {"wal", "delete"}) {
      if (!config_.mode.empty() && config_.mode != mode) continue;
      for (const std::string round : {"same", "two"}) {
        if (!config_.round.empty() && config_.round != round) continue;
        RunOnce(mode, round, rep);
        ++per_mode[mode];
      }
    }
  for (const std::string& line : lines_) std::printf("concurrency/%s\n", line.c_str());
  std::string classes;
  for (const auto& [k, n] : errors_) classes += "\n  " + std::to_string(n) + " x " + k;
  std::string outcomes;
  for (const auto& [k, n] : outcomes_)
    outcomes += (outcomes.empty() ? "" : ", ") + k + " " + std::to_string(n);
  std::printf(
      "concurrency: %d runs (%d WAL, %d DELETE) of %d appliers + %d writers, %d failures; "
      "appliers: %s; %" PRId64 " inserts (%" PRId64 " while appliers ran), %" PRId64
      " reads; %.1f s; errors by class:%s\n",
      runs_, per_mode["wal"], per_mode["delete"], kAppliers, kWriters, failures_, outcomes.c_str(),
      inserts_, inserts_during_total_, reads_, (NowMs() - start) / 1000,
      classes.empty() ? " none" : classes.c_str());
  return failures_ == 0 ? 0 : 1;
}

// ---- children --------------------------------------------------------------

// Blocks until the parent closes the start pipe.
void WaitForStart(const char* fd_text) {
  int fd = std::atoi(fd_text);
  char c;
  while (::read(fd, &c, 1) > 0) {
  }
  ::close(fd);
}

int ChildApply(const std::string& db_path, const std::string& schema_file, const std::string& ext,
               const char* start_fd) {
  std::string error;
  DbPtr db = Open(db_path, &error, SQLITE_OPEN_READWRITE);
  if (!db || !LoadExtension(db.get(), ext, &error)) {
    std::printf("%s\n", json{{"error", error}, {"code", -1}}.dump().c_str());
    return 0;
  }
  sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);
  const std::string desired = ReadFile(schema_file);
  WaitForStart(start_fd);
  sqlite3_stmt* raw = nullptr;
  sqlite3_prepare_v2(db.get(), "SELECT migrate_apply(?1)", -1, &raw, nullptr);
  StmtPtr stmt(raw);
  sqlite3_bind_text(raw, 1, desired.data(), static_cast<int>(desired.size()), SQLITE_TRANSIENT);
  if (sqlite3_step(raw) == SQLITE_ROW) {
    std::printf("%s\n", json{{"result", ColumnText(raw, 0)}}.dump().c_str());
  } else {
    std::printf("%s\n", json{{"error", sqlite3_errmsg(db.get())},
                             {"code", sqlite3_extended_errcode(db.get())}}
                            .dump()
                            .c_str());
  }
  return 0;
}

int ChildWriter(const std::string& db_path, int k, const std::string& stop_file,
                const char* start_fd) {
  std::string error;
  DbPtr db = Open(db_path, &error, SQLITE_OPEN_READWRITE);
  if (!db) {
    std::printf("readerr -1 %s\n", error.c_str());
    return 1;
  }
  sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);
  const int64_t lo = (k + 1) * kWriterIdBase;
  WaitForStart(start_fd);
  sqlite3_stmt* raw = nullptr;
  int64_t ok = 0, reads = 0, before_stop = -1;
  for (int i = 0; i < kMaxInserts; ++i) {
    if (before_stop < 0 && ::access(stop_file.c_str(), F_OK) == 0) before_stop = ok;
    if (i >= kMinInserts && before_stop >= 0) break;
    const int64_t id = lo + i;
    // Prepared each time: a schema change (the rebuild) makes SQLite
    // re-prepare anyway, and this keeps no statement open between steps.
    if (sqlite3_prepare_v2(db.get(), "INSERT INTO items(id, name, qty) VALUES (?1, ?2, ?3)", -1,
                           &raw, nullptr) != SQLITE_OK) {
      std::printf("fail %" PRId64 " %d %s\n", id, sqlite3_extended_errcode(db.get()),
                  sqlite3_errmsg(db.get()));
      continue;
    }
    {
      StmtPtr insert(raw);
      const std::string name = "w" + std::to_string(id);
      sqlite3_bind_int64(raw, 1, id);
      sqlite3_bind_text(raw, 2, name.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(raw, 3, std::to_string(i % 30).c_str(), -1, SQLITE_TRANSIENT);
      if (sqlite3_step(raw) == SQLITE_DONE) {
        ++ok;
        std::printf("ok %" PRId64 "\n", id);
      } else {
        std::printf("fail %" PRId64 " %d %s\n", id, sqlite3_extended_errcode(db.get()),
                    sqlite3_errmsg(db.get()));
      }
    }
    // Read: its own committed rows must all be visible to it.
    Rows rows;
    if (Query(db.get(),
              "SELECT (SELECT count(*) FROM items WHERE id BETWEEN ?1 AND ?2), "
              "(SELECT count(*) FROM items)",
              {std::to_string(lo), std::to_string(lo + kMaxInserts)}, &rows, &error)) {
      ++reads;
      if (std::strtoll(rows[0][0].c_str(), nullptr, 10) != ok)
        std::printf("mismatch %" PRId64 " %s\n", ok, rows[0][0].c_str());
    } else {
      std::printf("readerr %d %s\n", sqlite3_extended_errcode(db.get()), error.c_str());
    }
    std::fflush(stdout);
    // A breath between rounds: SQLite's busy handler polls (sleeping up to
    // 100 ms) rather than queueing, so writers committing back to back would
    // starve the appliers waiting in BEGIN IMMEDIATE for seconds.
    ::usleep(kWriterPauseUs);
  }
  std::printf("done %" PRId64 " %" PRId64 " %" PRId64 "\n", ok, reads,
              before_stop < 0 ? ok : before_stop);
  return 0;
}

}  // namespace
}  // namespace automigrate::reliability

int main(int argc, char** argv) {
  using namespace automigrate::reliability;
  if (argc == 6 && std::strcmp(argv[1], "child-apply") == 0)
    return ChildApply(argv[2], argv[3], argv[4], argv[5]);
  if (argc == 6 && std::strcmp(argv[1], "child-writer") == 0)
    return ChildWriter(argv[2], std::atoi(argv[3]), argv[4], argv[5]);
  Config config;
  const char* ext = std::getenv("AUTOMIGRATE_EXT_PATH");
  config.ext_path = ext && *ext ? ext : AUTOMIGRATE_EXT_PATH;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    std::string v = i + 1 < argc ? argv[i + 1] : "";
    if (a == "--mode" && (v == "wal" || v == "delete"))
      config.mode = v, ++i;
    else if (a == "--round" && (v == "same" || v == "two"))
      config.round = v, ++i;
    else {
      std::fprintf(stderr, "usage: %s [--mode wal|delete] [--round same|two]\n", argv[0]);
      return 2;
    }
  }
  try {
    Harness harness(std::move(config));
    return harness.Run();
  } catch (const std::exception& e) {  // std::filesystem errors
    std::fprintf(stderr, "concurrency: %s\n", e.what());
    return 2;
  }
}
