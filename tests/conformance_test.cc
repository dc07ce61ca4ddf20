// The sqldef (sqlite3def) conformance suite: every case of
// shared/conformance/sqldef-sqlite3.yml, run with the procedure of
// shared/conformance/README.md against the built extension.
//
//   ./automigrate_tests --gtest_filter='Conformance*'
//   ctest -R 'Conformance/Sqldef.Case/RenameColumn'
//
// Each case goes through steps a..h; a failure names its step:
//   a  load `current` into a fresh file database, seed one row per table
//   b  plan `current` against it: must be empty
//   c  plan `desired` ({"allow_destructive": enable_drop}); destructive steps
//      must be exactly the case's table/column drops; a destructive plan
//      without permission is refused (not run); otherwise migrate_script is
//      run with `sqlite3 -bail` on the file
//   d  a no-op case (expected_up '' or tag noop) must plan nothing
//   e  the migrated schema equals a fresh load of `desired` (or of `current`
//      when refused), by the independent oracle (tests/support/schema_oracle.h)
//   f  re-planning `desired` finds nothing to do
//   g  the seeded rows survive in the tables and columns that still exist
//      (renamed ones followed through the case's @renamed hints)
//   h  with expected_down: migrate back to `current`, compare, re-plan empty
// Cases listed in tests/conformance/KNOWN.md are skipped with their reason.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/schema_oracle.h"
#include "support/test_util.h"

namespace automigrate::testing {
namespace {

constexpr size_t kExpectedCaseCount = 69;

const char* const kYamlPath = AUTOMIGRATE_SHARED_DIR "/conformance/sqldef-sqlite3.yml";
const char* const kKnownPath = AUTOMIGRATE_SOURCE_DIR "/tests/conformance/KNOWN.md";

struct Case {
  std::string name;
  std::string test_name;  // sanitized, unique
  std::vector<std::string> tags;
  bool enable_drop = true;
  std::string current;
  std::string desired;
  std::optional<std::string> expected_up;
  std::optional<std::string> expected_down;
  std::string expected_result;  // "current" or "" (= desired)

