// core/planner.cc -- compares the live schema with the desired one and orders
// the steps that turn one into the other, cheapest correct strategy first.
//
// The shape of every plan:
//   1. drop triggers, 2. drop views, 3. drop indexes   (dependants first, so
//      no rename or drop below trips over a view or trigger naming its table)
//   4. rename tables (hinted), 5. drop tables, 6. create tables (parents first)
//   7. per table: rename/add/drop column with ALTER TABLE, then (when every
//      other difference leaves the stored rows as they are) one
//      alter_table_in_place edit of the stored CREATE text; or one rebuild
//   8. create indexes, 9. create views (dependencies first), 10. create triggers
// A rebuild is SQLite's 12-step procedure: create the new table under a
// temporary name, copy rows with explicit column lists, drop the old table,
// rename the new one, create its indexes. Views and triggers that name a
// rebuilt, renamed or dropped table are dropped in 1-2 and recreated from the
// desired DDL in 9-10, so their text is exactly what the user wrote.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "core/ddl.h"
#include "core/desired.h"
#include "core/desired_refs.h"
#include "core/plan.h"
#include "core/quote.h"
#include "core/schema.h"
#include "core/sqlite_handle.h"

namespace automigrate {
namespace {

// Duration model (docs/ESTIMATES.md): per-row costs measured on the reference
// machine (2 cores, warm cache, ~100-byte rows), plus a fixed cost per schema
// change (SQLite re-reads the schema after every DDL statement).
constexpr double kSchemaChangeMs = 0.2;
constexpr double kCopyUsPerRow = 0.8;       // INSERT INTO new SELECT ... FROM old
constexpr double kIndexUsPerRow = 0.4;      // one index build during a rebuild (sorter threads on)
constexpr double kIndexScanUsPerRow = 0.4;  // standalone CREATE INDEX (scan + sort)
constexpr double kDropColumnUsPerRow = 1.0; // ALTER TABLE DROP COLUMN rewrites every row
constexpr double kDeleteUsPerRow = 0.8;     // DROP TABLE frees every page of the table
constexpr double kDropIndexUsPerRow = 0.2;  // DROP INDEX frees every page of the index
constexpr double kVerifyUsPerRow = 0.3;     // ADD COLUMN with CHECK/NOT NULL verification
// Every schema change re-reads the whole schema, and ALTER TABLE re-parses
// and checks it: microseconds per table of the live schema, per statement.
constexpr double kCreateDropUsPerTable = 1;
constexpr double kAddColumnUsPerTable = 25;
constexpr double kDropColumnUsPerTable = 130;
constexpr double kRenameColumnUsPerTable = 150;
// RENAME COLUMN re-parses and rewrites the whole schema even when it is small:
// 0.6-1.0 ms on the apply benchmark's schema (2 tables, 2 indexes, the
// history tables), 0.33 ms on a 1-table database, 0.5 estimated without it.
constexpr double kRenameColumnFixedMs = 0.2;
constexpr double kRenameTableUsPerTable = 75;
constexpr double kInPlaceUsPerTable = 25;    // writable_schema=RESET re-parses the schema
constexpr double kMaterializeUsPerRow = 0.1; // in-place DEFAULT change: the scan (matches not counted)
constexpr int64_t kComplexRows = 1000000;
constexpr int kRenameColumnVersion = 3025000;
constexpr int kDropColumnVersion = 3035000;
// alter_table_in_place: the newest things its SQL uses are the sqlite_schema
// name and PRAGMA integrity_check(TABLE), both SQLite 3.33.0.
constexpr int kInPlaceVersion = 3033000;

std::string Lower(std::string_view s) { return ddl::Lower(s); }

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

using ddl::Affinity;

// Text that normalizes equal, with redundant outer parentheses removed, so
// DEFAULT 1 and DEFAULT (1) compare equal.
std::string NormExpr(std::string_view expr) {
  std::vector<ddl::Token> toks = ddl::Tokenize(expr);
  size_t b = 0, e = toks.size();
  while (e - b >= 2 && toks[b].IsPunct("(") && toks[e - 1].IsPunct(")")) {
    int depth = 0;
    bool wraps = true;
    for (size_t i = b; i < e; ++i) {
      if (toks[i].IsPunct("(")) ++depth;
      if (toks[i].IsPunct(")")) --depth;
      if (depth == 0 && i + 1 < e) {
        wraps = false;
        break;
      }
    }
    if (!wraps) break;
    ++b;
    --e;
  }
  std::string out;
  for (size_t i = b; i < e; ++i) {
    if (!out.empty()) out += ' ';
    out += ddl::NormalizeToken(toks[i]);
  }
  return out;
}

using ddl::IsConstantDefault;

bool IsNullDefault(const std::optional<std::string>& d) { return !d || NormExpr(*d) == "null"; }

// `v` as the new column's affinity will store it (datatype3.html 3.0), for
// pre-checks that must see the values the copy produces: text that reads as a
// number becomes that number under a numeric affinity, numbers become text
// under TEXT. An approximation of SQLite's own conversion (odd spellings such
// as '1-2' are misjudged); the apply itself still runs the real rules.
std::string AffinityConverted(const std::string& v, const std::string& from, const std::string& to) {
  if (from == to || to == "BLOB") return v;
  if (to == "TEXT")
    return fmt::format("CASE WHEN typeof({0}) IN ('integer', 'real') THEN CAST({0} AS TEXT) "
                       "ELSE {0} END",
                       v);
  return fmt::format(
      "CASE WHEN typeof({0}) = 'text' AND trim({0}) GLOB '*[0-9]*' AND NOT trim({0}) GLOB "
      "'*[^0-9.eE+-]*' THEN CAST(trim({0}) AS {1}) ELSE {0} END",
      v, to == "REAL" ? "REAL" : "NUMERIC");
}

// A pre-check projection column must also carry the new column's affinity,
// as a column reference in a CHECK or index expression does ("c" < 1000
// compares text under TEXT affinity), but a CASE has none: only CAST gives
// one. CAST(v AS T) keeps v's value when LosslessUnder holds, so rows where
// it holds are checked through the cast, the others as they are.
std::string CastForAffinity(const std::string& v, const std::string& aff) {
  if (aff == "BLOB") return v;
  if (aff == "TEXT" || aff == "REAL") return fmt::format("CAST({} AS {})", v, aff);
  // INTEGER and NUMERIC store a real with an integer value as an integer
  // (118.0 becomes 118); CAST(118.0 AS NUMERIC) alone would keep the real.
  return fmt::format(
      "CAST(CASE WHEN typeof({0}) = 'real' AND {0} = CAST({0} AS INTEGER) THEN CAST({0} AS "
      "INTEGER) ELSE {0} END AS NUMERIC)",
      v);
}

std::string LosslessUnder(const std::string& v, const std::string& aff) {
  if (aff == "BLOB") return "1";
  if (aff == "TEXT") return fmt::format("typeof({}) <> 'blob'", v);
  return fmt::format("typeof({}) IN ('integer', 'real', 'null')", v);
}

bool Mentions(std::string_view sql, std::string_view ident) {
  return ddl::Identifiers(sql).count(Lower(ident)) > 0;
}

std::string Join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (const std::string& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

// The CREATE text with its object name replaced by `name` (schema-qualified
// when migrating an attached database).
std::string WithName(std::string_view create_sql, std::string_view schema, std::string_view name) {
  std::optional<ddl::Span> span = ddl::FindObjectName(create_sql);
  if (!span) return std::string(create_sql);
  return fmt::format("{}{}{}", create_sql.substr(0, span->begin), QualifiedName(schema, name),
                     create_sql.substr(span->end));
}

std::string Terminated(std::string_view sql) {
  std::string s(sql);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\t')) s.pop_back();
  // SQLite keeps a trailing comment in the stored text of views and
  // triggers: a ";" after "-- note" would be part of the comment.
  std::vector<ddl::Token> toks = ddl::Tokenize(s, /*keep_comments=*/true);
  if (!toks.empty() && toks.back().kind == ddl::TokenKind::kComment) return s + "\n;\n";
  if (s.empty() || s.back() != ';') s += ';';
  return s + "\n";
}

// `create_sql` of table `name` after ALTER TABLE RENAME COLUMN of each
// (from, to) of `renames`, as SQLite rewrites it, in a scratch database: a
// token rename would also hit a keyword spelled like the column (the KEY of
// PRIMARY KEY for a column named key). The token rename is the fallback when
// the scratch database does not take the text (e.g. an unknown function).
std::string RenamedColumnsSql(const std::string& create_sql, const std::string& name,
                              const std::vector<std::pair<std::string, std::string>>& renames) {
  auto by_tokens = [&] {
    std::string sql = create_sql;
    for (const auto& [from, to] : renames) sql = ddl::RenameIdentifier(sql, from, to);
    return sql;
  };
  Result<DbPtr> scratch = OpenDb(":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (!scratch.ok()) return by_tokens();
  sqlite3* db = scratch->get();
  if (!Exec(db, create_sql).ok()) return by_tokens();
  for (const auto& [from, to] : renames)
    if (!Exec(db, fmt::format("ALTER TABLE {} RENAME COLUMN {} TO {}", QuoteIdent(name),
                              QuoteIdent(from), QuoteIdent(to)))
             .ok())
      return by_tokens();
  Result<std::string> sql = QueryText(
      db, fmt::format("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = {}",
                      QuoteLiteral(name)));
  return sql.ok() && !sql->empty() ? *sql : by_tokens();
}

// Whether SQLite's ALTER TABLE RENAME COLUMN of `renames` fails on table
// `name` defined by `create_sql`, tried in a scratch database. SQLite 3.40
// fails to rename a PRIMARY KEY column of a WITHOUT ROWID table that a
// UNIQUE constraint also covers (the redundant constraint has no index, so
// its column reference is not rewritten: "no such column", or a quoted name
// re-read as a string: "expressions prohibited in PRIMARY KEY and UNIQUE
// constraints"). A definition the scratch database does not take at all is
// not judged (false).
bool RenameColumnFails(const std::string& create_sql, const std::string& name,
                       const std::vector<std::pair<std::string, std::string>>& renames) {
  Result<DbPtr> scratch = OpenDb(":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (!scratch.ok()) return false;
  sqlite3* db = scratch->get();
  if (!Exec(db, create_sql).ok()) return false;
  for (const auto& [from, to] : renames)
    if (!Exec(db, fmt::format("ALTER TABLE {} RENAME COLUMN {} TO {}", QuoteIdent(name),
                              QuoteIdent(from), QuoteIdent(to)))
             .ok())
      return true;
  return false;
}

// The CREATE text with its object name replaced by `name`, never
// schema-qualified: the form SQLite stores in sqlite_schema.sql.
std::string WithBareName(std::string_view create_sql, std::string_view name) {
  std::optional<ddl::Span> span = ddl::FindObjectName(create_sql);
  if (!span) return std::string(create_sql);
  return fmt::format("{}{}{}", create_sql.substr(0, span->begin), QuoteIdent(name),
                     create_sql.substr(span->end));
}

// What decides how the rows of table `name` in scratch database `db` are
// stored: rowid or not, STRICT, each column's position, name, affinity (the
// exact type for PRIMARY KEY columns: INT vs INTEGER decides the rowid
// alias), PRIMARY KEY position and generated kind, and every constraint
// index with its keys in autoindex order (sqlite_autoindex_<table>_N names
// the b-tree by position in the text). Two definitions with equal
// signatures read the same records the same way, up to the DEFAULT of a
// column missing from a short record (handled by the caller).
Result<std::string> StorageSignature(sqlite3* db, const std::string& name) {
  std::string out;
  Stmt t;
  AM_RETURN_IF_ERROR(t.Prepare(db,
                               "SELECT type, ncol, wr, strict FROM pragma_table_list "
                               "WHERE schema = 'main' AND name = ?1"));
  t.Bind(1, name);
  while (t.Step())
    out += fmt::format("table {} {} {} {};", t.Text(0), t.Int(1), t.Int(2), t.Int(3));
  AM_RETURN_IF_ERROR(t.status());
  Stmt c;
  AM_RETURN_IF_ERROR(c.Prepare(
      db, "SELECT cid, name, type, pk, hidden FROM pragma_table_xinfo(?1, 'main') ORDER BY cid"));
  c.Bind(1, name);
  while (c.Step()) {
    std::string type = c.Int(3) > 0 ? ddl::Lower(c.Text(2)) : Affinity(c.Text(2));
    out += fmt::format("col {} {} {} {} {};", c.Int(0), ddl::Lower(c.Text(1)), type, c.Int(3),
                       c.Int(4));
  }
  AM_RETURN_IF_ERROR(c.status());
  Stmt ix;
  AM_RETURN_IF_ERROR(ix.Prepare(
      db, "SELECT l.name, l.\"unique\", l.origin, l.partial, x.seqno, x.cid, x.\"desc\", "
          "x.coll, x.\"key\" FROM pragma_index_list(?1, 'main') AS l, pragma_index_xinfo(l.name, "
          "'main') AS x WHERE l.origin <> 'c' ORDER BY l.name, x.seqno"));
  ix.Bind(1, name);
  while (ix.Step())
    out += fmt::format("ix {} {} {} {} {} {} {} {} {};", ix.Text(0), ix.Int(1), ix.Text(2),
                       ix.Int(3), ix.Int(4), ix.Int(5), ix.Int(6), ix.Text(7), ix.Int(8));
  AM_RETURN_IF_ERROR(ix.status());
  return out;
}

struct ColumnChange {
  const Column* cur = nullptr;   // in the live table after renames (source_name = live name)
  const Column* want = nullptr;  // in the desired table
};

struct TablePlan {
  const Table* live = nullptr;  // original live table
  Table cur;                    // live table after hinted renames
  const Table* want = nullptr;
  std::vector<ColumnChange> kept;  // matched columns (renamed or not)
  std::vector<const Column*> added;
  std::vector<const Column*> dropped;  // in cur
  std::vector<std::pair<std::string, std::string>> renamed_columns;  // live name -> new name
  // SQLite's RENAME COLUMN fails on the live definition (see
  // RenameColumnFails): the renames are folded into a rebuild.
  bool renames_by_rebuild = false;
  bool rebuild = false;
  bool recreate_virtual = false;
  std::vector<std::string> reasons;  // why a rebuild
  int64_t rows = -1;
  // Changes that leave the stored rows as they are (alter_table_in_place
  // when nothing in `reasons` forces a rebuild).
  std::vector<std::string> in_place_reasons;
  bool in_place = false;
  std::string in_place_old_sql;  // the stored text right before the in-place step
  std::string in_place_name;     // the table's name then
  std::vector<ColumnChange> default_changes;
  std::vector<const Column*> materialize;  // DEFAULT changes that may hide in short records
};

// A schema's CREATE INDEX indexes by lower-case table name.
using IndexesByTable = std::unordered_map<std::string, std::vector<const Index*>>;
IndexesByTable ByTable(const Schema& schema) {
  IndexesByTable out;
  for (const Index& ix : schema.indexes) out[Lower(ix.table)].push_back(&ix);
  return out;
}

class Planner {
 public:
  Planner(sqlite3* db, const Schema& live, const Schema& want, const PlanOptions& options)
      : db_(db), live_(live), want_(want), opt_(options), schema_(options.schema) {
    version_ = options.sqlite_version ? options.sqlite_version : sqlite3_libversion_number();
  }

  Result<Plan> Run();

 private:
  Status MatchTables();
  void MatchColumns(TablePlan& tp);
  void ApplyRenamesToModel();
  void DiffTable(TablePlan& tp);
  std::optional<std::string> CannotAdd(const TablePlan& tp, const Column& c) const;
  std::optional<std::string> CannotDrop(const TablePlan& tp, const Column& c) const;
  void PlanDependants();
  void PlanIndexes();
  void EmitAll();
  void EmitRebuild(TablePlan& tp);
  bool ReferencingTablesUnaffected(const TablePlan& tp);
  // ByTable(live_) and ByTable(want_), and the live FOREIGN KEYs by
  // lower-case parent table, built on first use.
  const IndexesByTable& LiveIndexes();
  const IndexesByTable& WantIndexes();
  const std::unordered_map<std::string, std::vector<const ForeignKey*>>& LiveKeysByParent();
  // Warns about each FOREIGN KEY of the desired schema that has no parent
  // key where the live one had (or did not exist): on the plan, and on the
  // drop_index steps of UNIQUE indexes of its parent.
  void WarnAboutParentKeys();
  void EmitColumnRenames(const TablePlan& tp);
  void EmitAlters(TablePlan& tp);
  std::optional<std::string> InPlaceBlocker(TablePlan& tp);
  void EmitInPlace(const TablePlan& tp);
  void AddPrechecks(const TablePlan& tp, bool fill_defaults, bool with_unique_indexes,
                    std::vector<Precheck>* out);
  // typed_from/from: Projection of tp with and without typed (rows where
  // ExactFor the keys and WHERE holds are read from the first, the others
  // from the second).
  void CountDuplicates(const TablePlan& tp, const std::string& typed_from, const std::string& from,
                       const std::vector<IndexKey>& keys,
                       const std::optional<std::string>& where, const std::string& table,
                       const std::string& rule, std::vector<Precheck>* out);
  void SuggestRenames();

  int64_t Rows(std::string_view live_table);
  // The schema-size part of a statement's cost (see kCreateDropUsPerTable).
  double SchemaMs(double us_per_table) const {
    return us_per_table * static_cast<double>(live_.tables.size()) / 1000.0;
  }
  std::string RebuildSql(std::string_view current_name, const Table& target,
                         const std::vector<std::pair<std::string, std::string>>& copy,
                         bool keep_sequence, const std::vector<std::string>& index_sql) const;
  // typed: columns cast to their affinity, valid on rows where
  // _automigrate_exact is 1 (the others are checked untyped).
  std::string Projection(const TablePlan& tp, bool fill_defaults, bool typed = false) const;
  // Which rows a rule over `sql` reads from the typed projection: those
  // where every stored column it names keeps its value under the cast (all
  // of the row's columns when it names a generated column).
  std::string ExactFor(const TablePlan& tp, std::string_view sql) const;
  void Count(const std::string& sql, Precheck pc, std::vector<Precheck>* out);
  // Column renames run as ALTER TABLE RENAME COLUMN before a rebuild, so
  // SQLite repoints child tables' foreign keys; the copy then reads new names.
  bool RenamesBeforeRebuild(const TablePlan& tp) const {
    return version_ >= kRenameColumnVersion && !tp.renames_by_rebuild;
  }
  std::string Q(std::string_view name) const { return QualifiedName(schema_, name); }
  bool Affected(std::string_view name) const { return affected_.count(Lower(name)) > 0; }
  bool HasDependants(const TablePlan& tp) const;

  sqlite3* db_;
  const Schema& live_;
  const Schema& want_;
  const PlanOptions& opt_;
  std::string schema_;
  int version_ = 0;
  bool fk_on_ = false;
  bool defensive_ = false;
  std::set<std::string> materialized_;  // lower-case tables an in-place step UPDATEs
  Plan plan_;

  std::optional<IndexesByTable> live_indexes_, want_indexes_;
  std::optional<std::unordered_map<std::string, std::vector<const ForeignKey*>>> live_fks_;

  std::vector<TablePlan> tables_;                       // matched pairs, desired order
  std::vector<const Table*> created_;                   // desired tables with no live match
  std::vector<const Table*> dropped_;                   // live tables with no desired match
  std::vector<std::pair<std::string, std::string>> table_renames_;  // live -> desired name
  std::set<std::string> affected_;                      // lower-case names of tables/views
  std::map<std::string, int64_t> rows_;
  std::vector<const View*> drop_views_;
  std::vector<const View*> create_views_;
  std::vector<const Trigger*> drop_triggers_;
  std::vector<const Trigger*> create_triggers_;
  std::vector<const Index*> drop_indexes_;
  std::vector<const Index*> create_indexes_;
  // Explicit rename options, consumed as they are matched.
  std::map<std::string, std::string> option_renames_;
};

// ---------------------------------------------------------------------------
// Matching

Status Planner::MatchTables() {
  for (const auto& [from, to] : opt_.renames) option_renames_[Lower(from)] = to;
  // Validate option hints against the desired schema up front: a typo must
  // not silently become a drop + create.
  for (const auto& [from, to] : opt_.renames) {
    size_t dot = from.find('.');
    if (dot == std::string::npos) {
      if (!want_.FindTable(to))
        return Status::InvalidArgument(fmt::format(
            "rename: \"{}\" -> \"{}\": the desired schema has no table \"{}\"", from, to, to));
    } else {
      const Table* t = want_.FindTable(from.substr(0, dot));
      if (!t)
        return Status::InvalidArgument(
            fmt::format("rename: \"{}\": the desired schema has no table \"{}\"", from,
                        from.substr(0, dot)));
      if (!t->FindColumn(to))
        return Status::InvalidArgument(fmt::format(
            "rename: \"{}\" -> \"{}\": table \"{}\" has no column \"{}\" in the desired schema",
            from, to, t->name, to));
    }
  }

  std::set<const Table*> matched_live;
  for (const Table& w : want_.tables) {
    const Table* l = live_.FindTable(w.name);
    std::optional<std::string> from = w.renamed_from;
    for (const auto& [k, v] : opt_.renames)
      if (k.find('.') == std::string::npos && EqualsNoCase(v, w.name)) from = k;
    // A hint whose target exists and whose source is gone was applied
    // already: silent. Both still there is ambiguous: say the hint is unused.
    if (l && from && live_.FindTable(*from) && !EqualsNoCase(*from, w.name)) {
      plan_.warnings.push_back(fmt::format(
          "rename hint for table {} ignored: the database already has both {} and {} (swapping "
          "names needs two migrations: rename one to a free name first)",
          w.name, w.name, *from));
    }
    if (!l) {
      if (from) {
        const Table* old = live_.FindTable(*from);
        if (!old) {
          plan_.warnings.push_back(fmt::format(
              "rename hint for table {} ignored: there is no table {} to rename", w.name, *from));
        } else if (want_.FindTable(*from)) {
          plan_.warnings.push_back(fmt::format(
              "rename hint for table {} ignored: the desired schema still has a table {}", w.name,
              *from));
        } else if (old->is_virtual != w.is_virtual) {
          plan_.warnings.push_back(fmt::format(
              "rename hint for table {} ignored: {} is a different kind of table", w.name, *from));
        } else {
          l = old;
          table_renames_.push_back({old->name, w.name});
        }
      }
    }
    if (!l) {
      created_.push_back(&w);
      continue;
    }
    matched_live.insert(l);
    TablePlan tp;
    tp.live = l;
    tp.cur = *l;
    tp.want = &w;
    tables_.push_back(std::move(tp));
  }
  for (const Table& l : live_.tables)
    if (!matched_live.count(&l)) dropped_.push_back(&l);
  for (TablePlan& tp : tables_) {
    MatchColumns(tp);
    if (version_ >= kRenameColumnVersion && !tp.renamed_columns.empty())
      tp.renames_by_rebuild = RenameColumnFails(tp.live->sql, tp.live->name, tp.renamed_columns);
  }
  ApplyRenamesToModel();
  return Status::Ok();
}

void Planner::MatchColumns(TablePlan& tp) {
  tp.cur.source_name = tp.live->name;
  for (Column& c : tp.cur.columns) c.source_name = c.name;
  if (tp.want->is_virtual || tp.live->is_virtual) return;
  for (const Column& w : tp.want->columns) {
    std::optional<std::string> from = w.renamed_from;
    for (const auto& [k, v] : opt_.renames) {
      size_t dot = k.find('.');
      if (dot != std::string::npos && EqualsNoCase(k.substr(0, dot), tp.want->name) &&
          EqualsNoCase(v, w.name))
        from = k.substr(dot + 1);
    }
    if (!from) continue;
    if (tp.live->FindColumn(w.name)) {
      if (tp.live->FindColumn(*from) && !EqualsNoCase(*from, w.name))
        plan_.warnings.push_back(fmt::format(
            "rename hint for column {}.{} ignored: the table already has both {} and {} (swapping "
            "names needs two migrations: rename one to a free name first)",
            tp.want->name, w.name, w.name, *from));
      continue;
    }
    const Column* old = tp.live->FindColumn(*from);
    if (!old) {
      plan_.warnings.push_back(fmt::format(
          "rename hint for column {}.{} ignored: there is no column {} to rename", tp.want->name,
          w.name, *from));
      continue;
    }
    if (tp.want->FindColumn(*from)) {
      plan_.warnings.push_back(fmt::format(
          "rename hint for column {}.{} ignored: the desired table still has a column {}",
          tp.want->name, w.name, *from));
      continue;
    }
    tp.renamed_columns.push_back({old->name, w.name});
  }
}

// Rewrites the live model as SQLite will see it after the hinted renames, so
// the comparison below is a plain by-name comparison: ALTER TABLE RENAME
// repoints other tables' foreign keys, RENAME COLUMN rewrites CHECKs,
// generated columns, index keys and foreign keys that name the column.
void Planner::ApplyRenamesToModel() {
  auto rename_fk_targets = [&](std::string_view old_table, std::string_view new_table,
                               std::string_view old_col, std::string_view new_col) {
    for (TablePlan& other : tables_) {
      for (ForeignKey& fk : other.cur.foreign_keys) {
        if (fk.table != Lower(old_table)) continue;
        if (old_col.empty()) {
          fk.table = Lower(new_table);
          fk.table_verbatim = std::string(new_table);
        } else {
          for (std::string& t : fk.to)
            if (t == Lower(old_col)) t = Lower(new_col);
        }
      }
    }
  };
  for (const auto& [from, to] : table_renames_) rename_fk_targets(from, to, "", "");
  for (TablePlan& tp : tables_) {
    tp.cur.name = tp.want->name;
    for (const auto& [from, to] : tp.renamed_columns) {
      for (Column& c : tp.cur.columns) {
        if (EqualsNoCase(c.name, from)) c.name = to;
        if (c.generated_expr) c.generated_expr = ddl::RenameIdentifier(*c.generated_expr, from, to);
      }
      for (Check& ck : tp.cur.checks) {
        ck.expr = ddl::RenameIdentifier(ck.expr, from, to);
        ck.norm = ddl::Normalize(ck.expr);
        if (ck.column == Lower(from)) ck.column = Lower(to);
      }
      for (ForeignKey& fk : tp.cur.foreign_keys) {
        for (std::string& f : fk.from)
          if (f == Lower(from)) f = Lower(to);
        if (fk.column == Lower(from)) fk.column = Lower(to);
      }
      for (Index& ix : tp.cur.constraint_indexes)
        for (IndexKey& k : ix.keys)
          if (k.column == Lower(from)) k.column = Lower(to);
      // Only SQLite's RENAME COLUMN repoints child keys; without it (older
      // SQLite: the rename is folded into a rebuild) the children differ
      // from the desired schema and are rebuilt too.
      if (RenamesBeforeRebuild(tp)) rename_fk_targets(tp.cur.name, tp.cur.name, from, to);
    }
  }
}

// ---------------------------------------------------------------------------
// Comparison of one matched table

std::optional<std::string> Planner::CannotAdd(const TablePlan& tp, const Column& c) const {
  if (c.pk > 0) return "it is part of the PRIMARY KEY";
  if (c.unique) return "it is UNIQUE";
  for (const Index& ix : tp.want->constraint_indexes)
    for (const IndexKey& k : ix.keys)
      if (k.column == Lower(c.name)) return "it is part of a UNIQUE constraint";
  if (c.hidden == 3) return "it is a STORED generated column";
  if (c.default_sql && !IsConstantDefault(*c.default_sql)) return "its DEFAULT is not constant";
  if (c.not_null && !c.generated() && IsNullDefault(c.default_sql))
    return "it is NOT NULL without a non-NULL DEFAULT";
  // SQLite refuses this only while foreign keys are on, but the plan must not
  // depend on the planning connection's setting (the script may run elsewhere).
  if (c.has_references && !IsNullDefault(c.default_sql))
    return "it has a REFERENCES clause and a non-NULL DEFAULT";
  for (const ForeignKey& fk : tp.want->foreign_keys)
    if (fk.column.empty() && std::count(fk.from.begin(), fk.from.end(), Lower(c.name)))
      return "it is part of a table-level FOREIGN KEY";
  for (const Check& ck : tp.want->checks)
    if (ck.column != Lower(c.name) && Mentions(ck.expr, c.name))
      return "a table-level CHECK names it";
  return std::nullopt;
}

std::optional<std::string> Planner::CannotDrop(const TablePlan& tp, const Column& c) const {
  if (version_ < kDropColumnVersion) return "ALTER TABLE DROP COLUMN needs SQLite 3.35";
  if (c.pk > 0) return "it is part of the PRIMARY KEY";
  if (c.unique) return "it is UNIQUE";
  for (const Index& ix : tp.cur.constraint_indexes)
    for (const IndexKey& k : ix.keys)
      if (k.column == Lower(c.name)) return "it is part of a UNIQUE constraint";
  if (c.hidden == 3) return "it is a STORED generated column";
  for (const ForeignKey& fk : tp.cur.foreign_keys)
    if (std::count(fk.from.begin(), fk.from.end(), Lower(c.name))) return "it is in a FOREIGN KEY";
  for (const Check& ck : tp.cur.checks)
    if (ck.column != Lower(c.name) && Mentions(ck.expr, c.name)) return "a CHECK names it";
  for (const Column& g : tp.cur.columns)
    if (g.generated_expr && &g != &c && Mentions(*g.generated_expr, c.name))
      return "generated column " + g.name + " uses it";
  return std::nullopt;
}

void Planner::DiffTable(TablePlan& tp) {
  const Table& cur = tp.cur;
  const Table& want = *tp.want;
  size_t hard = 0;  // reasons only a rebuild can take
  auto why = [&](std::string r) {
    ++hard;
    tp.reasons.push_back(std::move(r));
  };
  // A change SQLite's ALTER TABLE documentation lets the stored CREATE text
  // take without touching a row ("Making Other Kinds Of Table Schema
  // Changes"): InPlaceBlocker decides below whether it may.
  // `rebuild_text` is the reason's text when a rebuild takes it after all.
  auto soft = [&](std::string r, std::string rebuild_text = "") {
    tp.reasons.push_back(rebuild_text.empty() ? r : std::move(rebuild_text));
    tp.in_place_reasons.push_back(std::move(r));
  };

  if (cur.is_virtual || want.is_virtual) {
    if (cur.is_virtual != want.is_virtual || cur.virtual_norm != want.virtual_norm)
      tp.recreate_virtual = true;
    return;
  }

  for (const Column& w : want.columns) {
    const Column* c = cur.FindColumn(w.name);
    if (c)
      tp.kept.push_back({c, &w});
    else
      tp.added.push_back(&w);
  }
  for (const Column& c : cur.columns)
    if (!want.FindColumn(c.name)) tp.dropped.push_back(&c);

  for (const ColumnChange& ch : tp.kept) {
    const Column& c = *ch.cur;
    const Column& w = *ch.want;
    if (!EqualsNoCase(ddl::Normalize(c.type), ddl::Normalize(w.type))) {
      std::string r = fmt::format("type of {}: {} -> {}", w.name,
                                  c.type.empty() ? "(none)" : c.type,
                                  w.type.empty() ? "(none)" : w.type);
      // Same affinity: stored values and future conversions are the same.
      // Not in a STRICT table (the type is enforced), not on a PRIMARY KEY
      // (INT -> INTEGER PRIMARY KEY makes a rowid alias), not generated.
      bool same = Affinity(c.type) == Affinity(w.type) && !cur.strict && !want.strict &&
                  c.pk == 0 && w.pk == 0 && !c.generated() && !w.generated();
      if (same)
        soft(r + " (same affinity)", r);
      else
        why(r);
    }
    if (c.not_null != w.not_null) {
      std::string r = fmt::format("{} NOT NULL on {}", w.not_null ? "adds" : "drops", w.name);
      if (!w.not_null && c.pk == 0 && w.pk == 0)
        soft(r);
      else
        why(r);
    }
    std::string cd = c.default_sql ? NormExpr(*c.default_sql) : "";
    std::string wd = w.default_sql ? NormExpr(*w.default_sql) : "";
    if (cd != wd) {
      if (c.generated() || w.generated()) {
        why(fmt::format("DEFAULT of {}", w.name));
      } else {
        soft(fmt::format("DEFAULT of {}", w.name));
        tp.default_changes.push_back(ch);
      }
    }
    if (c.pk != w.pk) why("PRIMARY KEY");
    if (c.collation != w.collation) why(fmt::format("COLLATE of {}", w.name));
    if (c.hidden != w.hidden ||
        NormExpr(c.generated_expr.value_or("")) != NormExpr(w.generated_expr.value_or("")))
      why(fmt::format("generated column {}", w.name));
  }
  if (cur.without_rowid != want.without_rowid) why("WITHOUT ROWID");
  if (cur.strict != want.strict) why("STRICT");
  if (cur.autoincrement != want.autoincrement) why("AUTOINCREMENT");

  // Constraints that arrive with an ADD COLUMN are part of its definition, so
  // leave them out of the table-level comparison when the column can be added.
  std::set<std::string> addable;
  std::vector<std::string> cannot;
  for (const Column* a : tp.added) {
    if (std::optional<std::string> r = CannotAdd(tp, *a))
      cannot.push_back(fmt::format("column {} cannot be added with ALTER TABLE: {}", a->name, *r));
    else
      addable.insert(Lower(a->name));
  }
  std::set<std::string> droppable;
  for (const Column* d : tp.dropped) {
    if (std::optional<std::string> r = CannotDrop(tp, *d))
      cannot.push_back(fmt::format("column {} cannot be dropped with ALTER TABLE: {}", d->name, *r));
    else
      droppable.insert(Lower(d->name));
  }
  auto checks_of = [](const Table& t, const std::set<std::string>& skip) {
    std::multiset<std::string> out;
    for (const Check& ck : t.checks)
      if (!skip.count(ck.column)) out.insert(ck.name + "|" + NormExpr(ck.expr));
    return out;
  };
  // Fewer CHECKs (by expression; a constraint's name is only text) can be
  // in place; a new one must be verified on every row: a rebuild.
  auto included = [](const std::multiset<std::string>& small,
                     const std::multiset<std::string>& big) {
    return std::includes(big.begin(), big.end(), small.begin(), small.end());
  };
  auto check_exprs = [](const Table& t, const std::set<std::string>& skip) {
    std::multiset<std::string> out;
    for (const Check& ck : t.checks)
      if (!skip.count(ck.column)) out.insert(NormExpr(ck.expr));
    return out;
  };
  if (checks_of(cur, droppable) != checks_of(want, addable)) {
    if (included(check_exprs(want, addable), check_exprs(cur, droppable)))
      soft(check_exprs(want, addable) == check_exprs(cur, droppable) ? "CHECK constraint names"
                                                                      : "drops CHECK constraints",
           "CHECK constraints");
    else
      why("CHECK constraints");
  }
  auto fks_of = [](const Table& t, const std::set<std::string>& skip) {
    std::multiset<std::string> out;
    for (const ForeignKey& fk : t.foreign_keys)
      if (!skip.count(fk.column)) out.insert(fk.Key());
    return out;
  };
  if (fks_of(cur, droppable) != fks_of(want, addable)) {
    if (included(fks_of(want, addable), fks_of(cur, droppable)))
      soft("drops FOREIGN KEY constraints", "FOREIGN KEY constraints");
    else
      why("FOREIGN KEY constraints");
  }
  auto cons_of = [](const Table& t) {
    std::multiset<std::string> out;
    for (const Index& ix : t.constraint_indexes) out.insert(ix.Key());
    return out;
  };
  if (cons_of(cur) != cons_of(want)) why("PRIMARY KEY/UNIQUE constraints");

  if (opt_.strict_column_order) {
    std::vector<std::string> after;
    for (const Column& c : cur.columns)
      if (want.FindColumn(c.name)) after.push_back(Lower(c.name));
    for (const Column* a : tp.added) after.push_back(Lower(a->name));
    std::vector<std::string> wanted;
    for (const Column& w : want.columns) wanted.push_back(Lower(w.name));
    if (after != wanted) why("column order");
  }
  if (!tp.renamed_columns.empty() && version_ < kRenameColumnVersion)
    why("ALTER TABLE RENAME COLUMN needs SQLite 3.25");
  else if (tp.renames_by_rebuild)
    why("SQLite's ALTER TABLE RENAME COLUMN fails on this table's definition");
  // Only when something else already forces a rebuild would ALTER-able
  // columns be folded into it; otherwise a column ALTER TABLE can't handle
  // is itself the reason.
  for (std::string& r : cannot) why(std::move(r));
  if (hard == 0 && !tp.in_place_reasons.empty()) {
    if (std::optional<std::string> blocker = InPlaceBlocker(tp)) {
      tp.reasons.push_back("not in place: " + *blocker);
    } else {
      tp.in_place = true;
      tp.reasons.clear();
    }
  }
  tp.rebuild = !tp.reasons.empty();
}

bool Planner::HasDependants(const TablePlan& tp) const {
  std::string n = Lower(tp.want->name);
  for (const Table& t : want_.tables)
    for (const ForeignKey& fk : t.foreign_keys)
      if (fk.table == n && !EqualsNoCase(t.name, tp.want->name)) return true;
  for (const Table& t : live_.tables)
    for (const ForeignKey& fk : t.foreign_keys)
      if ((fk.table == n || fk.table == Lower(tp.live->name)) && !EqualsNoCase(t.name, tp.live->name))
        return true;
  for (const View& v : want_.views)
    if (Mentions(v.sql, n)) return true;
  for (const Trigger& tr : want_.triggers)
    if (Mentions(tr.sql, n)) return true;
  return false;
}

// Why the stored CREATE text of `tp`'s table cannot simply be replaced by the
// desired one, or nullopt (then tp.in_place_old_sql/in_place_name are set and
// tp.materialize lists the DEFAULT changes short records could hide).
std::optional<std::string> Planner::InPlaceBlocker(TablePlan& tp) {
  const Table& cur = tp.cur;
  const Table& want = *tp.want;
  if (!opt_.in_place) return "option in_place is false";
  if (version_ < kInPlaceVersion) return "editing the stored definition needs SQLite 3.33";
  // SQLITE_DBCONFIG_DEFENSIVE: PRAGMA writable_schema=ON is ignored (3.44
  // documents it; 3.40 already refuses the UPDATE of sqlite_schema).
  if (defensive_) return "the connection is in defensive mode (no writable_schema)";
  // Records hold the values in the order the text lists the columns, and ADD
  // COLUMN appends: the text must list them in the order they will be stored.
  std::vector<std::string> after, wanted;
  for (const Column& c : cur.columns)
    if (want.FindColumn(c.name)) after.push_back(Lower(c.name));
  for (const Column* a : tp.added) after.push_back(Lower(a->name));
  for (const Column& w : want.columns) wanted.push_back(Lower(w.name));
  if (after != wanted) return "the stored column order differs from the desired one";
  // Renaming a table or column this one's FOREIGN KEYs name rewrites its
  // text in an earlier step: the text the step replaces is then not the one
  // replayed below (and its rollback would restore a stale one).
  for (const ForeignKey& fk : tp.live->foreign_keys) {
    if (fk.table == Lower(tp.live->name)) continue;
    for (const auto& [from, to] : table_renames_)
      if (fk.table == Lower(from)) return "a table its FOREIGN KEYs reference is renamed";
    for (const TablePlan& o : tables_)
      if (&o != &tp && fk.table == Lower(o.live->name) && !o.renamed_columns.empty())
        return "a table its FOREIGN KEYs reference has a column renamed";
  }
  // Replay the ALTER TABLE steps before this one on the live definition in a
  // scratch database: the text they leave is what the step replaces (and what
  // its rollback restores), and its storage must be the desired text's.
  std::string name = tp.live->name;
  for (const auto& [from, to] : table_renames_)
    if (EqualsNoCase(from, tp.live->name)) name = to;
  constexpr int kScratch = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  Result<DbPtr> live_db = OpenDb(":memory:", kScratch);
  Result<DbPtr> want_db = OpenDb(":memory:", kScratch);
  if (!live_db.ok() || !want_db.ok()) return "could not open a scratch database";
  sqlite3* a = live_db->get();
  std::vector<std::string> replay{tp.live->sql};
  if (name != tp.live->name)
    replay.push_back(fmt::format("ALTER TABLE {} RENAME TO {}", QuoteIdent(tp.live->name),
                                 QuoteIdent(name)));
  for (const auto& [from, to] : tp.renamed_columns)
    replay.push_back(fmt::format("ALTER TABLE {} RENAME COLUMN {} TO {}", QuoteIdent(name),
                                 QuoteIdent(from), QuoteIdent(to)));
  for (const Column* c : tp.added)
    replay.push_back(fmt::format("ALTER TABLE {} ADD COLUMN {}", QuoteIdent(name), c->definition));
  for (const Column* d : tp.dropped)
    replay.push_back(
        fmt::format("ALTER TABLE {} DROP COLUMN {}", QuoteIdent(name), QuoteIdent(d->source_name)));
  for (const std::string& sql : replay)
    if (!Exec(a, sql).ok()) return "its definition does not load in a scratch database";
  Result<std::string> old_sql = QueryText(
      a, fmt::format("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = {}",
                     QuoteLiteral(name)));
  if (!old_sql.ok() || old_sql->empty())
    return "its definition does not load in a scratch database";
  if (!Exec(want_db->get(), WithBareName(want.sql, name)).ok())
    return "the desired definition does not load in a scratch database";
  Result<std::string> before = StorageSignature(a, name);
  Result<std::string> wanted_sig = StorageSignature(want_db->get(), name);
  if (!before.ok() || !wanted_sig.ok() || before->empty() || *before != *wanted_sig)
    return "the rows would be stored differently";

  // A row written before a column was added by ALTER TABLE ADD COLUMN holds
  // no value for it, and SQLite reads the column's current DEFAULT in its
  // place: changing the DEFAULT in the text would change those rows. Such a
  // column was added, so its old DEFAULT is constant (or none), it is not the
  // first column, not in a key, not generated, and not NOT NULL without a
  // DEFAULT (all things ADD COLUMN refuses).
  tp.materialize.clear();
  for (const ColumnChange& ch : tp.default_changes) {
    const Column& c = *ch.cur;
    bool first = !cur.columns.empty() && &cur.columns.front() == &c;
    bool keyed = c.pk > 0 || c.unique;
    for (const Index& ix : cur.constraint_indexes)
      for (const IndexKey& k : ix.keys)
        if (k.column == Lower(c.name)) keyed = true;
    bool maybe_added = !first && !keyed && !c.generated() &&
                       (!c.default_sql || IsConstantDefault(*c.default_sql)) &&
                       !(c.not_null && IsNullDefault(c.default_sql));
    if (maybe_added) tp.materialize.push_back(&c);
  }
  tp.in_place_old_sql = *old_sql;
  tp.in_place_name = name;
  if (!tp.materialize.empty()) materialized_.insert(Lower(tp.live->name));
  return std::nullopt;
}

// The edit of table `name`'s stored text (schema-qualified when migrating an
// attached database), as self-contained SQL: what migrate_plan shows is what
// runs, from migrate_apply, a migrate_script in the sqlite3 shell, or a
// rollback later.
std::string InPlaceEditSql(std::string_view schema, const std::string& name,
                           const std::string& new_sql, const std::optional<std::string>& expect,
                           std::string_view failure) {
  const std::string guard = QuoteIdent("_automigrate_in_place_check");
  std::string out;
  out += fmt::format("CREATE TEMP TABLE {}(ok INTEGER CONSTRAINT {} CHECK (ok));\n", guard,
                     QuoteIdent(failure));
  out += "PRAGMA writable_schema=ON;\n";
  out += fmt::format("UPDATE {}.sqlite_schema SET sql = {} WHERE type = 'table' AND name = {}{};\n",
                     QuoteIdent(schema), QuoteLiteral(new_sql), QuoteLiteral(name),
                     expect ? " AND sql = " + QuoteLiteral(*expect) : "");
  out += fmt::format("INSERT INTO temp.{} VALUES (changes() = 1);\n", guard);
  // The UPDATE leaves schema_version alone, so other connections would keep
  // the old definition (and SQLite's own statement cache its plans). A real
  // DDL statement moves it, and every connection re-reads the schema at its
  // next statement. Chosen over PRAGMA schema_version = N + 1: that needs N,
  // which static SQL (migrate_script, rollback_sql) cannot know, and SQLite
  // documents setting it as a corruption risk. It runs before the RESET: if
  // anything fails after it, SQLite's rollback knows the schema changed and
  // re-reads it, so no connection keeps the edited definition in memory.
  out += fmt::format("CREATE TABLE {0}(x);\nDROP TABLE {0};\n",
                     QualifiedName(schema, "_automigrate_schema_bump"));
  // RESET: writable_schema off, and this connection re-parses every stored
  // definition now (a text SQLite cannot read fails here, inside the
  // transaction). integrity_check of sqlite_schema alone is O(schema); the
  // full check would read every row of every table (README, Decisions).
  out += "PRAGMA writable_schema=RESET;\n";
  out += fmt::format(
      "INSERT INTO temp.{} SELECT count(*) = 1 AND min(integrity_check) = 'ok' FROM "
      "pragma_integrity_check('sqlite_schema', {});\n",
      guard, QuoteLiteral(schema));
  out += fmt::format("DROP TABLE temp.{};\n", guard);
  return out;
}

void Planner::EmitInPlace(const TablePlan& tp) {
  const Table& want = *tp.want;
  const Table& cur = tp.cur;
  const std::string& name = tp.in_place_name;
  // The desired text as written, unless it spells the name otherwise (even
  // only in case: readers of sqlite_schema match the text's name to the row's).
  const std::string new_sql = want.name == name ? want.sql : WithBareName(want.sql, name);
  Step s;
  s.op = Op::kAlterTableInPlace;
  s.object_type = "table";
  s.object = want.name;
  s.table_name = want.name;
  std::string sql;
  std::vector<std::string> materialized;
  for (const Column* c : tp.materialize) {
    // Writes the old DEFAULT into the rows that only read it (UPDATE writes
    // whole records), before the text changes what they would read. UPDATE
    // triggers on the table are dropped before and recreated after the step.
    std::string old = c->default_sql ? "(" + *c->default_sql + ")" : "NULL";
    sql += fmt::format("UPDATE {0} SET {1} = {1} WHERE {1} IS {2};\n", Q(name), QuoteIdent(c->name),
                       old);
    materialized.push_back(c->name);
  }
  sql += InPlaceEditSql(schema_, name, new_sql, std::nullopt,
                        fmt::format("in-place edit of {} failed: no such table, or the schema "
                                    "check after it is not ok",
                                    name));
  s.sql = std::move(sql);
  s.reason = Join(tp.in_place_reasons, "; ");
  if (materialized.empty()) {
    s.reason += "; in place (no row is rewritten)";
  } else {
    s.reason += fmt::format(
        "; in place (rows that hold the old DEFAULT of {} are written out first: they may predate "
        "ADD COLUMN)",
        Join(materialized, ", "));
  }
  double schema_ms = kSchemaChangeMs * 3 + SchemaMs(kCreateDropUsPerTable * 2 + kInPlaceUsPerTable);
  s.est_ms = schema_ms;
  if (!materialized.empty()) {
    s.est_rows = Rows(tp.live->name);
    s.est_ms += static_cast<double>(s.est_rows) * static_cast<double>(materialized.size()) *
                kMaterializeUsPerRow / 1000.0;
    if (s.est_rows > 0)
      s.complexity = s.est_rows >= kComplexRows ? Complexity::kComplex : Complexity::kModerate;
  }

  // Rollback: the old text back. Rules it brings back (NOT NULL, CHECK,
  // FOREIGN KEY) may be broken by rows written since: count them, and fail
  // (the transaction undoes everything) rather than leave a schema its rows
  // violate. NOT NULL and CHECK are counted before the edit: once NOT NULL
  // is declared again, SQLite answers "b IS NULL" with false without
  // reading a row. FOREIGN KEYs after it: foreign_key_check reads the
  // declared keys.
  std::vector<std::pair<std::string, std::string>> rules;  // constraint name, count query
  for (const ColumnChange& ch : tp.kept)
    if (ch.cur->not_null && !ch.want->not_null)
      rules.push_back({fmt::format("rollback refused: {}.{} holds NULLs, so NOT NULL cannot come "
                                   "back; fix those rows first",
                                   name, ch.cur->name),
                       fmt::format("SELECT count(*) FROM {} WHERE {} IS NULL", Q(name),
                                   QuoteIdent(ch.cur->name))});
  std::set<std::string> dropped;
  for (const Column* d : tp.dropped) dropped.insert(Lower(d->name));
  std::multiset<std::string> kept_checks;
  for (const Check& ck : want.checks) kept_checks.insert(NormExpr(ck.expr));
  for (const Check& ck : cur.checks) {
    if (dropped.count(ck.column)) continue;
    auto it = kept_checks.find(NormExpr(ck.expr));
    if (it != kept_checks.end()) {
      kept_checks.erase(it);
      continue;
    }
    rules.push_back({fmt::format("rollback refused: rows of {} violate CHECK ({}); fix them first",
                                 name, ck.expr),
                     fmt::format("SELECT count(*) FROM {} WHERE NOT ({})", Q(name), ck.expr)});
  }
  std::vector<std::pair<std::string, std::string>> fk_rules;
  std::multiset<std::string> kept_fks;
  for (const ForeignKey& fk : want.foreign_keys) kept_fks.insert(fk.Key());
  bool fk_back = false;
  for (const ForeignKey& fk : cur.foreign_keys)
    if (!dropped.count(fk.column) && !kept_fks.count(fk.Key())) fk_back = true;
  if (fk_back)
    fk_rules.push_back(
        {fmt::format("rollback refused: rows of {} violate its FOREIGN KEYs; fix them first", name),
         fmt::format("SELECT count(*) FROM pragma_foreign_key_check({}, {})", QuoteLiteral(name),
                     QuoteLiteral(schema_))});
  auto guard_sql = [&](const std::vector<std::pair<std::string, std::string>>& r) {
    if (r.empty()) return std::string();
    const std::string guard = QuoteIdent("_automigrate_rollback_check");
    std::vector<std::string> cols, counts;
    for (size_t i = 0; i < r.size(); ++i) {
      cols.push_back(fmt::format("r{0} INTEGER CONSTRAINT {1} CHECK (r{0} = 0)", i,
                                 QuoteIdent(r[i].first)));
      counts.push_back("(" + r[i].second + ")");
    }
    return fmt::format("CREATE TEMP TABLE {0}({1});\nINSERT INTO temp.{0} SELECT {2};\n"
                       "DROP TABLE temp.{0};\n",
                       guard, Join(cols, ", "), Join(counts, ", "));
  };
  std::string back = guard_sql(rules);
  back += InPlaceEditSql(
      schema_, name, tp.in_place_old_sql, new_sql,
      fmt::format("rollback of the in-place edit of {} refused: its definition changed since",
                  name));
  back += guard_sql(fk_rules);
  s.rollback_sql = std::move(back);
  plan_.steps.push_back(std::move(s));
}

// ---------------------------------------------------------------------------
// Views, triggers and indexes

void Planner::PlanDependants() {
  for (const auto& [from, to] : table_renames_) {
    affected_.insert(Lower(from));
    affected_.insert(Lower(to));
  }
  for (const Table* t : dropped_) affected_.insert(Lower(t->name));
  for (const TablePlan& tp : tables_) {
    if (tp.rebuild || tp.recreate_virtual || !tp.dropped.empty() || !tp.renamed_columns.empty()) {
      affected_.insert(Lower(tp.live->name));
      affected_.insert(Lower(tp.want->name));
    }
  }
  // Views: drop the changed, the removed and those that name an affected
  // table or a view being dropped (to a fixed point: views on views).
  std::set<const View*> drop;
  for (bool changed = true; changed;) {
    changed = false;
    for (const View& v : live_.views) {
      if (drop.count(&v)) continue;
      const View* w = want_.FindView(v.name);
      bool depends = false;
      for (const std::string& id : ddl::Identifiers(v.sql))
        if (affected_.count(id) && id != Lower(v.name)) depends = true;
      if (!w || w->norm != v.norm || depends) {
        drop.insert(&v);
        affected_.insert(Lower(v.name));
        changed = true;
      }
    }
  }
  for (const View& v : live_.views)
    if (drop.count(&v)) drop_views_.push_back(&v);
  for (const View& w : want_.views) {
    const View* l = live_.FindView(w.name);
    if (!l || drop.count(l)) create_views_.push_back(&w);
  }
  // Views in dependency order: a view after the views it names.
  std::vector<const View*> ordered;
  std::set<const View*> done;
  std::function<void(const View*, int)> visit = [&](const View* v, int depth) {
    if (done.count(v) || depth > 64) return;
    done.insert(v);
    for (const std::string& id : ddl::Identifiers(v->sql))
      for (const View* o : create_views_)
        if (o != v && Lower(o->name) == id) visit(o, depth + 1);
    ordered.push_back(v);
  };
  for (const View* v : create_views_) visit(v, 0);
  create_views_ = ordered;

  for (const Trigger& t : live_.triggers) {
    const Trigger* w = want_.FindTrigger(t.name);
    // An in-place step that UPDATEs the table must not fire its triggers.
    bool depends = Affected(t.table) || materialized_.count(Lower(t.table)) > 0;
    for (const std::string& id : ddl::Identifiers(t.sql))
      if (affected_.count(id)) depends = true;
    if (!w || w->norm != t.norm || depends) drop_triggers_.push_back(&t);
  }
  for (const Trigger& w : want_.triggers) {
    const Trigger* l = live_.FindTrigger(w.name);
    if (!l || std::find(drop_triggers_.begin(), drop_triggers_.end(), l) != drop_triggers_.end())
      create_triggers_.push_back(&w);
  }
}

void Planner::PlanIndexes() {
  // Lookups by lower-cased name: a scan per index made planning quadratic
  // in the number of tables.
  std::unordered_map<std::string, const TablePlan*> plans;
  for (const TablePlan& tp : tables_) plans.emplace(Lower(tp.want->name), &tp);
  std::unordered_set<std::string> created, dropped;
  for (const Table* t : created_) created.insert(Lower(t->name));
  for (const Table* t : dropped_) dropped.insert(Lower(t->name));
  auto plan_of = [&](std::string_view table) -> const TablePlan* {
    auto it = plans.find(Lower(table));
    return it == plans.end() ? nullptr : it->second;
  };
  // The live index as it will be after hinted renames: table and columns.
  auto current_key = [&](const Index& ix) {
    Index c = ix;
    for (const auto& [from, to] : table_renames_)
      if (EqualsNoCase(c.table, from)) c.table = to;
    if (const TablePlan* tp = plan_of(c.table)) {
      for (const auto& [from, to] : tp->renamed_columns) {
        for (IndexKey& k : c.keys) {
          if (k.column == Lower(from)) k.column = Lower(to);
          if (k.column.empty()) k.expr_norm = ddl::Normalize(ddl::RenameIdentifier(k.expr, from, to));
        }
        if (c.where) {
          c.where = ddl::RenameIdentifier(*c.where, from, to);
          c.where_norm = ddl::Normalize(*c.where);
        }
      }
    }
    return c;
  };
  auto rebuilt = [&](std::string_view table) {
    const TablePlan* tp = plan_of(table);
    return tp && (tp->rebuild || tp->recreate_virtual);
  };
  std::set<const Index*> kept_live;
  for (const Index& w : want_.indexes) {
    if (rebuilt(w.table)) continue;  // created by the rebuild itself
    bool new_table = created.count(Lower(w.table)) > 0;
    const Index* l = new_table ? nullptr : live_.FindIndex(w.name);
    if (!l && !new_table && w.renamed_from && !want_.FindIndex(*w.renamed_from))
      l = live_.FindIndex(*w.renamed_from);
    if (l && EqualsNoCase(l->name, w.name) && current_key(*l).Key() == w.Key()) {
      kept_live.insert(l);
      continue;
    }
    create_indexes_.push_back(&w);
  }
  for (const Index& l : live_.indexes) {
    if (kept_live.count(&l)) continue;
    // Indexes of dropped or rebuilt tables go with their table.
    std::string t = l.table;
    for (const auto& [from, to] : table_renames_)
      if (EqualsNoCase(t, from)) t = to;
    bool table_dropped = dropped.count(Lower(l.table)) > 0;
    if (table_dropped || rebuilt(t)) continue;
    drop_indexes_.push_back(&l);
  }
}

// ---------------------------------------------------------------------------
// SQL generation

int64_t Planner::Rows(std::string_view live_table) {
  std::string key = Lower(live_table);
  auto it = rows_.find(key);
  if (it != rows_.end()) return it->second;
  Result<int64_t> n = QueryInt(db_, fmt::format("SELECT count(*) FROM {}", Q(live_table)), 0);
  int64_t v = n.ok() ? *n : 0;
  rows_[key] = v;
  return v;
}

std::string Planner::RebuildSql(std::string_view current_name, const Table& target,
                                const std::vector<std::pair<std::string, std::string>>& copy,
                                bool keep_sequence,
                                const std::vector<std::string>& index_sql) const {
  std::string tmp = "_automigrate_new_" + std::string(current_name);
  std::string out = Terminated(WithName(target.sql, schema_, tmp));
  std::vector<std::string> cols, exprs;
  for (const auto& [col, expr] : copy) {
    cols.push_back(col == "rowid" ? col : QuoteIdent(col));
    exprs.push_back(expr);
  }
  if (!cols.empty()) {
    out += fmt::format("INSERT INTO {} ({})\n  SELECT {} FROM {};\n", Q(tmp), Join(cols, ", "),
                       Join(exprs, ", "), Q(current_name));
  }
  if (keep_sequence) {
    // AUTOINCREMENT: the counter must not go back below the old table's, or
    // ids of deleted rows would be handed out again.
    std::string seq = schema_ == "main" ? "sqlite_sequence" : Q("sqlite_sequence");
    out += fmt::format(
        "UPDATE {0} SET seq = max(seq, coalesce((SELECT seq FROM {0} WHERE name = {1}), 0)) "
        "WHERE name = {2};\n"
        "INSERT INTO {0}(name, seq) SELECT {2}, seq FROM {0} WHERE name = {1} "
        "AND NOT EXISTS (SELECT 1 FROM {0} WHERE name = {2});\n",
        seq, QuoteLiteral(current_name), QuoteLiteral(tmp));
  }
  out += fmt::format("DROP TABLE {};\n", Q(current_name));
  out += fmt::format("ALTER TABLE {} RENAME TO {};\n", Q(tmp), QuoteIdent(current_name));
  for (const std::string& s : index_sql) out += Terminated(s);
  return out;
}

// The live rows seen through the desired table's column names: what the new
// table would hold. Data pre-checks count rule violations over it.
std::string Planner::Projection(const TablePlan& tp, bool fill_defaults, bool typed) const {
  std::vector<std::string> items;
  for (const Column& w : tp.want->columns) {
    if (w.generated()) continue;
    const Column* c = tp.cur.FindColumn(w.name);
    std::string expr;
    if (c) {
      expr = AffinityConverted(QuoteIdent(c->source_name), Affinity(c->type), Affinity(w.type));
      if (fill_defaults && w.not_null && !c->not_null && !IsNullDefault(w.default_sql))
        expr = fmt::format("coalesce({}, ({}))", expr, *w.default_sql);
    } else {
      // PRAGMA table_xinfo reports DEFAULT (expr) without its parentheses.
      expr = w.default_sql ? "(" + *w.default_sql + ")" : "NULL";
    }
    items.push_back(fmt::format("{} AS {}", expr, QuoteIdent(w.name)));
  }
  if (items.empty()) items.push_back("NULL AS _automigrate_none");
  std::string inner = fmt::format("SELECT {} FROM {}", Join(items, ", "), Q(tp.live->name));
  std::string alias = QuoteIdent(tp.want->name);
  auto affinity = [&](const Column& w) {
    return tp.want->strict && Upper(w.type) == "ANY" ? std::string("BLOB") : Affinity(w.type);
  };
  // Each column as `typed` asks (see CastForAffinity), and
  // _automigrate_exact: whether every column's cast keeps its value.
  // Also _automigrate_exact_<i> per stored column i, so that a rule reads
  // its own columns typed even where another column of the row is not.
  std::vector<std::string> outer, exact = {"1"}, exact_cols;
  for (size_t i = 0; i < tp.want->columns.size(); ++i) {
    const Column& w = tp.want->columns[i];
    if (w.generated()) continue;
    std::string n = QuoteIdent(w.name);
    outer.push_back(fmt::format("{} AS {}", typed ? CastForAffinity(n, affinity(w)) : n, n));
    exact.push_back(LosslessUnder(n, affinity(w)));
    exact_cols.push_back(fmt::format("{} AS _automigrate_exact_{}", exact.back(), i));
  }
  if (outer.empty()) outer.push_back("_automigrate_none");
  for (const std::string& e : exact_cols) outer.push_back(e);
  inner = fmt::format("SELECT {}, ({}) AS _automigrate_exact FROM ({}) AS {}", Join(outer, ", "),
                      Join(exact, " AND "), inner, alias);
  // Generated columns are computed over the stored ones, as the new table
  // will, and then take their own column's affinity.
  std::vector<std::string> generated, gen_cols, gen_exact = {"_automigrate_exact"};
  for (const Column& w : tp.want->columns)
    if (w.generated() && w.generated_expr) {
      std::string n = QuoteIdent(w.name);
      generated.push_back(fmt::format("({}) AS {}", *w.generated_expr, n));
      gen_cols.push_back(fmt::format("{} AS {}", typed ? CastForAffinity(n, affinity(w)) : n, n));
      gen_exact.push_back(LosslessUnder(n, affinity(w)));
    }
  if (!generated.empty()) {
    inner = fmt::format("SELECT *, {} FROM ({}) AS {}", Join(generated, ", "), inner, alias);
    std::vector<std::string> cols;
    for (const Column& w : tp.want->columns)
      if (!w.generated()) cols.push_back(QuoteIdent(w.name));
    if (cols.empty()) cols.push_back("_automigrate_none");
    for (size_t i = 0; i < tp.want->columns.size(); ++i)
      if (!tp.want->columns[i].generated()) cols.push_back(fmt::format("_automigrate_exact_{}", i));
    cols.insert(cols.end(), gen_cols.begin(), gen_cols.end());
    inner = fmt::format("SELECT {}, ({}) AS _automigrate_exact FROM ({}) AS {}", Join(cols, ", "),
                        Join(gen_exact, " AND "), inner, alias);
  }
  return fmt::format("({}) AS {}", inner, alias);
}

std::string Planner::ExactFor(const TablePlan& tp, std::string_view sql) const {
  std::vector<std::string> parts;
  for (size_t i = 0; i < tp.want->columns.size(); ++i) {
    const Column& w = tp.want->columns[i];
    if (!Mentions(sql, w.name)) continue;
    if (w.generated()) return "_automigrate_exact";
    parts.push_back(fmt::format("_automigrate_exact_{}", i));
  }
  if (parts.empty()) return "1";
  return "(" + Join(parts, " AND ") + ")";
}

void Planner::Count(const std::string& sql, Precheck pc, std::vector<Precheck>* out) {
  Result<int64_t> n = QueryInt(db_, sql, 0);
  if (!n.ok()) {
    plan_.warnings.push_back(fmt::format("could not pre-check {} on {}: {}", pc.rule, pc.table,
                                         n.status().message()));
    return;
  }
  pc.violations = *n;
  out->push_back(std::move(pc));
}

// Appends "N rows of t.c violate RULE" for every failed pre-check.
void AddPrecheckWarnings(Step& step) {
  for (const Precheck& pc : step.prechecks) {
    if (pc.violations == 0) continue;
    std::string where = pc.column.empty() ? pc.table : pc.table + "." + pc.column;
    std::string msg = fmt::format("{} row{} of {} violate{} {}", pc.violations,
                                  pc.violations == 1 ? "" : "s", where,
                                  pc.violations == 1 ? "s" : "", pc.rule);
    step.warning += (step.warning.empty() ? "" : "; ") + msg;
  }
}

void Planner::CountDuplicates(const TablePlan& tp, const std::string& typed_from,
                              const std::string& from, const std::vector<IndexKey>& keys,
                              const std::optional<std::string>& where, const std::string& table,
                              const std::string& rule, std::vector<Precheck>* out) {
  std::string mentioned = where.value_or("");
  for (const IndexKey& k : keys)
    mentioned += " " + (k.column.empty() ? k.expr : QuoteIdent(k.column));
  const std::string exact = ExactFor(tp, mentioned);
  // Key values are computed in each half (where affinities apply), then
  // grouped: NULL keys are distinct, so rows with one are left out.
  std::vector<std::string> values, group, not_null;
  for (size_t i = 0; i < keys.size(); ++i) {
    const IndexKey& k = keys[i];
    std::string e = k.column.empty() ? "(" + k.expr + ")" : QuoteIdent(k.column);
    not_null.push_back(e + " IS NOT NULL");
    values.push_back(fmt::format("{} AS _automigrate_k{}", e, i));
    group.push_back(fmt::format("_automigrate_k{} COLLATE {}", i,
                                k.collation.empty() ? "BINARY" : k.collation));
  }
  std::string filter = Join(not_null, " AND ");
  if (where) filter += " AND (" + *where + ")";
  Count(fmt::format("SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM ("
                    "SELECT {0} FROM {1} WHERE {5} AND {3} UNION ALL "
                    "SELECT {0} FROM {2} WHERE NOT {5} AND {3}) "
                    "GROUP BY {4} HAVING count(*) > 1)",
                    Join(values, ", "), typed_from, from, filter, Join(group, ", "), exact),
        {table, "", rule, 0}, out);
}

std::string StrictViolation(std::string_view type, const std::string& v) {
  std::string t = Upper(type);
  // Affinity conversion happens before the STRICT type check; a text value is
  // accepted by INTEGER/REAL when it reads back as the same number.
  std::string numeric_text = fmt::format(
      "(typeof({0}) = 'text' AND CAST(CAST({0} AS NUMERIC) AS TEXT) = trim({0}))", v);
  if (t == "INT" || t == "INTEGER")
    return fmt::format(
        "typeof({0}) IN ('blob') OR (typeof({0}) = 'real' AND {0} <> CAST({0} AS INTEGER)) OR "
        "(typeof({0}) = 'text' AND NOT ({1} AND typeof(CAST({0} AS NUMERIC)) = 'integer'))",
        v, numeric_text);
  if (t == "REAL")
    return fmt::format("typeof({0}) = 'blob' OR (typeof({0}) = 'text' AND NOT {1})", v,
                       numeric_text);
  if (t == "TEXT") return fmt::format("typeof({0}) = 'blob'", v);
  if (t == "BLOB") return fmt::format("typeof({0}) IN ('integer', 'real', 'text')", v);
  return "";
}

void Planner::AddPrechecks(const TablePlan& tp, bool fill_defaults, bool with_unique_indexes,
                           std::vector<Precheck>* out) {
  int64_t rows = Rows(tp.live->name);
  if (rows == 0) return;
  const Table& want = *tp.want;
  const Table& cur = tp.cur;
  std::string from = Projection(tp, fill_defaults);
  std::string typed_from = Projection(tp, fill_defaults, /*typed=*/true);
  std::string tname = want.name;

  for (const Column& w : want.columns) {
    if (w.generated()) continue;
    const Column* c = cur.FindColumn(w.name);
    bool required = w.not_null || (want.without_rowid && w.pk > 0);
    if (required && (!c || !c->not_null))
      Count(fmt::format("SELECT count(*) FROM {} WHERE {} IS NULL", from, QuoteIdent(w.name)),
            {tname, w.name, "NOT NULL"}, out);
    if (want.strict && (!cur.strict || !c || !EqualsNoCase(c->type, w.type))) {
      std::string cond = StrictViolation(w.type, QuoteIdent(w.name));
      if (!cond.empty())
        Count(fmt::format("SELECT count(*) FROM {} WHERE {}", from, cond),
              {tname, w.name, "STRICT " + Upper(w.type)}, out);
    }
  }
  std::multiset<std::string> old_checks;
  for (const Check& ck : cur.checks) old_checks.insert(NormExpr(ck.expr));
  for (const Check& ck : want.checks) {
    if (old_checks.count(NormExpr(ck.expr))) continue;
    Count(fmt::format("SELECT (SELECT count(*) FROM {0} WHERE {3} AND NOT ({1})) + "
                      "(SELECT count(*) FROM {2} WHERE NOT {3} AND NOT ({1}))",
                      typed_from, ck.expr, from, ExactFor(tp, ck.expr)),
          {tname, ck.column, fmt::format("CHECK ({})", ck.expr)}, out);
  }
  auto duplicates = [&](const std::vector<IndexKey>& keys, const std::optional<std::string>& where,
                        const std::string& rule) {
    CountDuplicates(tp, typed_from, from, keys, where, tname, rule, out);
  };
  std::multiset<std::string> old_cons;
  for (const Index& ix : cur.constraint_indexes) old_cons.insert(ix.Key());
  for (const Index& ix : want.constraint_indexes) {
    if (old_cons.count(ix.Key())) continue;
    std::vector<std::string> names;
    for (const IndexKey& k : ix.keys) names.push_back(k.column);
    duplicates(ix.keys, std::nullopt,
               fmt::format("{} ({})", ix.origin == "pk" ? "PRIMARY KEY" : "UNIQUE",
                           Join(names, ", ")));
  }
  const Column* alias = want.RowidAlias();
  const Column* old_alias = cur.RowidAlias();
  if (alias && (!old_alias || !EqualsNoCase(alias->name, old_alias->name))) {
    IndexKey k;
    k.column = Lower(alias->name);
    duplicates({k}, std::nullopt, fmt::format("PRIMARY KEY ({})", alias->name));
    // A rowid alias holds integers only: anything else is "datatype mismatch"
    // (a real with an integer value, 5.0, is stored as the integer 5).
    Count(fmt::format("SELECT count(*) FROM {0} WHERE typeof({1}) NOT IN ('integer', 'null') AND "
                      "NOT (typeof({1}) = 'real' AND {1} = CAST({1} AS INTEGER))",
                      from, QuoteIdent(alias->name)),
          {tname, alias->name, "INTEGER PRIMARY KEY (integer values only)"}, out);
  }
  // Explicit UNIQUE indexes the rebuild creates (existing ones already hold).
  for (const Index& ix : want_.indexes) {
    if (!with_unique_indexes || !ix.unique || !EqualsNoCase(ix.table, want.name)) continue;
    const Index* l = live_.FindIndex(ix.name);
    if (l && l->unique && l->keys.size() == ix.keys.size() && l->where_norm == ix.where_norm) {
      bool same = true;
      for (size_t i = 0; i < ix.keys.size(); ++i) {
        const Column* c = cur.FindColumn(ix.keys[i].column);
        std::string live_col = c ? Lower(c->source_name) : ix.keys[i].column;
        if (l->keys[i].column != live_col || l->keys[i].expr_norm != ix.keys[i].expr_norm ||
            l->keys[i].collation != ix.keys[i].collation)
          same = false;
      }
      if (same) continue;
    }
    std::vector<std::string> names;
    for (const IndexKey& k : ix.keys) names.push_back(k.column.empty() ? k.expr : k.column);
    duplicates(ix.keys, ix.where, fmt::format("UNIQUE index {} ({})", ix.name, Join(names, ", ")));
  }
  std::multiset<std::string> old_fks;
  for (const ForeignKey& fk : cur.foreign_keys) old_fks.insert(fk.Key());
  for (const ForeignKey& fk : want.foreign_keys) {
    if (old_fks.count(fk.Key())) continue;
    std::string rule = fmt::format("FOREIGN KEY ({}) REFERENCES {}", Join(fk.from_verbatim, ", "),
                                   fk.table_verbatim);
    std::vector<std::string> not_null;
    for (const std::string& f : fk.from) not_null.push_back(QuoteIdent(f) + " IS NOT NULL");
    // The parent as it is now (it may be renamed or rebuilt in the same plan,
    // but its rows are the same): find it by its desired or live name.
    const Table* parent_want = want_.FindTable(fk.table);
    std::string parent_live;
    std::vector<std::string> to = fk.to;
    if (to.empty() && parent_want) {
      // The parent's PRIMARY KEY in key order, not declaration order.
      std::vector<std::pair<int, std::string>> pk;
      for (const Column& pc : parent_want->columns)
        if (pc.pk > 0) pk.push_back({pc.pk, Lower(pc.name)});
      std::sort(pk.begin(), pk.end());
      for (const auto& [pos, name] : pk) to.push_back(name);
    }
    std::vector<std::string> match;
    for (const TablePlan& p : tables_) {
      if (!EqualsNoCase(p.want->name, fk.table)) continue;
      parent_live = p.live->name;
      for (size_t i = 0; i < fk.from.size() && i < to.size(); ++i) {
        const Column* pc = p.cur.FindColumn(to[i]);
        if (!pc) {
          parent_live.clear();
          break;
        }
        match.push_back(
            fmt::format("p.{} = {}.{}", QuoteIdent(pc->source_name), QuoteIdent(tname),
                        QuoteIdent(fk.from[i])));
      }
    }
    if (!parent_live.empty() && match.size() == fk.from.size()) {
      Count(fmt::format("SELECT count(*) FROM {} WHERE {} AND NOT EXISTS (SELECT 1 FROM {} AS p "
                        "WHERE {})",
                        from, Join(not_null, " AND "), Q(parent_live), Join(match, " AND ")),
            {tname, Join(fk.from_verbatim, ", "), rule}, out);
    } else if (!parent_want || !live_.FindTable(fk.table)) {
      // A new (empty) parent: every child row with a key is an orphan.
      Count(fmt::format("SELECT count(*) FROM {} WHERE {}", from, Join(not_null, " AND ")),
            {tname, Join(fk.from_verbatim, ", "), rule}, out);
    }
  }
}

namespace {

// The PRIMARY KEY's columns in key order, lower case.
std::vector<std::string> PrimaryKeyColumns(const Table& t) {
  std::vector<std::pair<int, std::string>> pk;
  for (const Column& c : t.columns)
    if (c.pk > 0) pk.emplace_back(c.pk, ddl::Lower(c.name));
  std::sort(pk.begin(), pk.end());
  std::vector<std::string> out;
  for (auto& [pos, name] : pk) out.push_back(std::move(name));
  return out;
}

// The indexes that can make columns of `t` a parent key: its PRIMARY KEY
// and UNIQUE constraints, and the UNIQUE CREATE INDEX indexes on it
// (`indexes` is ByTable of its schema).
std::vector<const Index*> UniqueIndexes(const Table& t, const IndexesByTable& indexes) {
  std::vector<const Index*> out;
  for (const Index& i : t.constraint_indexes)
    if (i.unique) out.push_back(&i);
  if (auto it = indexes.find(Lower(t.name)); it != indexes.end())
    for (const Index* i : it->second)
      if (i->unique) out.push_back(i);
  return out;
}

std::set<std::string> UniqueKeys(const Table& t, const IndexesByTable& indexes) {
  std::set<std::string> out;
  for (const Index* i : UniqueIndexes(t, indexes)) out.insert(i->Key());
  return out;
}

// Why `fk`, a FOREIGN KEY of a table of `schema`, has no parent key, or ""
// when it has one. SQLite's rules (docs: foreignkeys.html, "parent key"): the
// parent's PRIMARY KEY when no columns are named; else its rowid alias, or a
// UNIQUE index or constraint that is not partial, keys exactly the named
// columns (in any order, no expression) and uses each column's own collation.
// Without one, every write to either table fails with "foreign key mismatch"
// while foreign keys are on. A missing or virtual parent is not judged here.
// `indexes` is ByTable(schema).
std::string ParentKeyProblem(const ForeignKey& fk, const Schema& schema,
                             const IndexesByTable& indexes) {
  const Table* parent = schema.FindTable(fk.table);
  if (!parent || parent->is_virtual) return "";
  std::vector<std::string> to = fk.to;
  if (to.empty()) {
    to = PrimaryKeyColumns(*parent);
    if (to.empty()) return fmt::format("{} has no PRIMARY KEY", parent->name);
    if (to.size() != fk.from.size())
      return fmt::format("{}'s PRIMARY KEY has {} columns, the FOREIGN KEY {}", parent->name,
                         to.size(), fk.from.size());
  }
  if (const Column* alias = parent->RowidAlias(); alias && to.size() == 1 &&
                                                  EqualsNoCase(alias->name, to[0]))
    return "";
  auto usable = [&](const Index& ix) {
    if (ix.where || ix.keys.size() != to.size()) return false;
    for (const IndexKey& k : ix.keys) {
      const Column* c = k.column.empty() ? nullptr : parent->FindColumn(k.column);
      if (!c || !EqualsNoCase(k.collation, c->collation) ||
          std::find(to.begin(), to.end(), k.column) == to.end())
        return false;
    }
    return true;
  };
  for (const Index* ix : UniqueIndexes(*parent, indexes))
    if (usable(*ix)) return "";
  return fmt::format("{}({}) is not its PRIMARY KEY and has no UNIQUE constraint or index "
                     "(without a WHERE, with the columns' own collations)",
                     parent->name, Join(to, ", "));
}

}  // namespace

// A rebuild copies every row. What the FOREIGN KEYs of other tables see of
// this one changes only if a referenced column is renamed, dropped, becomes
// generated, or changes its declared type (the affinity the parent applies
// when it compares) or collation, or if the PRIMARY KEY or UNIQUE that makes
// the columns a parent key changes. When none does, those tables' rows
// cannot have been broken by the rebuild, and apply need not read them.
const IndexesByTable& Planner::LiveIndexes() {
  if (!live_indexes_) live_indexes_ = ByTable(live_);
  return *live_indexes_;
}

const IndexesByTable& Planner::WantIndexes() {
  if (!want_indexes_) want_indexes_ = ByTable(want_);
  return *want_indexes_;
}

const std::unordered_map<std::string, std::vector<const ForeignKey*>>& Planner::LiveKeysByParent() {
  if (!live_fks_) {
    live_fks_.emplace();
    for (const Table& child : live_.tables)
      for (const ForeignKey& fk : child.foreign_keys) (*live_fks_)[fk.table].push_back(&fk);
  }
  return *live_fks_;
}

bool Planner::ReferencingTablesUnaffected(const TablePlan& tp) {
  const Table& live = *tp.live;
  const Table& want = *tp.want;
  if (!EqualsNoCase(live.name, want.name) || !tp.renamed_columns.empty() ||
      live.without_rowid != want.without_rowid || live.strict != want.strict)
    return false;
  const std::vector<std::string> pk = PrimaryKeyColumns(live);
  if (pk != PrimaryKeyColumns(want) ||
      UniqueKeys(live, LiveIndexes()) != UniqueKeys(want, WantIndexes()))
    return false;
  const auto& by_parent = LiveKeysByParent();
  auto children = by_parent.find(ddl::Lower(live.name));
  if (children == by_parent.end()) return true;
  for (const ForeignKey* fk : children->second) {
    const std::vector<std::string>& cols = fk->to.empty() ? pk : fk->to;
    if (cols.empty()) return false;
    for (const std::string& name : cols) {
      const Column* a = live.FindColumn(name);
      const Column* b = want.FindColumn(name);
      if (!a || !b || a->generated() || b->generated() || b->renamed_from ||
          !EqualsNoCase(a->type, b->type) || a->collation != b->collation)
        return false;
    }
  }
  return true;
}

void Planner::WarnAboutParentKeys() {
  // The live table each desired one was matched with, once a key has a problem.
  std::unordered_map<const Table*, const Table*> live_of;
  for (const Table& w : want_.tables) {
    for (const ForeignKey& fk : w.foreign_keys) {
      const std::string problem = ParentKeyProblem(fk, want_, WantIndexes());
      if (problem.empty()) continue;
      if (live_of.empty())
        for (const TablePlan& tp : tables_) live_of[tp.want] = tp.live;
      auto it = live_of.find(&w);
      const Table* live = it == live_of.end() ? nullptr : it->second;
      bool had = false;  // the same FOREIGN KEY was already without a parent key
      if (live)
        for (const ForeignKey& l : live->foreign_keys)
          had = had || (l.Key() == fk.Key() && !ParentKeyProblem(l, live_, LiveIndexes()).empty());
      if (had) continue;
      const Table* parent = want_.FindTable(fk.table);
      plan_.warnings.push_back(fmt::format(
          "FOREIGN KEY ({}) of {} references {} with no parent key: {}; once migrated, every "
          "write to {} or {} fails with \"foreign key mismatch\" while foreign keys are on",
          Join(fk.from_verbatim, ", "), w.name, parent->name, problem, w.name, parent->name));
      for (Step& s : plan_.steps) {
        if (s.op != Op::kDropIndex || !s.check_referencing_tables ||
            !EqualsNoCase(s.table_name, parent->name))
          continue;
        std::string note = fmt::format(
            "{} may be the parent key of {}'s FOREIGN KEY ({}): the foreign-key check after "
            "dropping it fails with \"foreign key mismatch\"",
            s.object, w.name, Join(fk.from_verbatim, ", "));
        s.warning = s.warning.empty() ? note : s.warning + "; " + note;
      }
    }
  }
}

void Planner::EmitRebuild(TablePlan& tp) {
  const Table& want = *tp.want;
  const Table& cur = tp.cur;
  int64_t rows = Rows(tp.live->name);
  Step s;
  s.op = Op::kRebuildTable;
  s.object_type = "table";
  s.object = want.name;
  s.table_name = want.name;
  s.needs_foreign_keys_off = true;
  s.check_referencing_tables = !ReferencingTablesUnaffected(tp);
  s.reason = Join(tp.reasons, "; ");
  s.est_rows = rows;

  // Rows keep their rowids when both tables have them (FTS external content
  // and anything else keyed by rowid depends on it).
  const Column* new_alias = want.RowidAlias();
  bool both_rowid = !want.without_rowid && !cur.without_rowid;
  auto free_rowid_name = [](const Table& t) -> std::string {
    for (const char* n : {"rowid", "_rowid_", "oid"})
      if (!t.FindColumn(n)) return n;
    return "";
  };
  std::string old_rowid = free_rowid_name(cur);
  std::string new_rowid = free_rowid_name(want);

  std::vector<std::pair<std::string, std::string>> copy;
  bool filled_nulls = false;
  bool lossy_type = false;
  for (const Column& w : want.columns) {
    if (w.generated()) continue;
    const Column* c = cur.FindColumn(w.name);
    if (!c) {
      if (both_rowid && new_alias == &w && !old_rowid.empty()) copy.push_back({w.name, old_rowid});
      continue;
    }
    std::string expr = QuoteIdent(RenamesBeforeRebuild(tp) ? c->name : c->source_name);
    if (w.not_null && !c->not_null && !IsNullDefault(w.default_sql)) {
      // NULLs would fail the new NOT NULL: they take the column's DEFAULT.
      expr = fmt::format("coalesce({}, ({}))", expr, *w.default_sql);
      filled_nulls = true;
    }
    // ANY in a STRICT table keeps every value as given: no affinity (BLOB).
    auto affinity_of = [](const Table& t, const Column& col) {
      return t.strict && Upper(col.type) == "ANY" ? std::string("BLOB") : Affinity(col.type);
    };
    std::string from_aff = affinity_of(cur, *c), to_aff = affinity_of(want, w);
    // Lossy (the reverse rebuild cannot undo it): text that becomes a
    // number, and any value a column without affinity held that the new
    // affinity converts (a number that becomes text stays text going back).
    if (from_aff != to_aff && (from_aff == "TEXT" || from_aff == "BLOB") && to_aff != "BLOB" &&
        (to_aff != "TEXT" || from_aff == "BLOB"))
      lossy_type = true;
    copy.push_back({w.name, expr});
  }
  if (both_rowid && !new_alias && !old_rowid.empty() && !new_rowid.empty())
    copy.insert(copy.begin(), {new_rowid, old_rowid});

  std::vector<std::string> index_sql;
  for (const Index& ix : want_.indexes)
    if (EqualsNoCase(ix.table, want.name)) index_sql.push_back(WithName(ix.sql, schema_, ix.name));
  bool keep_seq = cur.autoincrement && want.autoincrement;
  s.sql = RebuildSql(want.name, want, copy, keep_seq, index_sql);

  // Destructive: columns whose data has nowhere to go, or implicit rowids
  // dropped by a WITHOUT ROWID conversion.
  std::vector<std::string> lost;
  for (const Column* d : tp.dropped)
    if (!d->generated()) lost.push_back(d->name);
  // A stored column that becomes generated: its values are replaced by computed ones.
  std::vector<std::string> replaced;
  for (const ColumnChange& ch : tp.kept)
    if (!ch.cur->generated() && ch.want->generated()) replaced.push_back(ch.want->name);
  bool rowids_lost = !cur.without_rowid && want.without_rowid && !cur.RowidAlias();
  // An existing column that becomes the INTEGER PRIMARY KEY of a table that
  // had none gives the rows its values as rowids: the implicit rowids are
  // gone, and the reverse rebuild cannot bring them back.
  bool rowids_replaced = both_rowid && new_alias && !cur.RowidAlias() &&
                         cur.FindColumn(new_alias->name) != nullptr;
  std::vector<std::string> warn;
  if (rows > 0 && (!lost.empty() || rowids_lost)) s.destructive = true;
  if (!lost.empty() && rows > 0) {
    warn.push_back(fmt::format("drops column{} {} of {} ({} row{})", lost.size() > 1 ? "s" : "",
                               Join(lost, ", "), want.name, rows, rows == 1 ? "" : "s"));
  }
  for (const std::string& c : lost) s.data_loss.push_back(fmt::format("column {}.{}", want.name, c));
  for (const std::string& c : replaced)
    if (rows > 0) s.data_loss.push_back(fmt::format("values of {}.{}", want.name, c));
  if (rowids_lost && rows > 0) s.data_loss.push_back(fmt::format("rowids of {}", want.name));
  if (!replaced.empty() && rows > 0) {
    s.destructive = true;
    warn.push_back(fmt::format("replaces the stored values of {} by computed ones ({} row{})",
                               Join(replaced, ", "), rows, rows == 1 ? "" : "s"));
  }
  if (rowids_lost && rows > 0)
    warn.push_back(fmt::format("discards the implicit rowids of {} (WITHOUT ROWID)", want.name));
  // Not destructive (every column is kept), but nothing but the backup
  // undoes it: no rollback SQL below, so backup "auto" takes one.
  if (rowids_replaced && rows > 0)
    warn.push_back(fmt::format("the rows of {} take the values of {} as rowids: the old implicit "
                               "rowids are not kept, and only the backup can undo this step",
                               want.name, new_alias->name));
  if (!lost.empty() && rows == 0) s.destructive = true;
  if (lossy_type)
    warn.push_back(fmt::format("values of {} are converted to the new column types by affinity "
                               "(e.g. text '007' becomes integer 7)",
                               want.name));
  if (filled_nulls) warn.push_back(fmt::format("NULLs in {} take the column DEFAULT", want.name));
  s.warning = Join(warn, "; ");

  // Rollback: the reverse rebuild, when no data is lost on the way.
  if (lost.empty() && replaced.empty() && !rowids_lost && !rowids_replaced && !lossy_type &&
      !filled_nulls) {
    // The reverse rebuild restores the live definition as it stands between
    // the rename_column steps and this one; undoing those renames follows.
    Table target = *tp.live;
    auto renamed = [&](const std::string& live_name) {
      if (RenamesBeforeRebuild(tp))
        for (const auto& [from, to] : tp.renamed_columns)
          if (EqualsNoCase(from, live_name)) return to;
      return live_name;
    };
    if (RenamesBeforeRebuild(tp) && !tp.renamed_columns.empty())
      target.sql = RenamedColumnsSql(target.sql, tp.live->name, tp.renamed_columns);
    std::vector<std::pair<std::string, std::string>> back;
    const Column* old_alias = tp.live->RowidAlias();
    for (const Column& l : tp.live->columns) {
      if (l.generated()) continue;
      const Column* w = nullptr;
      for (const ColumnChange& ch : tp.kept)
        if (EqualsNoCase(ch.cur->source_name, l.name)) w = ch.want;
      if (!w) {
        if (both_rowid && old_alias == &l && !new_rowid.empty())
          back.push_back({renamed(l.name), new_rowid});
        continue;
      }
      back.push_back({renamed(l.name), QuoteIdent(w->name)});
    }
    if (both_rowid && !old_alias && !old_rowid.empty() && !new_rowid.empty())
      back.insert(back.begin(), {old_rowid, new_rowid});
    std::vector<std::string> live_index_sql;
    for (const Index& ix : live_.indexes) {
      if (!EqualsNoCase(ix.table, tp.live->name)) continue;
      std::string sql = ix.sql;
      if (!EqualsNoCase(tp.live->name, want.name))
        sql = ddl::RenameIdentifier(sql, tp.live->name, want.name);
      if (RenamesBeforeRebuild(tp))
        for (const auto& [from, to] : tp.renamed_columns) sql = ddl::RenameIdentifier(sql, from, to);
      live_index_sql.push_back(WithName(sql, schema_, ix.name));
    }
    s.rollback_sql = RebuildSql(want.name, target, back, keep_seq, live_index_sql);
  }

  size_t nindex = index_sql.size() + want.constraint_indexes.size();
  s.est_ms = kSchemaChangeMs * (4 + static_cast<double>(index_sql.size())) +
             SchemaMs(kRenameTableUsPerTable +
                      kCreateDropUsPerTable * (2 + static_cast<double>(index_sql.size()))) +
             static_cast<double>(rows) *
                 (kCopyUsPerRow + kDeleteUsPerRow +
                  kIndexUsPerRow * static_cast<double>(nindex)) / 1000.0;
  s.complexity = HasDependants(tp) || rows >= kComplexRows ? Complexity::kComplex
                                                           : Complexity::kModerate;
  AddPrechecks(tp, /*fill_defaults=*/true, /*with_unique_indexes=*/true, &s.prechecks);
  AddPrecheckWarnings(s);
  plan_.steps.push_back(std::move(s));
}

void Planner::EmitColumnRenames(const TablePlan& tp) {
  std::string tname = tp.want->name;
  for (const auto& [from, to] : tp.renamed_columns) {
    Step s;
    s.op = Op::kRenameColumn;
    s.object_type = "column";
    s.object = tname + "." + to;
    s.table_name = tname;
    s.sql = fmt::format("ALTER TABLE {} RENAME COLUMN {} TO {};\n", Q(tname), QuoteIdent(from),
                        QuoteIdent(to));
    s.rollback_sql = fmt::format("ALTER TABLE {} RENAME COLUMN {} TO {};\n", Q(tname),
                                 QuoteIdent(to), QuoteIdent(from));
    s.reason = fmt::format("renamed from {} (hint)", from);
    s.est_ms = kSchemaChangeMs + kRenameColumnFixedMs + SchemaMs(kRenameColumnUsPerTable);
    plan_.steps.push_back(std::move(s));
  }
}

void Planner::EmitAlters(TablePlan& tp) {
  const Table& want = *tp.want;
  std::string tname = want.name;
  EmitColumnRenames(tp);
  // Pre-checks only for added columns that bring a rule existing rows could
  // break: a plain nullable column cannot, and counting rows would make an
  // O(1) ADD COLUMN O(n).
  bool rules = false;
  for (const Column* a : tp.added) {
    // (NOT NULL with a non-NULL constant DEFAULT cannot fail; generated NOT NULL can.)
    rules = rules || (a->not_null && a->generated()) || a->has_references ||
            (want.strict && a->default_sql);
    for (const Check& ck : want.checks)
      if (ck.column == Lower(a->name) || Mentions(ck.expr, a->name)) rules = true;
  }
  std::vector<Precheck> table_checks;
  if (rules) AddPrechecks(tp, false, false, &table_checks);
  for (const Column* a : tp.added) {
    Step s;
    s.op = Op::kAddColumn;
    s.object_type = "column";
    s.object = tname + "." + a->name;
    s.table_name = tname;
    s.sql = fmt::format("ALTER TABLE {} ADD COLUMN {};\n", Q(tname), a->definition);
    s.reason = "new column";
    s.est_ms = kSchemaChangeMs + SchemaMs(kAddColumnUsPerTable);
    // SQLite verifies existing rows for a CHECK or a NOT NULL generated column.
    bool verifies = a->not_null && a->generated();
    for (const Check& ck : want.checks)
      if (ck.column == Lower(a->name)) verifies = true;
    if (verifies) {
      s.est_rows = Rows(tp.live->name);
      s.est_ms += static_cast<double>(s.est_rows) * kVerifyUsPerRow / 1000.0;
    }
    // Rolled back by DROP COLUMN when SQLite allows it on the added column.
    if (version_ >= kDropColumnVersion && !a->has_references && a->hidden != 3) {
      // A column added after this one is dropped before it by the rollback
      // (steps are undone in reverse), so what it says does not count.
      auto added_later = [&](std::string_view name) {
        auto self = std::find(tp.added.begin(), tp.added.end(), a);
        for (auto it = self; it != tp.added.end(); ++it)
          if (it != self && EqualsNoCase((*it)->name, name)) return true;
        return false;
      };
      bool named_elsewhere = false;
      for (const Check& ck : want.checks)
        if (ck.column != Lower(a->name) && Mentions(ck.expr, a->name) &&
            (ck.column.empty() || !added_later(ck.column)))
          named_elsewhere = true;
      for (const Column& g : want.columns)
        if (g.generated_expr && &g != a && Mentions(*g.generated_expr, a->name) &&
            !added_later(g.name))
          named_elsewhere = true;
      if (!named_elsewhere)
        s.rollback_sql =
            fmt::format("ALTER TABLE {} DROP COLUMN {};\n", Q(tname), QuoteIdent(a->name));
    }
    for (const Precheck& pc : table_checks)
      if (EqualsNoCase(pc.column, a->name) || (a == tp.added.front() && pc.column.empty()))
        s.prechecks.push_back(pc);
    AddPrecheckWarnings(s);
    plan_.steps.push_back(std::move(s));
  }
  for (const Column* d : tp.dropped) {
    Step s;
    s.op = Op::kDropColumn;
    s.object_type = "column";
    s.object = tname + "." + d->name;
    s.table_name = tname;
    s.sql = fmt::format("ALTER TABLE {} DROP COLUMN {};\n", Q(tname), QuoteIdent(d->source_name));
    s.reason = "column not in the desired schema";
    s.est_rows = Rows(tp.live->name);
    s.destructive = !d->generated();
    if (s.destructive) s.data_loss.push_back(fmt::format("column {}.{}", tname, d->name));
    if (s.destructive)
      s.warning = fmt::format("drops column {}.{} and its data ({} row{})", tname, d->name,
                              s.est_rows, s.est_rows == 1 ? "" : "s");
    s.complexity = Complexity::kModerate;
    s.est_ms = kSchemaChangeMs + SchemaMs(kDropColumnUsPerTable) +
               static_cast<double>(s.est_rows) * kDropColumnUsPerRow / 1000.0;
    plan_.steps.push_back(std::move(s));
  }
}

void Planner::SuggestRenames() {
  for (const TablePlan& tp : tables_) {
    for (const Column* d : tp.dropped) {
      for (const Column* a : tp.added) {
        if (!EqualsNoCase(ddl::Normalize(d->type), ddl::Normalize(a->type))) continue;
        plan_.warnings.push_back(fmt::format(
            "{0}.{1} is dropped and {0}.{2} is added with the same type: if {2} is {1} renamed, "
            "write `-- @renamed from={1}` after its definition or pass "
            "{{\"rename\": {{\"{0}.{1}\": \"{2}\"}}}} to keep the data",
            tp.want->name, d->name, a->name));
        break;
      }
    }
  }
  for (const Table* d : dropped_) {
    for (const Table* c : created_) {
      size_t common = 0;
      for (const Column& col : c->columns)
        if (d->FindColumn(col.name)) ++common;
      if (common == 0 || common * 2 < std::max(c->columns.size(), d->columns.size())) continue;
      plan_.warnings.push_back(fmt::format(
          "table {0} is dropped and table {1} is created with similar columns: if {1} is {0} "
          "renamed, write /* @renamed from={0} */ after its name or pass {{\"rename\": "
          "{{\"{0}\": \"{1}\"}}}} to keep the data",
          d->name, c->name));
      break;
    }
  }
}

void Planner::EmitAll() {
  auto simple = [&](Op op, std::string type, std::string object, std::string table,
                    std::string sql, std::optional<std::string> rollback, std::string reason) {
    Step s;
    s.op = op;
    s.object_type = std::move(type);
    s.object = std::move(object);
    s.table_name = std::move(table);
    s.sql = std::move(sql);
    s.rollback_sql = std::move(rollback);
    s.reason = std::move(reason);
    s.est_ms = kSchemaChangeMs + SchemaMs(op == Op::kRenameTable ? kRenameTableUsPerTable
                                                                  : kCreateDropUsPerTable);
    plan_.steps.push_back(std::move(s));
    return &plan_.steps.back();
  };
  auto dependant_reason = [&](std::string_view self, std::string_view sql, bool changed,
                              bool gone) -> std::string {
    if (gone) return "not in the desired schema";
    if (changed) return "definition changed";
    for (const std::string& id : ddl::Identifiers(sql))
      if (affected_.count(id) && id != Lower(self)) return "depends on " + id + ", which changes";
    return "recreated";
  };

  // 1-3: dependants first.
  for (const Trigger* t : drop_triggers_) {
    const Trigger* w = want_.FindTrigger(t->name);
    simple(Op::kDropTrigger, "trigger", t->name, t->table,
           fmt::format("DROP TRIGGER {};\n", Q(t->name)), Terminated(WithName(t->sql, schema_, t->name)),
           dependant_reason(t->name, t->sql, w && w->norm != t->norm, !w));
  }
  for (const View* v : drop_views_) {
    const View* w = want_.FindView(v->name);
    simple(Op::kDropView, "view", v->name, "", fmt::format("DROP VIEW {};\n", Q(v->name)),
           Terminated(WithName(v->sql, schema_, v->name)),
           dependant_reason(v->name, v->sql, w && w->norm != v->norm, !w));
  }
  for (const Index* ix : drop_indexes_) {
    bool gone = !want_.FindIndex(ix->name);
    Step* s = simple(Op::kDropIndex, "index", ix->name, ix->table,
                     fmt::format("DROP INDEX {};\n", Q(ix->name)),
                     Terminated(WithName(ix->sql, schema_, ix->name)),
                     gone ? "not in the desired schema" : "definition changed");
    // Without it, the columns may no longer be a parent key ("foreign key
    // mismatch" on the next write to a table that references them).
    s->check_referencing_tables = ix->unique;
    // DROP INDEX frees (and so reads) every page of the index.
    s->est_rows = Rows(ix->table);
    s->est_ms += static_cast<double>(s->est_rows) * kDropIndexUsPerRow / 1000.0;
  }
  // 4: hinted table renames (they repoint other tables' foreign keys).
  for (const auto& [from, to] : table_renames_) {
    simple(Op::kRenameTable, "table", to, to,
           fmt::format("ALTER TABLE {} RENAME TO {};\n", Q(from), QuoteIdent(to)),
           fmt::format("ALTER TABLE {} RENAME TO {};\n", Q(to), QuoteIdent(from)),
           fmt::format("renamed from {} (hint)", from));
  }
  // 5: dropped tables, and virtual tables whose definition changed.
  auto drop_table = [&](const Table& t, std::string reason) {
    int64_t rows = Rows(t.name);
    std::optional<std::string> rollback;
    if (rows == 0) {
      rollback = Terminated(WithName(t.sql, schema_, t.name));
      for (const Index& ix : live_.indexes)
        if (EqualsNoCase(ix.table, t.name)) *rollback += Terminated(WithName(ix.sql, schema_, ix.name));
    }
    Step* s = simple(Op::kDropTable, "table", t.name, t.name,
                     fmt::format("DROP TABLE {};\n", Q(t.name)), rollback, std::move(reason));
    s->destructive = true;
    s->check_referencing_tables = true;
    s->needs_foreign_keys_off = true;
    s->est_rows = rows;
    s->est_ms += static_cast<double>(rows) * kDeleteUsPerRow / 1000.0;
    s->complexity = rows > 0 ? Complexity::kModerate : Complexity::kSimple;
    s->data_loss.push_back(fmt::format("table {} ({} row{})", t.name, rows, rows == 1 ? "" : "s"));
    s->warning = rows > 0 ? fmt::format("drops table {} and its {} row{}", t.name, rows,
                                        rows == 1 ? "" : "s")
                          : fmt::format("drops table {} (empty)", t.name);
  };
  for (const Table* t : dropped_) drop_table(*t, "not in the desired schema");
  for (const TablePlan& tp : tables_)
    if (tp.recreate_virtual) drop_table(*tp.live, "virtual table definition changed");

  // 6: new tables, parents before children.
  std::vector<const Table*> creates;
  for (const Table* t : created_) creates.push_back(t);
  for (const TablePlan& tp : tables_)
    if (tp.recreate_virtual) creates.push_back(tp.want);
  std::vector<const Table*> ordered;
  std::set<const Table*> seen;
  std::function<void(const Table*)> visit = [&](const Table* t) {
    if (!seen.insert(t).second) return;
    for (const ForeignKey& fk : t->foreign_keys)
      for (const Table* o : creates)
        if (o != t && Lower(o->name) == fk.table) visit(o);
    ordered.push_back(t);
  };
  for (const Table* t : creates) visit(t);
  for (const Table* t : ordered) {
    Step* s = simple(Op::kCreateTable, "table", t->name, t->name,
                     Terminated(WithName(t->sql, schema_, t->name)),
                     fmt::format("DROP TABLE {};\n", Q(t->name)), "new table");
    s->needs_foreign_keys_off = false;
  }
  // 7: changes to existing tables.
  for (TablePlan& tp : tables_) {
    if (tp.recreate_virtual) continue;
    if (tp.rebuild) {
      if (RenamesBeforeRebuild(tp)) EmitColumnRenames(tp);
      EmitRebuild(tp);
    } else {
      EmitAlters(tp);
      if (tp.in_place) EmitInPlace(tp);
    }
  }
  // 8-10: indexes, views, triggers from the desired DDL.
  for (const Index* ix : create_indexes_) {
    bool existed = live_.FindIndex(ix->name) != nullptr;
    std::string reason = existed ? "definition changed" : "new index";
    if (!existed && ix->renamed_from && live_.FindIndex(*ix->renamed_from))
      reason = fmt::format("renamed from {} (hint)", *ix->renamed_from);
    Step* s = simple(Op::kCreateIndex, "index", ix->name, ix->table,
                     Terminated(WithName(ix->sql, schema_, ix->name)),
                     fmt::format("DROP INDEX {};\n", Q(ix->name)), reason);
    const Table* live_table = live_.FindTable(ix->table);
    for (const auto& [from, to] : table_renames_)
      if (EqualsNoCase(to, ix->table)) live_table = live_.FindTable(from);
    s->est_rows = live_table ? Rows(live_table->name) : 0;
    s->est_ms += static_cast<double>(s->est_rows) * kIndexScanUsPerRow / 1000.0;
    s->complexity = s->est_rows > 0 ? Complexity::kModerate : Complexity::kSimple;
    if (ix->unique && live_table) {
      for (const TablePlan& tp : tables_) {
        if (!EqualsNoCase(tp.want->name, ix->table) || Rows(tp.live->name) == 0) continue;
        std::vector<std::string> names;
        for (const IndexKey& k : ix->keys) names.push_back(k.column.empty() ? k.expr : k.column);
        CountDuplicates(tp, Projection(tp, false, true), Projection(tp, false), ix->keys, ix->where,
                        ix->table,
                        fmt::format("UNIQUE index {} ({})", ix->name, Join(names, ", ")),
                        &s->prechecks);
        AddPrecheckWarnings(*s);
      }
    }
  }
  for (const View* v : create_views_) {
    simple(Op::kCreateView, "view", v->name, "", Terminated(WithName(v->sql, schema_, v->name)),
           fmt::format("DROP VIEW {};\n", Q(v->name)),
           live_.FindView(v->name) ? "recreated from the desired schema" : "new view");
  }
  for (const Trigger* t : create_triggers_) {
    simple(Op::kCreateTrigger, "trigger", t->name, t->table,
           Terminated(WithName(t->sql, schema_, t->name)),
           fmt::format("DROP TRIGGER {};\n", Q(t->name)),
           live_.FindTrigger(t->name) ? "recreated from the desired schema" : "new trigger");
  }
}

Result<Plan> Planner::Run() {
  plan_.schema = schema_;
  Result<int64_t> fk = QueryInt(db_, "PRAGMA foreign_keys", 0);
  fk_on_ = fk.ok() && *fk != 0;
  plan_.foreign_keys_on = fk_on_;
  int defensive = 0;
  defensive_ = sqlite3_db_config(db_, SQLITE_DBCONFIG_DEFENSIVE, -1, &defensive) != SQLITE_OK ||
               defensive != 0;
  AM_RETURN_IF_ERROR(MatchTables());
  for (TablePlan& tp : tables_) DiffTable(tp);
  PlanDependants();
  PlanIndexes();
  EmitAll();
  WarnAboutParentKeys();
  SuggestRenames();
  // Estimates are a model, not a measurement: microsecond digits are noise.
  for (Step& s : plan_.steps) s.est_ms = std::round(s.est_ms * 1000.0) / 1000.0;
  return std::move(plan_);
}

}  // namespace

Result<Plan> PlanMigration(sqlite3* db, std::string_view desired_sql, const PlanOptions& options) {
  AM_ASSIGN_OR_RETURN(DbPtr desired_db, LoadDesiredSchema(desired_sql));
  AM_RETURN_IF_ERROR(CheckDesiredReferences(desired_db.get()));
  AM_ASSIGN_OR_RETURN(Schema want, ReadSchema(desired_db.get(), "main"));
  AM_ASSIGN_OR_RETURN(Schema live, ReadSchema(db, options.schema));
  Planner planner(db, live, want, options);
  return planner.Run();
}

}  // namespace automigrate
