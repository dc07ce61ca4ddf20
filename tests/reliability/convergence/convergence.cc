// tests/reliability/convergence/convergence.cc -- the convergence
// (property-based) harness: for seeded random schema pairs (schema_gen.h)
// with rows that satisfy both schemas, migrate_apply must reach the desired
// schema and keep the data, and migrate_rollback must bring back exactly the
// original schema and data.
//
//   convergence                          # 300 pairs x AUTOMIGRATE_RELIABILITY_SCALE
//   convergence --seed 1234 --verbose    # one pair: both schemas, the plan, the diff
//   convergence --first-seed 5000 --pairs 20000
//   AUTOMIGRATE_EXT_PATH=/path/to/automigrate convergence   # another build
//
// For each pair, through the built extension (SQL surface, file database):
//   1. the old DDL is created and filled with random rows; each row is also
//      inserted, as the migration must carry it, into a :memory: database
//      created from the desired DDL ("expected"); a row either side refuses is
//      dropped, so the rows satisfy both schemas. In about 1 pair in 8 a row
//      the old schema takes and the desired one refuses is added on purpose:
//      migrate_apply must then refuse (or fail and roll back) and leave the
//      schema and every row as they were.
//   2. migrate_apply(desired, {allow_destructive, rename, backup, backup_dir});
//   3. the migrated database: migrate_plan(desired) is empty; the independent
//      oracle (tests/support/schema_oracle.h) finds no difference from the
//      expected database; every table's rows (rowid when both sides have
//      one, every column through quote()) equal the expected ones, which
//      SQLite's own affinity produced; integrity_check ok; foreign_key_check
//      empty;
//   4. migrate_rollback (method auto, sometimes sql or backup explicitly):
//      the oracle finds no difference from the old DDL, column order
//      included, and every row equals the snapshot taken before the apply.
// A failing pair prints a one-line reproducer. Exit status 1 on any failure.
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/integrity.h"
#include "schema_gen.h"
#include "support/schema_oracle.h"

namespace fs = std::filesystem;
namespace cv = automigrate::convergence;

namespace {

// ---------------------------------------------------------------------------
// SQLite, owned by RAII wrappers.

struct DbCloser {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;
struct StmtCloser {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtCloser>;

// The extension to test: the build's (AUTOMIGRATE_EXT_PATH at compile
// time) unless the environment's AUTOMIGRATE_EXT_PATH names another build.
const char* ExtensionPath() {
  const char* env = std::getenv("AUTOMIGRATE_EXT_PATH");
  return env && *env ? env : AUTOMIGRATE_EXT_PATH;
}

DbPtr Open(const std::string& path, std::string* error, bool load_extension) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK) {
    *error = "open " + path + ": " + (raw ? sqlite3_errmsg(raw) : "out of memory");
    return nullptr;
  }
  if (load_extension) {
    sqlite3_db_config(raw, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 1, nullptr);
    char* err = nullptr;
    if (sqlite3_load_extension(raw, ExtensionPath(), nullptr, &err) != SQLITE_OK) {
      *error = std::string("load ") + ExtensionPath() + ": " + (err ? err : "?");
      sqlite3_free(err);
      return nullptr;
    }
  }
  return db;
}

bool Exec(sqlite3* db, const std::string& sql, std::string* error = nullptr) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) == SQLITE_OK) return true;
  if (error) *error = err ? err : "?";
  sqlite3_free(err);
  return false;
}

StmtPtr Prepare(sqlite3* db, const std::string& sql, std::string* error) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
    if (error) *error = std::string(sqlite3_errmsg(db)) + " in: " + sql;
    return nullptr;
  }
  return StmtPtr(raw);
}

// Rows of `sql` (text params bound in order), each row's columns joined by
// " | " (callers select quote(...) so types show).
bool Query(sqlite3* db, const std::string& sql, const std::vector<std::string>& params,
           std::vector<std::string>* rows, std::string* error) {
  rows->clear();
  StmtPtr st = Prepare(db, sql, error);
  if (!st) return false;
  for (size_t i = 0; i < params.size(); ++i)
    sqlite3_bind_text(st.get(), static_cast<int>(i) + 1, params[i].c_str(), -1, SQLITE_TRANSIENT);
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    std::string row;
    for (int c = 0; c < sqlite3_column_count(st.get()); ++c) {
      const unsigned char* t = sqlite3_column_text(st.get(), c);
      row += (c ? " | " : "") + std::string(t ? reinterpret_cast<const char*>(t) : "NULL");
    }
    rows->push_back(row);
  }
  if (rc != SQLITE_DONE) {
    *error = std::string(sqlite3_errmsg(db)) + " in: " + sql;
    return false;
  }
  return true;
}

