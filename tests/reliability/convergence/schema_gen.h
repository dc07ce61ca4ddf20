// tests/reliability/convergence/schema_gen.h -- a seeded generator of schema
// pairs: a random schema (tables with columns of every affinity and odd
// declared types, NOT NULL/DEFAULT/COLLATE/UNIQUE/CHECK, rowid, composite,
// WITHOUT ROWID and STRICT tables, foreign keys with actions, generated
// columns, plain, expression and partial indexes, views, triggers) and a
// random mutation of it (add/drop/rename/retype columns, constraint changes,
// PK changes, add/drop/rename tables, indexes, views and triggers, column
// reordering), both rendered as DDL.
//
// Columns and tables carry stable ids, so the mutated schema knows which new
// column holds which old column's data (renames included), and expressions
// (CHECK, generated, index, WHERE, view, trigger) are templates over column
// ids that render with whatever name the column has on each side.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace automigrate::convergence {

class Rng {
 public:
  explicit Rng(uint64_t seed) : g_(seed) {}
  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(g_); }
  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(g_) < p; }
  template <typename T>
  const T& Pick(const std::vector<T>& v) { return v[static_cast<size_t>(Int(0, static_cast<int>(v.size()) - 1))]; }
  uint64_t Next() { return g_(); }

 private:
  std::mt19937_64 g_;
};

// An expression over columns of one table: `tmpl` with {0}, {1}, ... for the
// names of `cols` (column ids).
struct Expr {
  std::string tmpl;
  std::vector<int> cols;
};

struct ForeignKey {
  int parent = -1;  // table id; references the parent's `id` column (its INTEGER PRIMARY KEY)
  std::string on_delete, on_update;  // "" or the action words
  std::string deferral;              // "" or "DEFERRABLE INITIALLY DEFERRED"
  bool table_level = false;          // FOREIGN KEY (c) REFERENCES ... instead of column-level
};

struct Column {
  int id = 0;
  std::string name;
  std::string type;  // declared type, may be ""
  bool not_null = false;
  std::optional<std::string> dflt;  // DEFAULT text
  bool dflt_volatile = false;       // CURRENT_TIMESTAMP: values differ per run
  std::optional<std::string> collate;
  bool unique = false;
  std::optional<Expr> check;
  std::optional<Expr> gen;
  bool gen_stored = false;
  bool pk = false;  // column-level INTEGER PRIMARY KEY (the table's `id`)
  bool autoinc = false;
  std::optional<ForeignKey> fk;
  std::optional<std::string> renamed_from;  // rename hint written in the DDL
  bool rename_by_option = false;            // when renamed: the "rename" option, not a hint
};

struct Table {
  int id = 0;
  std::string name;
  std::vector<Column> cols;
  std::vector<int> pk;  // table-level PRIMARY KEY (column ids)
  std::vector<std::vector<int>> uniques;
  std::vector<Expr> checks;
  bool without_rowid = false;
  bool strict = false;
  std::optional<std::string> renamed_from;
  // When renamed: 0 /* @renamed */ after the name, 1 -- @renamed after "(",
  // 2 the "rename" option.
  int hint_style = 0;

  const Column* Find(int col_id) const;
  Column* Find(int col_id);
  const Column* RowidAlias() const;  // the INTEGER PRIMARY KEY column, or null
  bool HasParentKey() const;         // `id INTEGER PRIMARY KEY` (FK target)
};

struct IndexPart {
  Expr expr;
  std::optional<std::string> collate;
  bool desc = false;
};

struct Index {
  std::string name;
  int table = 0;
  bool unique = false;
  std::vector<IndexPart> parts;
  std::optional<Expr> where;
};

struct View {
  std::string name;
  int table = 0;
  std::vector<int> cols;
  std::optional<Expr> where;
};

struct Trigger {
  std::string name;
  int table = 0;
  std::string timing;  // BEFORE / AFTER
  std::string event;   // INSERT / UPDATE / DELETE
  std::optional<int> of_col;  // UPDATE OF col
  std::optional<Expr> when;   // over new./old. columns of the table
  int body_col = 0;           // a column of the table the body reads
};

struct Schema {
  std::vector<Table> tables;
  std::vector<Index> indexes;
  std::vector<View> views;
  std::vector<Trigger> triggers;

  const Table* FindTable(int id) const;
  Table* FindTable(int id);
};

// A generated pair: `old_schema` is created and filled, `new_schema` is the
// desired one. Ids match between them: a table or column with the same id is
// the same object (its data moves), whatever its name.
struct Pair {
  Schema old_schema;
  Schema new_schema;
  std::map<std::string, std::string> option_renames;  // the "rename" option
  std::vector<std::string> mutations;                 // what was changed, for --verbose
};

// The pair for `seed` (deterministic).
Pair GeneratePair(uint64_t seed);

// DDL for a schema; `rng` varies spelling only (quoting, keyword case,
// DEFAULT parentheses), never meaning. Rename hints are written when
// `with_hints` (the desired side).
std::string RenderSchema(const Schema& s, Rng& rng, bool with_hints);

// A column name as an SQL identifier, always double-quoted.
std::string Q(const std::string& name);

// `expr` rendered over `t`'s column names, each name prefixed by `prefix`
// ("new." in a trigger's WHEN).
std::string RenderExpr(const Expr& e, const Table& t, const std::string& prefix = "");

// Whether the affinity of `type` is TEXT/INTEGER/REAL/NUMERIC/BLOB.
std::string AffinityOf(const std::string& type);

}  // namespace automigrate::convergence