  bool HasTag(std::string_view tag) const {
    return std::find(tags.begin(), tags.end(), tag) != tags.end();
  }
};

struct Suite {
  std::vector<Case> cases;
  std::vector<std::string> errors;  // reading problems, reported by SuiteIsComplete
};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Sanitize(const std::string& name) {
  std::string out;
  for (char c : name) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out.empty() ? "unnamed" : out;
}

std::optional<std::string> OptionalString(const YAML::Node& node, const char* key) {
  YAML::Node v = node[key];
  if (!v.IsDefined() || v.IsNull()) return std::nullopt;
  return v.as<std::string>();
}

Suite ReadSuite() {
  Suite suite;
  YAML::Node root;
  try {
    root = YAML::LoadFile(kYamlPath);
  } catch (const std::exception& e) {
    suite.errors.push_back(std::string("cannot read ") + kYamlPath + ": " + e.what());
    return suite;
  }
  if (!root.IsSequence()) {
    suite.errors.push_back(std::string(kYamlPath) + " is not a YAML list");
    return suite;
  }
  std::set<std::string> used;
  for (size_t i = 0; i < root.size(); ++i) {
    const YAML::Node& n = root[i];
    Case c;
    try {
      if (!n.IsMap() || !n["name"] || !n["current"] || !n["desired"] || !n["enable_drop"]) {
        suite.errors.push_back("entry " + std::to_string(i) +
                               " lacks one of name, current, desired, enable_drop");
        continue;
      }
      c.name = n["name"].as<std::string>();
      c.enable_drop = n["enable_drop"].as<bool>();
      c.current = n["current"].as<std::string>();
      c.desired = n["desired"].as<std::string>();
      if (n["tags"] && n["tags"].IsSequence())
        for (const YAML::Node& t : n["tags"]) c.tags.push_back(t.as<std::string>());
      c.expected_up = OptionalString(n, "expected_up");
      c.expected_down = OptionalString(n, "expected_down");
      c.expected_result = OptionalString(n, "expected_result").value_or("");
    } catch (const std::exception& e) {
      suite.errors.push_back("entry " + std::to_string(i) + ": " + e.what());
      continue;
    }
    // gtest needs unique names made of [A-Za-z0-9_].
    std::string base = Sanitize(c.name);
    c.test_name = base;
    for (int k = 2; used.count(c.test_name); ++k) c.test_name = base + "_" + std::to_string(k);
    used.insert(c.test_name);
    suite.cases.push_back(std::move(c));
  }
  return suite;
}

const Suite& GetSuite() {
  static const Suite suite = ReadSuite();
  return suite;
}

std::string Trim(std::string s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  size_t e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// tests/conformance/KNOWN.md: the `| case | reason |` rows.
struct KnownList {
  bool read = false;
  std::map<std::string, std::string> reasons;  // case name -> reason
  std::vector<std::string> errors;
};

KnownList ReadKnown() {
  KnownList k;
  std::ifstream in(kKnownPath);
  if (!in) {
    k.errors.push_back(std::string("cannot read ") + kKnownPath);
    return k;
  }
  k.read = true;
  std::string line;
  bool header_seen = false;
  while (std::getline(in, line)) {
    line = Trim(line);
    if (line.empty() || line[0] != '|') continue;
    std::vector<std::string> cells;
    std::stringstream ss(line.substr(1));
    std::string cell;
    while (std::getline(ss, cell, '|')) cells.push_back(Trim(cell));
    if (!cells.empty() && cells.back().empty()) cells.pop_back();
    if (cells.size() < 2) {
      k.errors.push_back("malformed row: " + line);
      continue;
    }
    if (!header_seen && Lower(cells[0]) == "case") {
      header_seen = true;
      continue;
    }
    if (cells[0].find_first_not_of("-: ") == std::string::npos) continue;  // |---|---|
    std::string name = cells[0];
    name.erase(std::remove(name.begin(), name.end(), '`'), name.end());
    std::string reason = cells[1];
    for (size_t i = 2; i < cells.size(); ++i) reason += " | " + cells[i];
    if (reason.empty()) k.errors.push_back("no reason given for " + name);
    k.reasons[name] = reason;
  }
  if (!header_seen) k.errors.push_back("no `| case | reason |` table");
  return k;
}

const KnownList& GetKnown() {
  static const KnownList known = ReadKnown();
  return known;
}

// Printed, and kept in the XML report (--gtest_output=xml) as note_1, note_2...
void Note(const std::string& text) {
  static int count = 0;
  std::cout << "[   NOTE   ] " << text << "\n";
  ::testing::Test::RecordProperty("note_" + std::to_string(++count), text);
}

std::string Lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += "  " + l + "\n";
  return out.empty() ? "  (none)\n" : out;
}

// ---------------------------------------------------------------------------
// Rename hints in `desired`: "-- @renamed from=old" after a column or after
// "CREATE TABLE name (", "/* @renamed from=old */" after the table name,
// quoted old names, and the deprecated "@rename". Only what the data check
// needs: tables and columns.

struct Hints {
  std::map<std::string, std::string> table_from;  // lower old table -> lower new table
  // lower new table -> (lower old column -> lower new column)
  std::map<std::string, std::map<std::string, std::string>> column_from;
};

std::optional<std::string> HintedOldName(const std::string& comment) {
  static const std::regex kHint(
      R"(@renamed?\s+from=("(?:[^"]|"")*"|'(?:[^']|'')*'|`[^`]*`|\[[^\]]*\]|[^\s*]+))");
  std::smatch m;
  if (!std::regex_search(comment, m, kHint)) return std::nullopt;
  std::string v = m[1].str();
  if (v.size() >= 2 && (v[0] == '"' || v[0] == '\'' || v[0] == '`' || v[0] == '[')) {
    char close = v[0] == '[' ? ']' : v[0];
    std::string out;
    for (size_t i = 1; i + 1 < v.size(); ++i) {
      out += v[i];
      if (v[i] == close && v[i + 1] == close) ++i;
    }
    return out;
  }
  return v;
}

Hints ParseHints(const std::string& desired) {
  using oracle::Token;
  using oracle::TokenKind;
  Hints hints;
  std::vector<Token> toks = oracle::Tokenize(desired, /*keep_comments=*/true);
  auto word = [&](size_t k, std::string_view w) {
    return k < toks.size() && toks[k].kind == TokenKind::kWord && Lower(toks[k].text) == w;
  };
  auto punct = [&](size_t k, std::string_view p) {
    return k < toks.size() && toks[k].kind == TokenKind::kPunct && toks[k].text == p;
  };
  auto skip_comments = [&](size_t k) {
    while (k < toks.size() && toks[k].kind == TokenKind::kComment) ++k;
    return k;
  };
  for (size_t k = 0; k < toks.size(); ++k) {
    if (!word(k, "create")) continue;
    size_t j = skip_comments(k + 1);
    if (word(j, "temp") || word(j, "temporary")) j = skip_comments(j + 1);
    if (!word(j, "table")) continue;
    j = skip_comments(j + 1);
    if (word(j, "if")) j = skip_comments(j + 3);  // IF NOT EXISTS
    if (j >= toks.size()) break;
    std::string table = Lower(toks[j].value);
    if (punct(j + 1, ".") && j + 2 < toks.size()) table = Lower(toks[j = j + 2].value);
    std::optional<std::string> table_old;
    // Between the name and "(": a block-comment table hint.
    ++j;
    while (j < toks.size() && !punct(j, "(")) {
      if (toks[j].kind == TokenKind::kComment && !table_old)
        table_old = HintedOldName(toks[j].text);
      if (punct(j, ";")) break;
      ++j;
    }
    if (!punct(j, "(")) continue;
    int depth = 0;
    std::string column;  // the column definition most recently started
    bool expect_item = true;
    for (; j < toks.size(); ++j) {
      const Token& t = toks[j];
      if (t.kind == TokenKind::kComment) {
        std::optional<std::string> old = HintedOldName(t.text);
        if (!old) continue;
        if (column.empty()) {
          if (!table_old) table_old = old;
        } else {
          hints.column_from[table][Lower(*old)] = column;
        }
        continue;
      }
      if (punct(j, "(")) {
        if (++depth == 1) continue;
      }
      if (punct(j, ")") && --depth == 0) break;
      if (depth == 1 && punct(j, ",")) {
        expect_item = true;
        continue;
      }
      if (depth == 1 && expect_item) {
        expect_item = false;
        bool constraint = false;
        for (std::string_view kw : {"constraint", "primary", "unique", "check", "foreign"})
          constraint = constraint || (t.kind == TokenKind::kWord && Lower(t.text) == kw);
        if (!constraint) column = Lower(t.value);
      }
    }
    if (table_old) hints.table_from[Lower(*table_old)] = table;
    k = j;
  }
  return hints;
}

// ---------------------------------------------------------------------------
// Schema facts the steps need, read with plain pragmas.

struct ColumnInfo {
  std::string name, type;
  bool not_null = false;
  int pk = 0;
  int hidden = 0;
};

std::vector<std::string> TableNames(sqlite3* db, bool with_virtual) {
  std::vector<std::string> out;
  std::string sql =
      "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type IN ('table'" +
      std::string(with_virtual ? ", 'virtual'" : "") +
      ") AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_automigrate\\_%' ESCAPE "
      "'\\'"
      " ORDER BY name";
  for (const Row& r : QueryRows(db, sql)) out.push_back(r[0]);
  return out;
}

std::vector<ColumnInfo> Columns(sqlite3* db, const std::string& table) {
  std::vector<ColumnInfo> out;
  for (const Row& r :
       QueryRows(db,
                 "SELECT name, type, \"notnull\", pk, hidden FROM pragma_table_xinfo(?1, 'main')"
                 " ORDER BY cid",
                 {table})) {
    out.push_back({r[0], r[1], r[2] == "1", std::atoi(r[3].c_str()), std::atoi(r[4].c_str())});
  }
  return out;
}

// The stored spelling of `table` in `db` (names are case-insensitive), or "".
std::string FindTable(sqlite3* db, const std::string& table) {
  for (const std::string& t : TableNames(db, true))
    if (Lower(t) == Lower(table)) return t;
  return "";
}

// What going from `current` to `desired` drops, hinted renames taken into
// account: the tables and columns whose data cannot survive.
struct Drops {
  std::set<std::string> tables;                          // lower
  std::map<std::string, std::set<std::string>> columns;  // lower (old) table -> lower columns
  std::map<std::string, std::string> renamed;            // lower old table -> lower new table
  bool empty() const { return tables.empty() && columns.empty(); }
  // `table` (a plan row's table, either spelling) is `old_table` or its new name.
  bool Same(const std::string& table, const std::string& old_table) const {
    auto r = renamed.find(old_table);
    return table == old_table || (r != renamed.end() && table == r->second);
  }
  // `table` loses a table or columns.
  bool Loses(const std::string& table) const {
    if (tables.count(table)) return true;
    for (const auto& [t, cols] : columns)
      if (Same(table, t)) return true;
    return false;
  }
  std::string Describe() const {
    std::string out;
    for (const std::string& t : tables)
      out += (out.empty() ? "" : ", ") + std::string("table ") + t;
    for (const auto& [t, cols] : columns)
      for (const std::string& c : cols)
        out += (out.empty() ? "" : ", ") + std::string("column ") + t + "." + c;
    return out.empty() ? "nothing" : out;
  }
};

Drops ComputeDrops(sqlite3* current, sqlite3* desired, const Hints& hints) {
  Drops d;
  std::set<std::string> desired_tables;
  for (const std::string& t : TableNames(desired, true)) desired_tables.insert(Lower(t));
  for (const std::string& t : TableNames(current, true)) {
    std::string old_name = Lower(t);
    auto renamed = hints.table_from.find(old_name);
    std::string new_name = renamed != hints.table_from.end() ? renamed->second : old_name;
    if (new_name != old_name) d.renamed[old_name] = new_name;
    if (!desired_tables.count(new_name)) {
      d.tables.insert(old_name);
      continue;
    }
    std::set<std::string> desired_cols;
    std::string desired_spelling = FindTable(desired, new_name);
    for (const ColumnInfo& c : Columns(desired, desired_spelling))
      if (c.hidden == 0) desired_cols.insert(Lower(c.name));
    auto col_hints = hints.column_from.find(new_name);
    for (const ColumnInfo& c : Columns(current, t)) {
      if (c.hidden != 0) continue;  // generated: no data of its own
      std::string col = Lower(c.name);
      if (col_hints != hints.column_from.end()) {
        auto h = col_hints->second.find(col);
        if (h != col_hints->second.end()) col = h->second;
      }
      if (!desired_cols.count(col)) d.columns[old_name].insert(Lower(c.name));
    }
  }
  return d;
}

// ---------------------------------------------------------------------------
// Seeding: one row per ordinary table (README step 8).

struct SeededTable {
  std::string name;
  std::vector<std::string> columns;  // non-generated columns, as stored
  Rows rows;                         // all rows after seeding (triggers may add some)
};

struct Seed {
  std::vector<SeededTable> tables;
  std::vector<std::string> notes;
};

// A literal for column number `i` of `table` by the declared type's affinity
// (SQLite's rules), distinct per column so that swapped columns show.
std::string SampleValue(const std::string& table, const ColumnInfo& c, int i) {
  std::string t = Lower(c.type);
  auto has = [&](const char* s) { return t.find(s) != std::string::npos; };
  if (has("int")) return std::to_string(100 + i);
  if (has("char") || has("clob") || has("text") || t == "any" || t.empty()) {
    std::string v = table + "." + c.name;
    std::string q = "'";
    for (char ch : v) q += ch == '\'' ? std::string("''") : std::string(1, ch);
    return q + "'";
  }
  if (has("blob")) return "X'CAFE" + std::string(i < 10 ? "0" : "") + std::to_string(i % 100) + "'";
  if (has("real") || has("floa") || has("doub")) return std::to_string(100 + i) + ".5";
  return std::to_string(100 + i);  // NUMERIC affinity
}

Seed SeedRows(sqlite3* db) {
  Seed seed;
  std::vector<std::string> tables = TableNames(db, false);
  // Parents before children, so foreign-key columns can take a parent's key.
  std::map<std::string, std::vector<std::string>> parents;
  for (const std::string& t : tables)
    for (const Row& r :
         QueryRows(db, "SELECT DISTINCT \"table\" FROM pragma_foreign_key_list(?1, 'main')", {t}))
      parents[t].push_back(r[0]);
  std::vector<std::string> order;
  std::set<std::string> visiting, done;
  std::function<void(const std::string&)> visit = [&](const std::string& t) {
    if (done.count(t) || visiting.count(t)) return;  // cycles: any order
    visiting.insert(t);
    for (const std::string& p : parents[t]) {
      std::string spelled = FindTable(db, p);
      if (!spelled.empty()) visit(spelled);
    }
    done.insert(t);
    order.push_back(t);
  };
  for (const std::string& t : tables) visit(t);

  TryExec(db, "PRAGMA foreign_keys = ON");
  for (const std::string& t : order) {
    std::vector<ColumnInfo> cols = Columns(db, t);
    bool without_rowid = IsWithoutRowid(db, t);
    int pk_count = 0;
    for (const ColumnInfo& c : cols) pk_count += c.pk > 0;
    // Foreign-key columns: the parent's referenced value.
    std::map<std::string, std::string> fk_value;
    for (const Row& r : QueryRows(
             db, "SELECT \"table\", \"from\", \"to\" FROM pragma_foreign_key_list(?1, 'main')",
             {t})) {
      std::string to = r[2];
      if (to == "NULL") {
        Rows pk = QueryRows(
            db, "SELECT name FROM pragma_table_info(?1, 'main') WHERE pk > 0 ORDER BY pk", {r[0]});
        to = pk.empty() ? "rowid" : pk[0][0];
      }
      fk_value[Lower(r[1])] =
          "(SELECT " + QuoteId(to) + " FROM main." + QuoteId(r[0]) + " LIMIT 1)";
    }
    std::string names, values;
    int i = 0;
    for (const ColumnInfo& c : cols) {
      ++i;
      if (c.hidden != 0) continue;  // generated
      bool rowid_alias = !without_rowid && pk_count == 1 && c.pk == 1 && Lower(c.type) == "integer";
      if (rowid_alias) continue;  // automatic values (README: triggers insert too)
      auto fk = fk_value.find(Lower(c.name));
      names += (names.empty() ? "" : ", ") + QuoteId(c.name);
      values +=
          (values.empty() ? "" : ", ") + (fk != fk_value.end() ? fk->second : SampleValue(t, c, i));
    }
    std::string explicit_insert =
        names.empty()
            ? "INSERT INTO main." + QuoteId(t) + " DEFAULT VALUES"
            : "INSERT INTO main." + QuoteId(t) + " (" + names + ") VALUES (" + values + ")";
    std::string error1, error2;
    if (!TryExec(db, explicit_insert, &error1) &&
        !TryExec(db, "INSERT INTO main." + QuoteId(t) + " DEFAULT VALUES", &error2)) {
      seed.notes.push_back("table " + t + " not seeded: " + error1 +
                           " / DEFAULT VALUES: " + error2);
    }
  }
  TryExec(db, "PRAGMA foreign_keys = OFF");

  for (const std::string& t : order) {
    SeededTable s;
    s.name = t;
    for (const ColumnInfo& c : Columns(db, t))
      if (c.hidden == 0) s.columns.push_back(c.name);
    s.rows = TableRows(db, t, s.columns);
    seed.tables.push_back(std::move(s));
  }
  return seed;
}

// ---------------------------------------------------------------------------

// The (lower-case) table a plan row belongs to: table_name, else the table
// part of a "table.column" object, else the object.
std::string StepTable(const PlanRow& p) {
  if (!p.table_name.empty()) return Lower(p.table_name);
  return Lower(p.object.substr(0, p.object.find('.')));
}

std::string OptionsJson(bool allow_destructive) {
  return std::string("{\"allow_destructive\": ") + (allow_destructive ? "true" : "false") + "}";
}

bool FunctionExists(sqlite3* db, const char* name) {
  Rows r;
  TryQueryRows(db, "SELECT 1 FROM pragma_function_list WHERE name = ?1", {std::string(name)}, &r);
  return !r.empty();
}

bool ModuleExists(sqlite3* db, const char* name) {
  Rows r;
  TryQueryRows(db, "SELECT 1 FROM pragma_module_list WHERE name = ?1", {std::string(name)}, &r);
  return !r.empty();
}

// A fresh in-memory load of `sql`, without the extension (a reference).
std::unique_ptr<TestDb> Fresh(const std::string& sql) {
  auto db = std::make_unique<TestDb>(TestDb::Kind::kMemory, /*load_extension=*/false);
  if (db->ok()) db->Exec(sql);
  return db;
}

OracleOptions Labels(const char* a, const char* b) {
  OracleOptions o;
  o.a_label = a;
  o.b_label = b;
  return o;
}

class Sqldef : public ::testing::TestWithParam<size_t> {
 protected:
  // Plans `desired` on db, writes the script and runs it with the shell.
  // Returns false (after reporting, prefixed by `step`) on any failure.
  bool Apply(TestDb& db, const std::string& step, const std::string& desired,
             const std::string& options, const std::vector<PlanRow>& plan, std::string* script_out);
};

bool Sqldef::Apply(TestDb& db, const std::string& step, const std::string& desired,
                   const std::string& options, const std::vector<PlanRow>& plan,
                   std::string* script_out) {
  Rows script_rows;
  std::string error;
  if (!TryQueryRows(db.db(), "SELECT migrate_script(?1, ?2)", {desired, options}, &script_rows,
                    &error) ||
      script_rows.empty()) {
    ADD_FAILURE() << step << ": migrate_script failed: " << error << "\nplan:\n"
                  << FormatPlan(plan);
    return false;
  }
  std::string script = script_rows[0][0];
  *script_out = script;
  bool ok = true;
  for (const PlanRow& p : plan) {
    if (script.find(p.sql) == std::string::npos) {
      ADD_FAILURE() << step << ": the SQL of plan step " << p.step << " (" << p.op << " "
                    << p.object << ") is not in the script\nstep sql:\n"
                    << p.sql << "\nscript:\n"
                    << script;
      ok = false;
    }
  }
  if (!plan.empty() && (script.find("BEGIN IMMEDIATE") == std::string::npos ||
                        script.find("COMMIT") == std::string::npos)) {
    ADD_FAILURE() << step << ": the script is not wrapped in BEGIN IMMEDIATE ... COMMIT\nscript:\n"
                  << script;
    ok = false;
  }
  db.Close();  // the shell writes the file
  ShellResult r = RunShellScript(db.path(), script);
  bool reopened = db.Reopen();
  if (r.exit_code != 0) {
    ADD_FAILURE() << step << ": `sqlite3 -bail` exited with " << r.exit_code << "\nstderr:\n"
                  << r.err << "\nstdout:\n"
                  << r.out << "\nplan:\n"
                  << FormatPlan(plan) << "script:\n"
                  << script;
    return false;
  }
  if (!reopened) return false;
  std::string integrity = db.QueryString("PRAGMA integrity_check");
  if (integrity != "ok") {
    ADD_FAILURE() << step << ": integrity_check after the script: " << integrity;
    ok = false;
  }
  Rows fk = db.QueryRows("SELECT * FROM pragma_foreign_key_check");
  if (!fk.empty()) {
    ADD_FAILURE() << step << ": foreign_key_check after the script:\n" << FormatRows(fk);
    ok = false;
  }
  return ok;
}

TEST_P(Sqldef, Case) {
  const Case& c = GetSuite().cases.at(GetParam());
  const KnownList& known = GetKnown();
  auto k = known.reasons.find(c.name);
  if (k != known.reasons.end())
    GTEST_SKIP() << "listed in tests/conformance/KNOWN.md: " << k->second;

  const std::string options = OptionsJson(c.enable_drop);
  const Hints hints = ParseHints(c.desired);

  // Side facts from clean loads: what the case drops, and whether current
  // and desired are the same schema.
  std::unique_ptr<TestDb> fresh_current = Fresh(c.current);
  std::unique_ptr<TestDb> fresh_desired = Fresh(c.desired);
  ASSERT_FALSE(HasFailure()) << "current or desired does not load into a fresh database";
  const Drops drops = ComputeDrops(fresh_current->db(), fresh_desired->db(), hints);
  const std::vector<std::string> current_vs_desired =
      SchemaDifferences(fresh_current->db(), fresh_desired->db(), Labels("current", "desired"));

  // --- a ---
  TestDb db(TestDb::Kind::kFile);
  ASSERT_TRUE(db.ok()) << "step a: cannot open a test database with the extension";
  Seed seed;
  {
    SCOPED_TRACE("step a (load `current`, seed one row per table)");
    ASSERT_TRUE(db.Exec(c.current)) << "step a: `current` does not load";
    seed = SeedRows(db.db());
    ASSERT_FALSE(HasFailure());
    for (const std::string& n : seed.notes) Note(c.name + ": " + n);
    ASSERT_TRUE(ModuleExists(db.db(), "migrate_plan"))
        << "the extension registers no migrate_plan table-valued function (ext/)";
  }

  // --- b ---
  {
    SCOPED_TRACE("step b (plan `current` against itself)");
    std::vector<PlanRow> self = db.PlanRows(c.current);
    EXPECT_TRUE(self.empty())
        << "step b: planning `current` against the database just loaded from it "
           "must find nothing to do, got:\n"
        << FormatPlan(self);
  }

  // --- c ---
  std::vector<PlanRow> plan;
  bool refused = false;
  std::string script;
  {
    SCOPED_TRACE("step c (plan and apply `desired`)");
    std::string error;
    ASSERT_TRUE(TryPlanRows(db.db(), c.desired, options, &plan, &error))
        << "step c: migrate_plan(desired, '" << options << "') failed: " << error;

    // Destructive steps are exactly the drops (DESIGN: destructive = rows or
    // columns are lost), whatever enable_drop says.
    std::vector<const PlanRow*> destructive;
    for (const PlanRow& p : plan)
      if (p.destructive) destructive.push_back(&p);
    for (const std::string& t : drops.tables) {
      bool named = std::any_of(destructive.begin(), destructive.end(), [&](const PlanRow* p) {
        return StepTable(*p) == t || Lower(p->object) == t;
      });
      EXPECT_TRUE(named) << "step c: the case drops table " << t
                         << ", but no destructive step names it. Plan:\n"
                         << FormatPlan(plan);
    }
    for (const auto& [t, cols] : drops.columns) {
      for (const std::string& col : cols) {
        bool named = std::any_of(destructive.begin(), destructive.end(), [&](const PlanRow* p) {
          std::string text =
              Lower(p->object + "\n" + p->warning + "\n" + p->reason + "\n" + p->sql);
          return drops.Same(StepTable(*p), t) && text.find(col) != std::string::npos;
        });
        EXPECT_TRUE(named) << "step c: the case drops column " << t << "." << col
                           << ", but no destructive step of table " << t << " names it. Plan:\n"
                           << FormatPlan(plan);
      }
    }
    for (const PlanRow* p : destructive) {
      EXPECT_TRUE(drops.Loses(StepTable(*p)))
          << "step c: step " << p->step << " (" << p->op << " " << p->object
          << ") is marked destructive, but the case drops " << drops.Describe()
          << " (hinted renames keep their data). Plan:\n"
          << FormatPlan(plan);
    }

    refused = !c.enable_drop && !destructive.empty();
    if (refused) {
      ASSERT_EQ(c.expected_result, "current")
          << "step c: with allow_destructive false the plan is destructive, so apply would be "
             "refused; "
             "but this case must reach `desired` without losing data. Plan:\n"
          << FormatPlan(plan);
      Note(c.name + ": destructive plan without allow_destructive: apply refused, as designed");
      if (FunctionExists(db.db(), "migrate_apply")) {
        Rows r;
        std::string apply_error;
        bool applied = TryQueryRows(db.db(), "SELECT migrate_apply(?1, ?2)", {c.desired, options},
                                    &r, &apply_error);
        EXPECT_FALSE(applied) << "step c: migrate_apply must refuse a destructive plan without "
                                 "allow_destructive, but returned "
                              << (r.empty() ? "" : r[0][0]);
        if (!applied) {
          EXPECT_EQ(apply_error.rfind("migrate_apply", 0), 0u)
              << "step c: the refusal should start with the function name: " << apply_error;
          for (const std::string& t : drops.tables)
            EXPECT_NE(Lower(apply_error).find(t), std::string::npos)
                << "step c: the refusal should name table " << t << ": " << apply_error;
          for (const auto& [t, cols] : drops.columns)
            for (const std::string& col : cols)
              EXPECT_NE(Lower(apply_error).find(col), std::string::npos)
                  << "step c: the refusal should name column " << t << "." << col << ": "
                  << apply_error;
        }
      } else {
        Note(c.name +
             ": migrate_apply is not registered; the refusal was checked on the plan only");
      }
    } else {
      if (c.expected_result == "current" && !drops.empty())
        ADD_FAILURE()
            << "step c: the case drops " << drops.Describe()
            << " with allow_destructive false, so the plan must be destructive and refused";
      ASSERT_TRUE(Apply(db, "step c", c.desired, options, plan, &script));
    }
  }

  // --- d ---
  const bool noop_case = (c.expected_up && c.expected_up->empty()) || c.HasTag("noop");
  if (noop_case) {
    if (current_vs_desired.empty()) {
      EXPECT_TRUE(plan.empty())
          << "step d: `current` and `desired` are the same schema (expected_up ''"
             " or a noop case), so the plan must be empty; got:\n"
          << FormatPlan(plan);
    } else {
      Note(c.name +
           ": expected_up is '' but current and desired differ; per the README this records a "
           "sqldef limitation, and the target is `desired`:\n" +
           Lines(current_vs_desired));
    }
  }

  // --- e ---
  {
    SCOPED_TRACE("step e (compare with a fresh load of the target)");
    const std::string& target = refused ? c.current : c.desired;
    std::unique_ptr<TestDb> reference = Fresh(target);
    std::vector<std::string> diffs =
        SchemaDifferences(db.db(), reference->db(), Labels("migrated", "reference"));
    EXPECT_TRUE(diffs.empty()) << "step e: the migrated schema differs from a fresh load of `"
                               << (refused ? "current" : "desired") << "`:\n"
                               << Lines(diffs) << "plan:\n"
                               << FormatPlan(plan) << (script.empty() ? "" : "script:\n" + script);
  }

  // --- f ---
  {
    SCOPED_TRACE("step f (re-plan `desired`)");
    std::vector<PlanRow> again = db.PlanRows(c.desired, options);
    if (refused) {
      EXPECT_EQ(FormatPlan(again), FormatPlan(plan))
          << "step f: nothing was applied, so the re-plan must be the same refused plan";
    } else {
      EXPECT_TRUE(again.empty())
          << "step f: re-planning `desired` after the migration must find nothing "
             "to do, got:\n"
          << FormatPlan(again) << "first plan:\n"
          << FormatPlan(plan);
    }
  }

  // --- g ---
  {
    SCOPED_TRACE("step g (seeded rows survive)");
    for (const SeededTable& s : seed.tables) {
      std::string old_lower = Lower(s.name);
      std::string new_lower = old_lower;
      if (!refused) {
        auto h = hints.table_from.find(old_lower);
        if (h != hints.table_from.end()) new_lower = h->second;
      }
      std::string target = FindTable(db.db(), new_lower);
      if (target.empty()) {
        EXPECT_TRUE(drops.tables.count(old_lower))
            << "step g: table " << s.name << " (as " << new_lower
            << ") is gone, but the case does not drop it";
        continue;
      }
      std::set<std::string> present;
      for (const ColumnInfo& col : Columns(db.db(), target))
        if (col.hidden == 0) present.insert(Lower(col.name));
      auto col_hints = hints.column_from.find(new_lower);
      std::vector<size_t> keep;
      std::vector<std::string> target_cols;
      for (size_t i = 0; i < s.columns.size(); ++i) {
        std::string col = Lower(s.columns[i]);
        if (!refused && col_hints != hints.column_from.end()) {
          auto h = col_hints->second.find(col);
          if (h != col_hints->second.end()) col = h->second;
        }
        if (!present.count(col)) {
          auto dropped = drops.columns.find(old_lower);
          EXPECT_TRUE(refused || (dropped != drops.columns.end() &&
                                  dropped->second.count(Lower(s.columns[i]))))
              << "step g: column " << s.name << "." << s.columns[i] << " (as " << target << "."
              << col << ") is gone, but the case does not drop it";
          continue;
        }
        keep.push_back(i);
        target_cols.push_back(col);
      }
      if (keep.empty()) continue;
      Rows expected;
      for (const Row& r : s.rows) {
        Row p;
        for (size_t i : keep) p.push_back(r[i]);
        expected.push_back(std::move(p));
      }
      Rows actual = TableRows(db.db(), target, target_cols);
      std::sort(expected.begin(), expected.end());
      std::sort(actual.begin(), actual.end());
      if (actual != expected) {
        std::string cols;
        for (const std::string& col : target_cols) cols += (cols.empty() ? "" : ", ") + col;
        ADD_FAILURE() << "step g: the seeded rows of " << s.name << " changed; " << target << "("
                      << cols << ") before:\n"
                      << FormatRows(expected) << "after:\n"
                      << FormatRows(actual) << "plan:\n"
                      << FormatPlan(plan);
      }
    }
    if (seed.tables.empty() && !c.current.empty()) Note(c.name + ": no table was seeded");
  }

  // --- h ---
  if (c.expected_down) {
    SCOPED_TRACE("step h (migrate back to `current`)");
    const std::string back_options = OptionsJson(true);
    std::vector<PlanRow> back;
    std::string error;
    ASSERT_TRUE(TryPlanRows(db.db(), c.current, back_options, &back, &error))
        << "step h: migrate_plan(current) failed: " << error;
    std::vector<std::string> before = SchemaDifferences(db.db(), fresh_current->db());
    if (c.expected_down->empty() && before.empty()) {
      EXPECT_TRUE(back.empty())
          << "step h: the database already has the `current` schema, so the reverse "
             "plan must be empty; got:\n"
          << FormatPlan(back);
    }
    std::string back_script;
    ASSERT_TRUE(Apply(db, "step h", c.current, back_options, back, &back_script));
    std::unique_ptr<TestDb> reference = Fresh(c.current);
    std::vector<std::string> diffs =
        SchemaDifferences(db.db(), reference->db(), Labels("migrated back", "current"));
    EXPECT_TRUE(diffs.empty())
        << "step h: after migrating back, the schema differs from a fresh load of "
           "`current`:\n"
        << Lines(diffs) << "plan:\n"
        << FormatPlan(back) << "script:\n"
        << back_script;
    std::vector<PlanRow> again = db.PlanRows(c.current, back_options);
    EXPECT_TRUE(again.empty())
        << "step h: re-planning `current` after migrating back must find nothing to "
           "do, got:\n"
        << FormatPlan(again);
  }
}

std::vector<size_t> CaseIndexes() {
  std::vector<size_t> out(GetSuite().cases.size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = i;
  return out;
}

INSTANTIATE_TEST_SUITE_P(Conformance, Sqldef, ::testing::ValuesIn(CaseIndexes()),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           return GetSuite().cases.at(info.param).test_name;
                         });
// An unreadable file leaves no cases; SuiteIsComplete reports why.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(Sqldef);

TEST(Conformance, SuiteIsComplete) {
  const Suite& suite = GetSuite();
  EXPECT_TRUE(suite.errors.empty()) << Lines(suite.errors);
  EXPECT_EQ(suite.cases.size(), kExpectedCaseCount) << "cases read from " << kYamlPath;
  std::set<std::string> names, test_names;
  for (const Case& c : suite.cases) {
    EXPECT_FALSE(c.name.empty());
    EXPECT_TRUE(names.insert(c.name).second) << "duplicate case name " << c.name;
    EXPECT_EQ(c.test_name, Sanitize(c.name)) << "sanitized name collides: " << c.name;
    test_names.insert(c.test_name);
  }
  EXPECT_EQ(test_names.size(), suite.cases.size());
}

TEST(Conformance, KnownListIsWellFormed) {
  const KnownList& known = GetKnown();
  EXPECT_TRUE(known.read) << Lines(known.errors);
  EXPECT_TRUE(known.errors.empty()) << Lines(known.errors);
  std::set<std::string> names;
  for (const Case& c : GetSuite().cases) names.insert(c.name);
  for (const auto& [name, reason] : known.reasons)
    EXPECT_TRUE(names.count(name))
        << "KNOWN.md lists " << name << ", which is not a case of " << kYamlPath;
}

// The harness's own parsing of rename hints (the data check relies on it).
TEST(Conformance, ParsesRenameHints) {
  Hints h = ParseHints(
      "CREATE TABLE accounts ( -- @renamed from=old_accounts\n"
      "  id bigint NOT NULL,\n"
      "  username varchar(100) NOT NULL, -- @renamed from=user_name\n"
      "  last text -- @rename from=Final\n"
      ");\n"
      "CREATE TABLE new_users /* @renamed from=old_users */ (id int);\n"
      "CREATE TABLE \"user_profiles\" ( -- @renamed from=\"user accounts\"\n id int);\n"
      "CREATE TABLE bigdata (\n  -- unique constraint generates an index\n  path text UNIQUE\n);\n"
      "CREATE INDEX new_idx /* @renamed from=old_idx */ ON bigdata (path);\n");
  std::map<std::string, std::string> tables = {
      {"old_accounts", "accounts"}, {"old_users", "new_users"}, {"user accounts", "user_profiles"}};
  EXPECT_EQ(h.table_from, tables);
  std::map<std::string, std::map<std::string, std::string>> columns = {
      {"accounts", {{"user_name", "username"}, {"final", "last"}}}};
  EXPECT_EQ(h.column_from, columns);
}

}  // namespace
}  // namespace automigrate::testing