// One text value from a scalar call, or an error message.
struct CallResult {
  bool ok = false;
  std::string text;  // the result, or the error message
};
CallResult Call(sqlite3* db, const std::string& sql, const std::vector<std::string>& params) {
  std::string error;
  StmtPtr st = Prepare(db, sql, &error);
  if (!st) return {false, error};
  for (size_t i = 0; i < params.size(); ++i)
    sqlite3_bind_text(st.get(), static_cast<int>(i) + 1, params[i].c_str(), -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step(st.get());
  if (rc != SQLITE_ROW) return {false, sqlite3_errmsg(db)};
  const unsigned char* t = sqlite3_column_text(st.get(), 0);
  return {true, t ? reinterpret_cast<const char*>(t) : "NULL"};
}

// ---------------------------------------------------------------------------
// Values for random rows.

struct Value {
  int type = SQLITE_NULL;
  int64_t i = 0;
  double r = 0;
  std::string s;  // text or blob bytes
};

void Bind(sqlite3_stmt* st, int idx, const Value& v) {
  switch (v.type) {
    case SQLITE_INTEGER: sqlite3_bind_int64(st, idx, v.i); break;
    case SQLITE_FLOAT: sqlite3_bind_double(st, idx, v.r); break;
    case SQLITE_TEXT: sqlite3_bind_text(st, idx, v.s.data(), static_cast<int>(v.s.size()), SQLITE_TRANSIENT); break;
    case SQLITE_BLOB: sqlite3_bind_blob(st, idx, v.s.data(), static_cast<int>(v.s.size()), SQLITE_TRANSIENT); break;
    default: sqlite3_bind_null(st, idx);
  }
}

Value RandomValue(cv::Rng& rng, const std::string& type) {
  static const std::vector<std::string> kText = {"abc", "Abc", "ABC", "x y", "abc ", "\xc3\xa9t\xc3\xa9", "",
                                                 "it's", "same", "forbidden", "zzz", "x"};
  static const std::vector<std::string> kNumText = {"12", "007", "3.5", " 4", "1e2", "-3"};
  std::string aff = cv::AffinityOf(type);
  // Weights: int, real, numeric text, text, blob, null.
  std::vector<int> w;
  if (aff == "INTEGER") w = {60, 5, 10, 10, 0, 15};
  else if (aff == "TEXT") w = {10, 3, 10, 57, 5, 15};
  else if (aff == "REAL") w = {25, 45, 5, 10, 0, 15};
  else if (aff == "NUMERIC") w = {35, 20, 20, 10, 0, 15};
  else w = {20, 15, 10, 25, 15, 15};
  int total = 0;
  for (int x : w) total += x;
  int k = rng.Int(0, total - 1), cls = 0;
  while (k >= w[static_cast<size_t>(cls)]) k -= w[static_cast<size_t>(cls++)];
  Value v;
  switch (cls) {
    case 0: v.type = SQLITE_INTEGER; v.i = rng.Chance(0.1) ? 0 : rng.Int(-5, 60); break;
    case 1: v.type = SQLITE_FLOAT; v.r = rng.Int(-20, 40) + (rng.Chance(0.5) ? 0.5 : 0.25); break;
    case 2: v.type = SQLITE_TEXT; v.s = rng.Pick(kNumText); break;
    case 3: v.type = SQLITE_TEXT; v.s = rng.Pick(kText); break;
    case 4: v.type = SQLITE_BLOB; v.s = rng.Chance(0.5) ? std::string("\x00\xff", 2) : "A"; break;
    default: break;
  }
  return v;
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// The column that is the rowid (INTEGER PRIMARY KEY, column or table level).
const cv::Column* AliasOf(const cv::Table& t) {
  if (t.without_rowid) return nullptr;
  if (const cv::Column* c = t.RowidAlias()) return c;
  if (t.pk.size() == 1) {
    const cv::Column* c = t.Find(t.pk[0]);
    if (c && Upper(c->type) == "INTEGER") return c;
  }
  return nullptr;
}

// Whether `c` can hold no NULL: NOT NULL, or a PRIMARY KEY column of a
// WITHOUT ROWID or STRICT table (SQLite makes those NOT NULL; the rowid
// alias of a STRICT table is the exception: a NULL takes a new rowid).
bool Required(const cv::Table& t, const cv::Column& c) {
  if (c.not_null) return true;
  if (!t.without_rowid && (!t.strict || AliasOf(t) == &c)) return false;
  return c.pk || std::find(t.pk.begin(), t.pk.end(), c.id) != t.pk.end();
}

// ---------------------------------------------------------------------------
// One pair.

struct Stats {
  int pairs = 0, passed = 0, failed = 0, noop = 0, refusals = 0, refusals_in_tx = 0;
  int integrity_false_positives = 0;
  int rows = 0;
  std::map<std::string, int> ops;
  std::map<std::string, int> rollback_methods;
  std::map<std::string, int> excluded;  // known engine bug -> pairs
};

class PairRun {
 public:
  PairRun(uint64_t seed, const fs::path& dir, bool verbose)
      : seed_(seed), dir_(dir), verbose_(verbose), rng_(seed * 0x9E3779B97F4A7C15ull + 7) {}
  // "" when every check passed, else what failed.
  std::string Run(Stats* stats);
  std::string Describe() const;

 private:
  std::string Setup();
  std::string FillRows();
  bool InsertRow(const cv::Table& ot, bool keep_violation, bool* violation);
  std::string TableRows(sqlite3* db, const cv::Table& t, bool with_rowid,
                        const std::set<int>& skip_cols, std::vector<std::string>* rows);
  std::string CompareData();
  std::string Snapshot(std::map<std::string, std::vector<std::string>>* out);
  std::string Health(sqlite3* db, const char* when);

  uint64_t seed_;
  fs::path dir_;
  bool verbose_;
  cv::Rng rng_;
  cv::Pair pair_;
  std::string old_ddl_, new_ddl_, options_;
  DbPtr db_, expected_;
  std::map<int, std::vector<int64_t>> parent_ids_;  // table id -> ids inserted
  bool expect_refusal_ = false;
  std::string plan_text_, apply_result_, rollback_result_;
  std::vector<std::string> log_;

 public:
  int integrity_false_positives_ = 0;
  std::string excluded_;  // a known engine limitation this pair ran into
};

std::string PairRun::Describe() const {
  std::string out = "  mutations:";
  for (const std::string& m : pair_.mutations) out += " [" + m + "]";
  out += "\n--- old DDL\n" + old_ddl_ + "--- desired DDL\n" + new_ddl_ + "--- options " + options_ +
         "\n--- plan\n" + plan_text_ + "--- apply: " + apply_result_ + "\n--- rollback: " +
         rollback_result_ + "\n";
  for (const std::string& l : log_) out += l + "\n";
  return out;
}

std::string PairRun::Setup() {
  pair_ = cv::GeneratePair(seed_);
  old_ddl_ = cv::RenderSchema(pair_.old_schema, rng_, false);
  new_ddl_ = cv::RenderSchema(pair_.new_schema, rng_, true);
  nlohmann::json opt = {{"allow_destructive", true},
                        {"backup", rng_.Chance(0.3) ? "always" : "auto"},
                        {"backup_dir", (dir_ / "backups").string()}};
  if (!pair_.option_renames.empty()) opt["rename"] = pair_.option_renames;
  options_ = opt.dump();
  std::string error;
  db_ = Open((dir_ / "db.sqlite").string(), &error, true);
  if (!db_) return error;
  if (!Exec(db_.get(), "PRAGMA foreign_keys = ON; PRAGMA synchronous = OFF;", &error)) return error;
  if (!Exec(db_.get(), old_ddl_, &error)) return "generator: the old DDL does not load: " + error;
  expected_ = Open(":memory:", &error, false);
  if (!expected_) return error;
  // Foreign keys are checked after each expected row with foreign_key_check,
  // as the migration checks them, not enforced on insert: SQLite 3.40's
  // insert-time check refuses a REAL child value (54.0) for an INTEGER
  // PRIMARY KEY parent (54) that foreign_key_check (and a cascade) matches.
  if (!Exec(expected_.get(), "PRAGMA foreign_keys = OFF;", &error)) return error;
  if (!Exec(expected_.get(), new_ddl_, &error)) return "generator: the desired DDL does not load: " + error;
  return "";
}

// Inserts one random row of old table `ot` into the live database and its
// image (as the migration must carry it) into the expected database. Both
// accept: kept. Either refuses: undone on both (unless `keep_violation`
// and only the expected side refused: then kept in the live database alone,
// *violation set).
bool PairRun::InsertRow(const cv::Table& ot, bool keep_violation, bool* violation) {
  *violation = false;
  sqlite3* live = db_.get();
  sqlite3* exp = expected_.get();
  const cv::Table* nt = pair_.new_schema.FindTable(ot.id);

  std::vector<const cv::Column*> cols;
  std::vector<Value> vals;
  for (const cv::Column& c : ot.cols) {
    if (c.gen) continue;
    if (c.pk && rng_.Chance(0.7)) continue;  // the rowid picks itself
    Value v;
    if (c.fk) {
      const std::vector<int64_t>& ids = parent_ids_[c.fk->parent];
      int k = rng_.Int(0, 9);
      if (k < 7 && !ids.empty()) v = {SQLITE_INTEGER, ids[static_cast<size_t>(rng_.Int(0, static_cast<int>(ids.size()) - 1))], 0, ""};
      else if (k < 9) v = {};
      else v = {SQLITE_INTEGER, 999, 0, ""};
    } else if (c.pk) {
      v = {SQLITE_INTEGER, rng_.Int(1, 300), 0, ""};
    } else {
      v = RandomValue(rng_, c.type);
    }
    cols.push_back(&c);
    vals.push_back(v);
  }
  std::string sql = "INSERT INTO " + cv::Q(ot.name);
  if (cols.empty()) {
    sql += " DEFAULT VALUES";
  } else {
    sql += "(";
    for (size_t i = 0; i < cols.size(); ++i) sql += (i ? ", " : "") + cv::Q(cols[i]->name);
    sql += ") VALUES (";
    for (size_t i = 0; i < cols.size(); ++i) sql += i ? ", ?" : "?";
    sql += ")";
  }
  // The values as stored (after the old column's affinity) are read back
  // with a SELECT: RETURNING shows registers that a CHECK's comparison may
  // have converted in place (SQLite 3.40), not always the stored values.
  std::string read = "SELECT " + std::string(ot.without_rowid ? "NULL" : "rowid");
  std::vector<const cv::Column*> stored;
  for (const cv::Column& c : ot.cols)
    if (!c.gen) {
      read += ", " + cv::Q(c.name);
      stored.push_back(&c);
    }
  read += " FROM " + cv::Q(ot.name) + " WHERE ";
  std::vector<size_t> key_vals;  // WITHOUT ROWID: the PK values as bound
  if (ot.without_rowid) {
    for (size_t k = 0; k < ot.pk.size(); ++k) {
      read += (k ? " AND " : "") + cv::Q(ot.Find(ot.pk[k])->name) + " = ?";
      for (size_t i = 0; i < cols.size(); ++i)
        if (cols[i]->id == ot.pk[k]) key_vals.push_back(i);
    }
  } else {
    read += "rowid = ?";
  }

  Exec(live, "SAVEPOINT row");
  Exec(exp, "SAVEPOINT row");
  auto undo = [&] {
    Exec(live, "ROLLBACK TO row; RELEASE row");
    Exec(exp, "ROLLBACK TO row; RELEASE row");
    return false;
  };
  std::string error;
  StmtPtr ins = Prepare(live, sql, &error);
  if (!ins) {
    log_.push_back("insert prepare: " + error);
    return undo();
  }
  for (size_t i = 0; i < vals.size(); ++i) Bind(ins.get(), static_cast<int>(i) + 1, vals[i]);
  if (sqlite3_step(ins.get()) != SQLITE_DONE) return undo();
  ins = Prepare(live, read, &error);
  if (!ins) {
    log_.push_back("read back: " + error);
    return undo();
  }
  if (ot.without_rowid) {
    if (key_vals.size() != ot.pk.size()) return undo();
    for (size_t k = 0; k < key_vals.size(); ++k) Bind(ins.get(), static_cast<int>(k) + 1, vals[key_vals[k]]);
  } else {
    sqlite3_bind_int64(ins.get(), 1, sqlite3_last_insert_rowid(live));
  }
  if (sqlite3_step(ins.get()) != SQLITE_ROW) {
    log_.push_back("read back found no row: " + read);
    return undo();
  }
  if (ot.HasParentKey()) parent_ids_[ot.id].push_back(sqlite3_column_int64(ins.get(), 0));

  // The expected side: the row as the migration must carry it.
  bool ok_expected = true;
  bool not_a_violation = false;  // refused for a reason the migration does not have
  if (nt) {
    bool both_rowid = !ot.without_rowid && !nt->without_rowid;
    const cv::Column* alias = AliasOf(*nt);
    std::vector<std::string> names;
    std::vector<sqlite3_value*> values;
    for (const cv::Column& c : nt->cols) {
      if (c.gen) continue;
      const cv::Column* oc = ot.Find(c.id);
      if (!oc || oc->gen) {
        if (both_rowid && alias == &c) {
          names.push_back(cv::Q(c.name));
          values.push_back(sqlite3_column_value(ins.get(), 0));
        }
        continue;
      }
      size_t k = 0;
      while (stored[k] != oc) ++k;
      sqlite3_value* v = sqlite3_column_value(ins.get(), static_cast<int>(k) + 1);
      if (sqlite3_value_type(v) == SQLITE_NULL) {
        // A NULL taking a new rowid would get whatever rowid comes next on
        // each side: not comparable, so such rows are not generated.
        if (alias == &c) not_a_violation = true;
        // NOT NULL with a DEFAULT: the migration fills NULLs with it
        // (README "NOT NULL with a DEFAULT fills NULLs"), also in a PRIMARY
        // KEY column of a table that becomes WITHOUT ROWID.
        if (Required(*nt, c) && c.dflt && *c.dflt != "NULL" && !Required(ot, *oc)) continue;
      }
      names.push_back(cv::Q(c.name));
      values.push_back(v);
    }
    if (both_rowid && !alias) {
      names.push_back("rowid");
      values.push_back(sqlite3_column_value(ins.get(), 0));
    }
    std::string esql = "INSERT INTO " + cv::Q(nt->name);
    if (names.empty()) {
      esql += " DEFAULT VALUES";
    } else {
      esql += "(";
      for (size_t i = 0; i < names.size(); ++i) esql += (i ? ", " : "") + names[i];
      esql += ") VALUES (";
      for (size_t i = 0; i < names.size(); ++i) esql += i ? ", ?" : "?";
      esql += ")";
    }
    StmtPtr e = Prepare(exp, esql, &error);
    if (!e) {
      log_.push_back("expected insert prepare: " + error);
      return undo();
    }
    for (size_t i = 0; i < values.size(); ++i) sqlite3_bind_value(e.get(), static_cast<int>(i) + 1, values[i]);
    ok_expected = !not_a_violation && sqlite3_step(e.get()) == SQLITE_DONE;
    // Foreign keys (not enforced on this connection, see Setup): check now.
    std::vector<std::string> fk;
    if (ok_expected && Query(exp, "SELECT * FROM pragma_foreign_key_check(?1)", {nt->name}, &fk, &error) && !fk.empty())
      ok_expected = false;
  }
  std::vector<std::string> fk;
  if (Query(live, "SELECT * FROM pragma_foreign_key_check(?1)", {ot.name}, &fk, &error) && !fk.empty()) return undo();
  ins.reset();
  if (!ok_expected) {
    if (!keep_violation || not_a_violation) return undo();
    Exec(live, "RELEASE row");
    Exec(exp, "ROLLBACK TO row; RELEASE row");
    *violation = true;
    return true;
  }
  Exec(live, "RELEASE row");
  Exec(exp, "RELEASE row");
  return true;
}

std::string PairRun::FillRows() {
  Exec(db_.get(), "BEGIN");
  Exec(expected_.get(), "BEGIN");
  // Old tables in order: parents come first (a child only references an
  // earlier table).
  for (const cv::Table& t : pair_.old_schema.tables) {
    int want = rng_.Int(0, 8);
    int got = 0;
    for (int attempt = 0; attempt < want * 3 && got < want; ++attempt) {
      bool violation = false;
      if (InsertRow(t, false, &violation)) ++got;
    }
  }
  expect_refusal_ = false;
  if (rng_.Chance(0.12)) {
    for (int attempt = 0; attempt < 60 && !expect_refusal_; ++attempt) {
      const cv::Table& t = pair_.old_schema.tables[static_cast<size_t>(
          rng_.Int(0, static_cast<int>(pair_.old_schema.tables.size()) - 1))];
      bool violation = false;
      InsertRow(t, true, &violation);
      expect_refusal_ = violation;
    }
  }
  std::string error;
  if (!Exec(db_.get(), "COMMIT", &error)) return "committing the rows: " + error;
  if (!Exec(expected_.get(), "COMMIT", &error)) return "committing the expected rows: " + error;
  return "";
}

// Every row of `t` (by its model), columns through quote(), in rowid order
// when `with_rowid`, else sorted.
std::string PairRun::TableRows(sqlite3* db, const cv::Table& t, bool with_rowid,
                               const std::set<int>& skip_cols, std::vector<std::string>* rows) {
  std::string sql = "SELECT " + std::string(with_rowid ? "rowid" : "''");
  for (const cv::Column& c : t.cols)
    if (!skip_cols.count(c.id)) sql += ", quote(" + cv::Q(c.name) + ")";
  sql += " FROM " + cv::Q(t.name) + (with_rowid ? " ORDER BY rowid" : "");
  std::string error;
  if (!Query(db, sql, {}, rows, &error)) return error;
  if (!with_rowid) std::sort(rows->begin(), rows->end());
  return "";
}

std::string PairRun::CompareData() {
  std::string out;
  for (const cv::Table& nt : pair_.new_schema.tables) {
    const cv::Table* ot = pair_.old_schema.FindTable(nt.id);
    bool with_rowid = ot && !ot->without_rowid && !nt.without_rowid;
    std::set<int> skip;  // CURRENT_TIMESTAMP defaults differ from run to run
    for (const cv::Column& c : nt.cols)
      if (c.dflt_volatile) skip.insert(c.id);
    std::vector<std::string> got, want;
    std::string e1 = TableRows(db_.get(), nt, with_rowid, skip, &got);
    std::string e2 = TableRows(expected_.get(), nt, with_rowid, skip, &want);
    if (!e1.empty() || !e2.empty()) {
      out += "data: " + nt.name + ": " + e1 + e2 + "\n";
      continue;
    }
    if (got == want) continue;
    out += "data: table " + nt.name + " differs (migrated " + std::to_string(got.size()) +
           " rows, expected " + std::to_string(want.size()) + ")\n";
    for (size_t i = 0; i < std::max(got.size(), want.size()) && i < 12; ++i) {
      std::string g = i < got.size() ? got[i] : "(none)", w = i < want.size() ? want[i] : "(none)";
      out += (g == w ? "    same:     " : "    migrated: ") + g + "\n";
      if (g != w) out += "    expected: " + w + "\n";
    }
  }
  return out;
}

std::string PairRun::Snapshot(std::map<std::string, std::vector<std::string>>* out) {
  for (const cv::Table& t : pair_.old_schema.tables) {
    std::string e = TableRows(db_.get(), t, !t.without_rowid, {}, &(*out)[t.name]);
    if (!e.empty()) return e;
  }
  return "";
}

std::string PairRun::Health(sqlite3* db, const char* when) {
  std::vector<std::string> rows;
  std::string error, out;
  // SQLite 3.40's false positives about WITHOUT ROWID tables are checked
  // against the data and dropped by the engine's own check (core/integrity.h).
  automigrate::Result<automigrate::IntegrityReport> ic =
      automigrate::RunIntegrityCheck(db, "main", /*quick=*/false, 100);
  if (!ic.ok()) return std::string(when) + ": " + ic.status().message() + "\n";
  for (const std::string& r : ic->problems) out += std::string(when) + ": integrity_check: " + r + "\n";
  integrity_false_positives_ += static_cast<int>(ic->false_positives);
  if (!Query(db, "PRAGMA foreign_key_check", {}, &rows, &error)) return std::string(when) + ": " + error + "\n";
  if (!rows.empty()) out += std::string(when) + ": foreign_key_check: " + rows[0] + " (" + std::to_string(rows.size()) + " rows)\n";
  return out;
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += "  " + s + "\n";
  return out;
}

std::string PairRun::Run(Stats* stats) {
  if (std::string e = Setup(); !e.empty()) return e;
  if (std::string e = FillRows(); !e.empty()) return e;
  sqlite3* db = db_.get();
  std::string error;
  std::vector<std::string> rows;
  for (const cv::Table& t : pair_.old_schema.tables) {
    if (Query(db, "SELECT count(*) FROM " + cv::Q(t.name), {}, &rows, &error)) stats->rows += std::stoi(rows[0]);
  }

  std::map<std::string, std::vector<std::string>> before;
  if (std::string e = Snapshot(&before); !e.empty()) return "snapshot: " + e;
  std::vector<std::string> schema_before;
  Query(db, "SELECT type, name, sql FROM sqlite_schema ORDER BY type, name", {}, &schema_before, &error);

  // The plan, for the report and the op counts.
  std::vector<std::string> plan;
  if (!Query(db, "SELECT step, op, object, destructive, replace(sql, char(10), ' ') FROM migrate_plan(?1, ?2)",
             {new_ddl_, options_}, &plan, &error))
    return "migrate_plan failed: " + error;
  plan_text_ = Join(plan);
  std::vector<std::string> ops;
  Query(db, "SELECT op FROM migrate_plan(?1, ?2)", {new_ddl_, options_}, &ops, &error);

  CallResult applied = Call(db, "SELECT migrate_apply(?1, ?2)", {new_ddl_, options_});
  apply_result_ = applied.text;
  if (expect_refusal_) {
    // A row breaks a rule of the desired schema: refused before anything
    // changes, or failed and rolled back; either way nothing changed.
    if (applied.ok) return "a row violates the desired schema, but migrate_apply succeeded";
    if (applied.text.rfind("migrate_apply: ", 0) != 0) return "refusal message does not name migrate_apply: " + applied.text;
    std::map<std::string, std::vector<std::string>> after;
    if (std::string e = Snapshot(&after); !e.empty()) return "after the refusal: " + e;
    if (after != before) return "migrate_apply refused but the rows changed";
    std::vector<std::string> schema_after;
    Query(db, "SELECT type, name, sql FROM sqlite_schema WHERE name NOT LIKE '\\_automigrate\\_%' ESCAPE '\\' "
              "AND name NOT LIKE 'sqlite_autoindex\\__automigrate%' ESCAPE '\\' ORDER BY type, name",
          {}, &schema_after, &error);
    if (schema_after != schema_before) return "migrate_apply refused but the schema changed";
    if (std::string h = Health(db, "after the refusal"); !h.empty()) return h;
    std::vector<std::string> batches;
    Query(db, "SELECT count(*) FROM sqlite_schema WHERE name = '_automigrate_history'", {}, &batches, &error);
    ++stats->refusals;
    if (!batches.empty() && batches[0] != "0") ++stats->refusals_in_tx;
    return "";
  }
  if (!applied.ok) return "migrate_apply failed: " + applied.text;
  for (const std::string& op : ops) ++stats->ops[op];
  nlohmann::json result = nlohmann::json::parse(applied.text, nullptr, false);
  if (result.is_discarded() || !result.value("ok", false)) return "migrate_apply result: " + applied.text;

  // 3. The migrated database.
  std::string failures;
  std::vector<std::string> replan;
  if (!Query(db, "SELECT op || ' ' || object || ': ' || sql FROM migrate_plan(?1, ?2)", {new_ddl_, options_}, &replan, &error))
    failures += "re-plan failed: " + error + "\n";
  else if (!replan.empty())
    failures += "re-plan after apply is not empty:\n" + Join(replan);
  automigrate::testing::OracleOptions oo;
  oo.a_label = "migrated";
  oo.b_label = "desired";
  std::vector<std::string> diff = automigrate::testing::SchemaDifferences(db, expected_.get(), oo);
  if (!diff.empty()) failures += "oracle: migrated schema differs from the desired one:\n" + Join(diff);
  failures += CompareData();
  failures += Health(db, "after apply");
  if (!failures.empty()) return failures;

  if (result["batch"].is_null()) {
    ++stats->noop;
    rollback_result_ = "(nothing applied)";
    return "";
  }

  // 4. Roll back.
  std::string method = "auto";
  int k = rng_.Int(0, 9);
  std::vector<std::string> possible;
  Query(db, "SELECT rollback_sql_possible, rollback_backup_possible FROM migration_batches WHERE batch = ?1",
        {std::to_string(result["batch"].get<int64_t>())}, &possible, &error);
  if (k >= 6 && !possible.empty()) {
    if (k < 8 && possible[0].rfind("1 |", 0) == 0) method = "sql";
    if (k >= 8 && possible[0].size() > 0 && possible[0].back() == '1') method = "backup";
  }
  CallResult rolled = Call(db, "SELECT migrate_rollback(?1)", {nlohmann::json{{"method", method}}.dump()});
  // A column the apply's rebuild added with a non-constant DEFAULT (such as
  // CURRENT_TIMESTAMP): its filled values cannot be told from written ones,
  // so rollback by SQL refuses by design; nothing was written since here,
  // so confirm with force, as a user would after reading the message.
  if (!rolled.ok && rolled.text.find("is not constant, so the values it filled in count too") !=
                        std::string::npos) {
    ++stats->rollback_methods["refused (non-constant DEFAULT), then force"];
    rolled = Call(db, "SELECT migrate_rollback(?1)",
                  {nlohmann::json{{"method", method}, {"force", true}}.dump()});
  }
  rollback_result_ = "method " + method + ": " + rolled.text;
  if (!rolled.ok) return "migrate_rollback (method " + method + ") failed: " + rolled.text;
  nlohmann::json rr = nlohmann::json::parse(rolled.text, nullptr, false);
  ++stats->rollback_methods[method + "->" + (rr.is_discarded() ? "?" : rr.value("method", "?"))];

  std::string e;
  DbPtr original = Open(":memory:", &e, false);
  if (!original || !Exec(original.get(), old_ddl_, &e)) return "loading the old DDL again: " + e;
  oo.compare_column_order = true;
  oo.a_label = "rolled back";
  oo.b_label = "original";
  diff = automigrate::testing::SchemaDifferences(db, original.get(), oo);
  if (!diff.empty()) failures += "oracle: rolled-back schema differs from the original:\n" + Join(diff);
  std::map<std::string, std::vector<std::string>> after;
  if (std::string s = Snapshot(&after); !s.empty()) {
    failures += "after rollback: " + s + "\n";
  } else {
    for (const auto& [table, want] : before) {
      if (after[table] == want) continue;
      failures += "rollback: rows of " + table + " differ from before the apply:\n";
      for (size_t i = 0; i < std::max(want.size(), after[table].size()) && i < 12; ++i) {
        failures += "    before: " + (i < want.size() ? want[i] : "(none)") + "\n";
        failures += "    after:  " + (i < after[table].size() ? after[table][i] : "(none)") + "\n";
      }
    }
  }
  failures += Health(db, "after rollback");
  return failures;
}

fs::path MakeDir() {
  std::string base = fs::exists("/dev/shm") && access("/dev/shm", W_OK) == 0 ? "/dev/shm"
                                                                             : fs::temp_directory_path().string();
  std::string templ = base + "/convergence-XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) return {};
  return fs::path(buf.data());
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<uint64_t> only_seed;
  uint64_t first_seed = 1;
  std::optional<int64_t> pairs_arg;
  bool verbose = false, keep = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "convergence: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--seed") only_seed = std::stoull(next());
    else if (a == "--first-seed") first_seed = std::stoull(next());
    else if (a == "--pairs") pairs_arg = std::stoll(next());
    else if (a == "--verbose" || a == "-v") verbose = true;
    else if (a == "--keep") keep = true;
    else {
      std::fprintf(stderr,
                   "usage: convergence [--seed N | --first-seed N --pairs N] [--verbose] [--keep]\n"
                   "  pairs default: 300 x AUTOMIGRATE_RELIABILITY_SCALE (default 1)\n");
      return 2;
    }
  }
  double scale = 1;
  if (const char* s = std::getenv("AUTOMIGRATE_RELIABILITY_SCALE"); s && *s) scale = std::atof(s);
  int64_t pairs = pairs_arg ? *pairs_arg : std::max<int64_t>(1, std::llround(300 * scale));
  if (only_seed) {
    first_seed = *only_seed;
    pairs = 1;
  }
  std::string self = fs::canonical("/proc/self/exe").string();

  Stats stats;
  auto start = std::chrono::steady_clock::now();
  for (int64_t n = 0; n < pairs; ++n) {
    uint64_t seed = first_seed + static_cast<uint64_t>(n);
    fs::path dir = MakeDir();
    if (dir.empty()) {
      std::fprintf(stderr, "convergence: cannot create a temporary directory\n");
      return 2;
    }
    std::string failure;
    std::string described;
    {
      PairRun run(seed, dir, verbose);
      failure = run.Run(&stats);
      if (!failure.empty() || verbose) described = run.Describe();
      stats.integrity_false_positives += run.integrity_false_positives_;
      if (failure.empty() && !run.excluded_.empty()) {
        ++stats.excluded[run.excluded_];
        std::printf("excluded seed %llu: %s\n", static_cast<unsigned long long>(seed), run.excluded_.c_str());
      }
    }
    ++stats.pairs;
    if (failure.empty()) {
      ++stats.passed;
      if (verbose) std::printf("seed %llu: ok\n%s", static_cast<unsigned long long>(seed), described.c_str());
    } else {
      ++stats.failed;
      std::printf("FAIL seed %llu: %s\n", static_cast<unsigned long long>(seed), failure.c_str());
      if (verbose) std::printf("%s", described.c_str());
      std::printf("  reproduce: %s --seed %llu --verbose\n", self.c_str(), static_cast<unsigned long long>(seed));
    }
    std::fflush(stdout);
    if (!keep) fs::remove_all(dir);
    else std::printf("  kept %s\n", dir.c_str());
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("convergence: %d pairs (seeds %llu..%llu) in %.1f s: %d passed, %d failed; %d rows; "
              "%d no-op plans; %d refusals verified (%d after BEGIN)\n",
              stats.pairs, static_cast<unsigned long long>(first_seed),
              static_cast<unsigned long long>(first_seed + static_cast<uint64_t>(pairs) - 1), secs,
              stats.passed, stats.failed, stats.rows, stats.noop, stats.refusals, stats.refusals_in_tx);
  std::string ops, methods;
  for (const auto& [op, n] : stats.ops) ops += " " + op + "=" + std::to_string(n);
  for (const auto& [m, n] : stats.rollback_methods) methods += " " + m + "=" + std::to_string(n);
  std::printf("  steps applied:%s\n  rollbacks (asked->used):%s\n", ops.c_str(), methods.c_str());
  for (const auto& [bug, n] : stats.excluded) std::printf("  excluded: %d pairs for %s\n", n, bug.c_str());
  if (stats.integrity_false_positives)
    std::printf("  ignored: %d integrity_check lines of SQLite 3.40's WITHOUT ROWID false positive "
                "(each checked against the column's values)\n", stats.integrity_false_positives);
  return stats.failed == 0 ? 0 : 1;
}
