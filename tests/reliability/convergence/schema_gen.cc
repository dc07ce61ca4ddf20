// tests/reliability/convergence/schema_gen.cc -- see schema_gen.h.
#include "schema_gen.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>

namespace automigrate::convergence {

// ---------------------------------------------------------------------------
// Model helpers

const Column* Table::Find(int col_id) const {
  for (const Column& c : cols)
    if (c.id == col_id) return &c;
  return nullptr;
}
Column* Table::Find(int col_id) {
  for (Column& c : cols)
    if (c.id == col_id) return &c;
  return nullptr;
}
const Column* Table::RowidAlias() const {
  if (without_rowid) return nullptr;
  for (const Column& c : cols)
    if (c.pk) return &c;
  return nullptr;
}
bool Table::HasParentKey() const {
  const Column* a = RowidAlias();
  return a && a->name == "id";
}
const Table* Schema::FindTable(int id) const {
  for (const Table& t : tables)
    if (t.id == id) return &t;
  return nullptr;
}
Table* Schema::FindTable(int id) {
  for (Table& t : tables)
    if (t.id == id) return &t;
  return nullptr;
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string AffinityOf(const std::string& type) {
  std::string t = Upper(type);
  if (t.find("INT") != std::string::npos) return "INTEGER";
  if (t.find("CHAR") != std::string::npos || t.find("CLOB") != std::string::npos ||
      t.find("TEXT") != std::string::npos)
    return "TEXT";
  if (t.empty() || t.find("BLOB") != std::string::npos) return "BLOB";
  if (t.find("REAL") != std::string::npos || t.find("FLOA") != std::string::npos ||
      t.find("DOUB") != std::string::npos)
    return "REAL";
  return "NUMERIC";
}

std::string Q(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

namespace {

const std::vector<std::string> kTypes = {
    "INTEGER", "INT",     "TEXT",    "REAL",         "NUMERIC",          "BLOB",
    "",        "VARCHAR(20)", "DECIMAL(10,2)", "BOOLEAN", "DATETIME", "DOUBLE PRECISION",
    "UNSIGNED BIG INT", "NVARCHAR(100)", "CLOB", "FLOAT", "CHARACTER(5)", "DATE"};
const std::vector<std::string> kStrictTypes = {"INTEGER", "INT", "TEXT", "REAL", "BLOB", "ANY"};
// Names that need quoting (keywords, blanks, case, non-ASCII) mixed into the plain ones.
const std::vector<std::string> kOddColumnNames = {"order", "select", "my col", "Mixed",
                                                  "ünï", "group", "a\"q", "key"};
const std::vector<std::string> kOddTableNames = {"order", "my table", "Users", "ta\"b", "values"};
const std::set<std::string> kKeywords = {"order", "select", "group", "key", "values", "table",
                                         "index", "where", "from"};

bool IsBare(const std::string& n) {
  if (n.empty() || kKeywords.count(n)) return false;
  if (!(std::islower(static_cast<unsigned char>(n[0])) || n[0] == '_')) return false;
  for (char c : n)
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) ||
          c == '_'))
      return false;
  return true;
}

// A name spelled one of the ways SQLite accepts.
std::string Name(Rng& rng, const std::string& n) {
  int k = rng.Int(0, 99);
  if (IsBare(n) && k < 55) return n;
  if (IsBare(n) && k < 62) return Upper(n);  // identifiers are case-insensitive
  if (n.find(']') == std::string::npos && k >= 85 && k < 93) return "[" + n + "]";
  if (n.find('`') == std::string::npos && k >= 93) return "`" + n + "`";
  return Q(n);
}

std::string Kw(Rng& rng, const std::string& kw) {
  if (rng.Chance(0.15)) {
    std::string s = kw;
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }
  return kw;
}

class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}
  Pair Run();

 private:
  Table NewTable(const Schema& s, bool allow_stored);
  Column NewColumn(Table& t, bool allow_gen, bool allow_stored);
  std::string FreshColumnName(const Table& t);
  std::string FreshTableName(const Schema& s);
  std::string FreshObjectName(const char* prefix) { return prefix + std::to_string(next_name_++); }
  std::string PickType(bool strict) { return rng_.Pick(strict ? kStrictTypes : kTypes); }
  std::optional<std::string> PickDefault(const std::string& type, bool strict, bool* is_volatile);
  Expr CheckExpr(const Column& c);
  std::vector<int> DataCols(const Table& t, bool with_generated = false) const;
  void AddDependants(Schema& s, const Table& t);
  void AddIndex(Schema& s, const Table& t);
  void AddView(Schema& s, const Table& t);
  void AddTrigger(Schema& s, const Table& t);
  bool Referenced(const Schema& a, const Schema& b, int table_id) const;
  void Mutate(Pair& p);
  void FixUp(Schema& s);

  Rng rng_;
  int next_id_ = 1;
  int next_name_ = 1;
  // Every name a table (by id) or the schema has used on either side, upper
  // case: a new column or table never takes a name the other side had for
  // something else, which the planner would rightly match by name.
  std::map<int, std::set<std::string>> used_col_names_;
  std::set<std::string> used_table_names_;
};

std::vector<int> Generator::DataCols(const Table& t, bool with_generated) const {
  std::vector<int> out;
  for (const Column& c : t.cols)
    if (!c.pk && (with_generated || !c.gen)) out.push_back(c.id);
  return out;
}

std::string Generator::FreshColumnName(const Table& t) {
  for (;;) {
    std::string n = rng_.Chance(0.12) ? rng_.Pick(kOddColumnNames)
                                      : "c" + std::to_string(next_name_++);
    if (rng_.Chance(0.05)) n = "C" + std::to_string(next_name_++);  // mixed case
    if (Upper(n) == "ID" || !used_col_names_[t.id].insert(Upper(n)).second) continue;
    return n;
  }
}

std::string Generator::FreshTableName(const Schema& s) {
  for (;;) {
    std::string n = rng_.Chance(0.1) ? rng_.Pick(kOddTableNames) : "t" + std::to_string(next_name_++);
    (void)s;
    if (!used_table_names_.insert(Upper(n)).second) continue;
    return n;
  }
}

std::optional<std::string> Generator::PickDefault(const std::string& type, bool strict,
                                                  bool* is_volatile) {
  *is_volatile = false;
  std::string aff = AffinityOf(type);
  if (strict && Upper(type) == "ANY") aff = "BLOB";
  if (!strict && rng_.Chance(0.05)) {
    *is_volatile = true;
    return std::string("CURRENT_TIMESTAMP");
  }
  std::vector<std::string> pool;
  if (aff == "INTEGER") pool = {"0", "42", "-1", "(1 + 1)", "NULL"};
  else if (aff == "TEXT") pool = {"'x'", "''", "'it''s'", "NULL", "'Abc'"};
  else if (aff == "REAL") pool = {"0.5", "-2.5", "1e3", "0"};
  else if (aff == "NUMERIC") pool = {"0", "7", "1.5", "NULL"};
  else pool = strict && Upper(type) == "BLOB" ? std::vector<std::string>{"x'00'", "NULL"}
                                               : std::vector<std::string>{"x'00'", "NULL", "1", "'b'"};
  return rng_.Pick(pool);
}

Expr Generator::CheckExpr(const Column& c) {
  std::string aff = AffinityOf(c.type);
  std::vector<std::string> pool = {"{0} IS NOT 'zzz'", "typeof({0}) <> 'blob' OR {0} IS NULL"};
  if (aff == "INTEGER" || aff == "REAL" || aff == "NUMERIC")
    pool.insert(pool.end(), {"{0} >= -10", "{0} IS NULL OR {0} < 1000"});
  if (aff == "TEXT") pool.insert(pool.end(), {"length({0}) < 40", "{0} <> 'forbidden'"});
  return {rng_.Pick(pool), {c.id}};
}

Column Generator::NewColumn(Table& t, bool allow_gen, bool allow_stored) {
  Column c;
  c.id = next_id_++;
  c.name = FreshColumnName(t);
  std::vector<int> sources = DataCols(t);
  if (allow_gen && !sources.empty() && rng_.Chance(0.12)) {
    int src = rng_.Pick(sources);
    static const std::vector<std::pair<std::string, std::string>> kGen = {
        {"lower({0})", "TEXT"}, {"coalesce({0}, 0) * 2", "INTEGER"}, {"length({0})", "INT"},
        {"typeof({0})", "TEXT"}, {"{0} IS NULL", ""}};
    const auto& [tmpl, type] = rng_.Pick(kGen);
    c.gen = Expr{tmpl, {src}};
    c.type = t.strict ? "ANY" : type;
    c.gen_stored = allow_stored && rng_.Chance(0.4);
    return c;
  }
  c.type = PickType(t.strict);
  if (rng_.Chance(0.2)) {
    c.not_null = true;
  }
  if (rng_.Chance(0.35) || c.not_null) {
    bool vol = false;
    c.dflt = PickDefault(c.type, t.strict, &vol);
    c.dflt_volatile = vol;
    if (c.not_null && c.dflt == "NULL") c.dflt = std::nullopt;
  }
  std::string aff = AffinityOf(c.type);
  if (rng_.Chance(0.15)) c.collate = rng_.Pick(std::vector<std::string>{"NOCASE", "RTRIM", "BINARY"});
  if (rng_.Chance(0.1)) c.unique = true;
  if (rng_.Chance(0.15)) c.check = CheckExpr(c);
  return c;
}

void Generator::AddIndex(Schema& s, const Table& t) {
  std::vector<int> cols = DataCols(t, /*with_generated=*/true);
  if (cols.empty()) return;
  Index ix;
  ix.name = FreshObjectName("ix");
  ix.table = t.id;
  ix.unique = rng_.Chance(0.2);
  int n = rng_.Int(1, std::min<int>(2, static_cast<int>(cols.size())));
  std::set<int> used;
  for (int i = 0; i < n; ++i) {
    int col = rng_.Pick(cols);
    if (!used.insert(col).second) continue;
    IndexPart part;
    int k = rng_.Int(0, 9);
    part.expr = {k < 6 ? "{0}" : k < 8 ? "lower({0})" : k < 9 ? "length({0})" : "({0} IS NULL)", {col}};
    if (k < 6 && rng_.Chance(0.2)) part.collate = "NOCASE";
    part.desc = rng_.Chance(0.25);
    ix.parts.push_back(part);
  }
  if (rng_.Chance(0.25)) {
    int col = rng_.Pick(cols);
    ix.where = Expr{rng_.Pick(std::vector<std::string>{"{0} IS NOT NULL", "{0} > 0", "{0} <> ''"}), {col}};
  }
  s.indexes.push_back(ix);
}

void Generator::AddView(Schema& s, const Table& t) {
  std::vector<int> cols = DataCols(t, true);
  View v;
  v.name = FreshObjectName("v");
  v.table = t.id;
  for (int c : cols)
    if (rng_.Chance(0.5)) v.cols.push_back(c);
  if (const Column* a = t.RowidAlias(); a && rng_.Chance(0.5)) v.cols.insert(v.cols.begin(), a->id);
  if (!cols.empty() && rng_.Chance(0.5))
    v.where = Expr{rng_.Pick(std::vector<std::string>{"{0} IS NOT NULL", "{0} <> 'x'"}), {rng_.Pick(cols)}};
  s.views.push_back(v);
}

void Generator::AddTrigger(Schema& s, const Table& t) {
  std::vector<int> cols = DataCols(t);
  if (cols.empty()) return;
  Trigger tr;
  tr.name = FreshObjectName("tr");
  tr.table = t.id;
  tr.timing = rng_.Chance(0.5) ? "BEFORE" : "AFTER";
  tr.event = rng_.Pick(std::vector<std::string>{"INSERT", "UPDATE", "DELETE"});
  if (tr.event == "UPDATE" && rng_.Chance(0.5)) tr.of_col = rng_.Pick(cols);
  if (rng_.Chance(0.4)) tr.when = Expr{"{0} IS NOT NULL", {rng_.Pick(cols)}};
  tr.body_col = rng_.Pick(cols);
  s.triggers.push_back(tr);
}

void Generator::AddDependants(Schema& s, const Table& t) {
  int n = rng_.Int(0, 2);
  for (int i = 0; i < n; ++i) AddIndex(s, t);
  if (rng_.Chance(0.3)) AddView(s, t);
  if (rng_.Chance(0.25)) AddTrigger(s, t);
}

Table Generator::NewTable(const Schema& s, bool allow_stored) {
  Table t;
  t.id = next_id_++;
  t.name = FreshTableName(s);
  t.strict = rng_.Chance(0.2);
  int kind = rng_.Int(0, 99);
  if (kind < 40) {  // id INTEGER PRIMARY KEY: may be a foreign-key parent
    Column id;
    id.id = next_id_++;
    id.name = "id";
    used_col_names_[t.id].insert("ID");
    id.type = "INTEGER";
    id.pk = true;
    id.autoinc = rng_.Chance(0.15);
    t.cols.push_back(id);
  }
  int ncols = rng_.Int(1, 5);
  for (int i = 0; i < ncols; ++i) t.cols.push_back(NewColumn(t, /*allow_gen=*/i > 0, allow_stored));
  std::vector<int> data = DataCols(t);
  if (kind >= 60 && !data.empty()) {  // table-level PRIMARY KEY; WITHOUT ROWID for some
    int n = rng_.Int(1, std::min<int>(2, static_cast<int>(data.size())));
    for (int i = 0; i < n; ++i) t.pk.push_back(data[static_cast<size_t>(i)]);
    t.without_rowid = kind >= 80;
  }
  // Foreign key to an earlier table with an `id` key.
  std::vector<int> parents;
  for (const Table& p : s.tables)
    if (p.HasParentKey()) parents.push_back(p.id);
  if (!parents.empty() && rng_.Chance(0.45)) {
    Column c;
    c.id = next_id_++;
    c.name = "p" + std::to_string(next_name_++);
    c.type = "INTEGER";
    ForeignKey fk;
    fk.parent = rng_.Pick(parents);
    fk.on_delete = rng_.Pick(std::vector<std::string>{"", "", "CASCADE", "SET NULL", "RESTRICT", "NO ACTION"});
    fk.on_update = rng_.Pick(std::vector<std::string>{"", "", "CASCADE"});
    if (rng_.Chance(0.2)) fk.deferral = "DEFERRABLE INITIALLY DEFERRED";
    fk.table_level = rng_.Chance(0.4);
    c.fk = fk;
    t.cols.push_back(c);
  }
  if (data.size() >= 2 && rng_.Chance(0.15)) t.uniques.push_back({data[0], data[1]});
  if (data.size() >= 2 && rng_.Chance(0.15))
    t.checks.push_back(Expr{"{0} IS NOT {1} OR {0} IS NULL OR {0} <> 'same'", {data[0], data[1]}});
  return t;
}

bool Generator::Referenced(const Schema& a, const Schema& b, int table_id) const {
  for (const Schema* s : {&a, &b})
    for (const Table& t : s->tables)
      for (const Column& c : t.cols)
        if (c.fk && c.fk->parent == table_id) return true;
  return false;
}

// Drops everything that no longer refers to existing tables/columns, and keeps
// the rules SQLite imposes (STRICT types, WITHOUT ROWID needs a PK, ...).
void Generator::FixUp(Schema& s) {
  auto expr_ok = [](const Expr& e, const Table& t) {
    for (int c : e.cols)
      if (!t.Find(c)) return false;
    return true;
  };
  for (Table& t : s.tables) {
    for (Column& c : t.cols) {
      if (c.fk && !(s.FindTable(c.fk->parent) && s.FindTable(c.fk->parent)->HasParentKey()))
        c.fk.reset();
      if (t.strict) {
        bool ok = std::find(kStrictTypes.begin(), kStrictTypes.end(), Upper(c.type)) != kStrictTypes.end();
        if (!ok) c.type = c.pk ? "INTEGER" : rng_.Pick(kStrictTypes);
        // A VIRTUAL column's value is never checked against its STRICT type
        // on insert, only by integrity_check: ANY keeps every value valid.
        if (c.gen) c.type = "ANY";
        if (c.dflt && !c.dflt_volatile) {
          // A default of the wrong class would fail the insert that uses it.
          bool vol = false;
          std::optional<std::string> d = PickDefault(c.type, true, &vol);
          c.dflt = c.not_null && d == "NULL" ? std::nullopt : d;
        }
        if (c.dflt_volatile) {
          c.dflt = std::nullopt;
          c.dflt_volatile = false;
        }
      }
    }
    // Generated columns whose source is gone go too (repeat: chains).
    for (bool changed = true; changed;) {
      changed = false;
      for (size_t i = 0; i < t.cols.size(); ++i) {
        Column& c = t.cols[i];
        if ((c.gen && !expr_ok(*c.gen, t)) || (c.check && !expr_ok(*c.check, t))) {
          if (c.gen) {
            t.cols.erase(t.cols.begin() + static_cast<long>(i));
          } else {
            c.check.reset();
          }
          changed = true;
          break;
        }
      }
    }
    std::erase_if(t.checks, [&](const Expr& e) { return !expr_ok(e, t); });
    std::erase_if(t.uniques, [&](const std::vector<int>& u) {
      for (int c : u)
        if (!t.Find(c)) return true;
      return false;
    });
    std::erase_if(t.pk, [&](int c) { return !t.Find(c); });
    if (t.cols.empty()) {  // every column went: a table needs one
      Column c;
      c.id = next_id_++;
      c.name = FreshColumnName(t);
      c.type = t.strict ? "TEXT" : "";
      t.cols.push_back(c);
    }
    if (t.pk.empty()) t.without_rowid = false;
    if (t.without_rowid)
      for (Column& c : t.cols) c.autoinc = false;
  }
  std::erase_if(s.indexes, [&](const Index& ix) {
    const Table* t = s.FindTable(ix.table);
    if (!t) return true;
    for (const IndexPart& p : ix.parts)
      if (!expr_ok(p.expr, *t)) return true;
    return ix.where && !expr_ok(*ix.where, *t);
  });
  std::erase_if(s.views, [&](const View& v) {
    const Table* t = s.FindTable(v.table);
    if (!t) return true;
    for (int c : v.cols)
      if (!t->Find(c)) return true;
    return v.where && !expr_ok(*v.where, *t);
  });
  std::erase_if(s.triggers, [&](const Trigger& tr) {
    const Table* t = s.FindTable(tr.table);
    if (!t || !t->Find(tr.body_col)) return true;
    if (tr.of_col && !t->Find(*tr.of_col)) return true;
    return tr.when && !expr_ok(*tr.when, *t);
  });
}

void Generator::Mutate(Pair& p) {
  Schema& s = p.new_schema;
  int n = rng_.Int(1, 4);
  for (int m = 0; m < n; ++m) {
    int kind = rng_.Int(0, 21);
    if (s.tables.empty()) kind = 0;
    Table* t = s.tables.empty() ? nullptr : &s.tables[static_cast<size_t>(rng_.Int(0, static_cast<int>(s.tables.size()) - 1))];
    std::vector<int> data = t ? DataCols(*t) : std::vector<int>{};
    auto pick_data = [&]() -> Column* {
      if (data.empty()) return nullptr;
      return t->Find(rng_.Pick(data));
    };
    auto note = [&](const std::string& what) { p.mutations.push_back(what); };
    switch (kind) {
      case 0: {  // add table
        Table nt = NewTable(s, /*allow_stored=*/true);
        note("add table " + nt.name);
        s.tables.push_back(nt);
        AddDependants(s, s.tables.back());
        break;
      }
      case 1: {  // drop table
        if (Referenced(p.old_schema, s, t->id) && rng_.Chance(0.5)) break;
        note("drop table " + t->name);
        int id = t->id;
        std::erase_if(s.tables, [&](const Table& x) { return x.id == id; });
        break;
      }
      case 2: {  // rename table
        std::string old_name = t->name;
        t->name = FreshTableName(s);
        t->hint_style = rng_.Int(0, 2);
        note("rename table " + old_name + " -> " + t->name);
        break;
      }
      case 3: case 4: {  // add column
        bool stored_ok = false;  // STORED only in CREATE TABLE (SQLite cannot add one)
        Column c = NewColumn(*t, true, stored_ok);
        if (rng_.Chance(0.15) && !t->strict) {
          std::vector<int> parents;
          for (const Table& x : s.tables)
            if (x.HasParentKey() && x.id != t->id) parents.push_back(x.id);
          if (!parents.empty()) {
            c.gen.reset();
            c.type = "INTEGER";
            c.fk = ForeignKey{rng_.Pick(parents), rng_.Chance(0.5) ? "SET NULL" : "", "", "", false};
          }
        }
        note("add column " + t->name + "." + c.name);
        t->cols.push_back(c);
        break;
      }
      case 5: case 6: {  // drop column
        std::vector<int> droppable;
        for (int id : DataCols(*t, true)) {
          if (std::find(t->pk.begin(), t->pk.end(), id) != t->pk.end()) continue;
          droppable.push_back(id);
        }
        if (droppable.size() < 2) break;  // keep a column besides the key
        int id = rng_.Pick(droppable);
        note("drop column " + t->name + "." + t->Find(id)->name);
        std::erase_if(t->cols, [&](const Column& c) { return c.id == id; });
        break;
      }
      case 7: case 8: {  // rename column
        std::vector<int> all;
        for (const Column& c : t->cols)
          if (!c.pk) all.push_back(c.id);
        if (all.empty()) break;
        Column* c = t->Find(rng_.Pick(all));
        std::string old_name = c->name;
        c->name = FreshColumnName(*t);
        c->rename_by_option = rng_.Chance(0.3);
        note("rename column " + t->name + "." + old_name + " -> " + c->name);
        break;
      }
      case 9: case 10: {  // retype column
        Column* c = pick_data();
        if (!c) break;
        std::string old = c->type;
        c->type = PickType(t->strict);
        if (c->dflt && !c->dflt_volatile) {
          bool vol = false;
          c->dflt = PickDefault(c->type, t->strict, &vol);
          if (c->not_null && c->dflt == "NULL") c->dflt = std::nullopt;
        }
        note("retype " + t->name + "." + c->name + " " + old + " -> " + c->type);
        break;
      }
      case 11: {  // NOT NULL / DEFAULT
        Column* c = pick_data();
        if (!c) break;
        if (rng_.Chance(0.5)) {
          c->not_null = !c->not_null;
          if (c->not_null && rng_.Chance(0.6)) {
            bool vol = false;
            c->dflt = PickDefault(c->type, t->strict, &vol);
            c->dflt_volatile = vol;
            if (c->dflt == "NULL") c->dflt = std::nullopt;
          }
          note(std::string(c->not_null ? "set" : "drop") + " NOT NULL " + t->name + "." + c->name);
        } else {
          bool vol = false;
          c->dflt = rng_.Chance(0.2) ? std::nullopt : PickDefault(c->type, t->strict, &vol);
          c->dflt_volatile = vol;
          if (c->not_null && c->dflt == "NULL") c->dflt = std::nullopt;
          note("change DEFAULT " + t->name + "." + c->name);
        }
        break;
      }
      case 12: {  // COLLATE / UNIQUE / CHECK
        Column* c = pick_data();
        if (!c) break;
        int k = rng_.Int(0, 2);
        if (k == 0) c->collate = c->collate ? std::nullopt : std::optional<std::string>("NOCASE");
        if (k == 1) c->unique = !c->unique;
        if (k == 2) c->check = c->check ? std::nullopt : std::optional<Expr>(CheckExpr(*c));
        note(std::string(k == 0 ? "collate" : k == 1 ? "unique" : "check") + " change " + t->name + "." + c->name);
        break;
      }
      case 13: {  // table-level UNIQUE / CHECK
        if (data.size() < 2) break;
        if (rng_.Chance(0.5)) {
          if (t->uniques.empty()) t->uniques.push_back({data[0], data[1]});
          else t->uniques.clear();
        } else {
          if (t->checks.empty())
            t->checks.push_back(Expr{"{0} IS NOT {1} OR {0} IS NULL OR {0} <> 'same'", {data[0], data[1]}});
          else t->checks.clear();
        }
        note("table constraint change " + t->name);
        break;
      }
      case 14: {  // foreign key: add, drop, change action
        Column* c = nullptr;
        for (Column& x : t->cols)
          if (x.fk) c = &x;
        if (c && rng_.Chance(0.5)) {
          if (rng_.Chance(0.5)) c->fk.reset();
          else c->fk->on_delete = c->fk->on_delete == "CASCADE" ? "" : "CASCADE";
          note("fk change " + t->name + "." + c->name);
        } else if (Column* d = pick_data(); d && !t->strict) {
          std::vector<int> parents;
          for (const Table& x : s.tables)
            if (x.HasParentKey() && x.id != t->id) parents.push_back(x.id);
          if (parents.empty()) break;
          d->fk = ForeignKey{rng_.Pick(parents), "", "", "", rng_.Chance(0.5)};
          note("add fk " + t->name + "." + d->name);
        }
        break;
      }
      case 15: {  // primary key / WITHOUT ROWID / STRICT
        if (Referenced(p.old_schema, s, t->id)) break;
        int k = rng_.Int(0, 3);
        if (k == 0 && !data.empty()) {
          t->pk = {rng_.Pick(data)};
          for (Column& c : t->cols) c.pk = c.autoinc = false;
          note("change pk " + t->name);
        } else if (k == 1) {
          t->pk.clear();
          t->without_rowid = false;
          note("drop table-level pk " + t->name);
        } else if (k == 2 && !t->pk.empty()) {
          t->without_rowid = !t->without_rowid;
          for (Column& c : t->cols) c.autoinc = false;
          note("toggle WITHOUT ROWID " + t->name);
        } else {
          t->strict = !t->strict;
          note("toggle STRICT " + t->name);
        }
        break;
      }
      case 16: {  // reorder columns
        std::vector<Column> cols = t->cols;
        for (size_t i = cols.size(); i > 1; --i)
          std::swap(cols[i - 1], cols[static_cast<size_t>(rng_.Int(0, static_cast<int>(i) - 1))]);
        t->cols = cols;
        note("reorder columns " + t->name);
        break;
      }
      case 17: {  // indexes
        std::vector<size_t> mine;
        for (size_t i = 0; i < s.indexes.size(); ++i)
          if (s.indexes[i].table == t->id) mine.push_back(i);
        if (!mine.empty() && rng_.Chance(0.5)) {
          size_t i = rng_.Pick(mine);
          if (rng_.Chance(0.5)) {
            note("drop index " + s.indexes[i].name);
            s.indexes.erase(s.indexes.begin() + static_cast<long>(i));
          } else {
            s.indexes[i].unique = !s.indexes[i].unique;
            note("toggle unique index " + s.indexes[i].name);
          }
        } else {
          AddIndex(s, *t);
          note("add index on " + t->name);
        }
        break;
      }
      case 18: {  // views
        std::vector<size_t> mine;
        for (size_t i = 0; i < s.views.size(); ++i)
          if (s.views[i].table == t->id) mine.push_back(i);
        if (!mine.empty() && rng_.Chance(0.6)) {
          size_t i = rng_.Pick(mine);
          if (rng_.Chance(0.5)) {
            note("drop view " + s.views[i].name);
            s.views.erase(s.views.begin() + static_cast<long>(i));
          } else {
            s.views[i].where.reset();
            note("change view " + s.views[i].name);
          }
        } else {
          AddView(s, *t);
          note("add view on " + t->name);
        }
        break;
      }
      case 19: {  // triggers
        std::vector<size_t> mine;
        for (size_t i = 0; i < s.triggers.size(); ++i)
          if (s.triggers[i].table == t->id) mine.push_back(i);
        if (!mine.empty() && rng_.Chance(0.6)) {
          size_t i = rng_.Pick(mine);
          if (rng_.Chance(0.5)) {
            note("drop trigger " + s.triggers[i].name);
            s.triggers.erase(s.triggers.begin() + static_cast<long>(i));
          } else {
            s.triggers[i].timing = s.triggers[i].timing == "BEFORE" ? "AFTER" : "BEFORE";
            note("change trigger " + s.triggers[i].name);
          }
        } else {
          AddTrigger(s, *t);
          note("add trigger on " + t->name);
        }
        break;
      }
      case 20: {  // what an in-place edit of the stored definition can take
        Column* c = pick_data();
        if (!c) break;
        int k = rng_.Int(0, 5);
        if (k == 0 && c->not_null) {
          c->not_null = false;
          note("in place: drop NOT NULL " + t->name + "." + c->name);
        } else if (k == 1 && c->check) {
          c->check.reset();
          note("in place: drop CHECK " + t->name + "." + c->name);
        } else if (k == 2 && !t->checks.empty()) {
          t->checks.clear();
          note("in place: drop table CHECK " + t->name);
        } else if (k == 3 && c->fk) {
          c->fk.reset();
          note("in place: drop FOREIGN KEY " + t->name + "." + c->name);
        } else if (k == 4 && !t->strict) {
          // Another spelling with the same affinity (datatype3.html 3.1).
          static const std::map<std::string, std::vector<std::string>> kSame = {
              {"INTEGER", {"INT", "INTEGER", "BIGINT", "SMALLINT", "UNSIGNED BIG INT"}},
              {"TEXT", {"TEXT", "VARCHAR(10)", "CLOB", "NCHAR(55)"}},
              {"REAL", {"REAL", "DOUBLE", "FLOAT"}},
              {"NUMERIC", {"NUMERIC", "DECIMAL(10,5)", "BOOLEAN", "DATE"}},
              {"BLOB", {"BLOB", ""}}};
          std::string old = c->type;
          c->type = rng_.Pick(kSame.at(AffinityOf(c->type)));
          note("in place: retype " + t->name + "." + c->name + " " + old + " -> " + c->type);
        } else {
          bool vol = false;
          c->dflt = rng_.Chance(0.2) ? std::nullopt : PickDefault(c->type, t->strict, &vol);
          c->dflt_volatile = vol;
          if (c->not_null && c->dflt == "NULL") c->dflt = std::nullopt;
          note("in place: change DEFAULT " + t->name + "." + c->name);
        }
        break;
      }
      default:
        note("respell only");  // the rendering differs anyway (quoting, case)
        break;
    }
  }
}

Pair Generator::Run() {
  Pair p;
  int ntables = rng_.Int(1, 4);
  for (int i = 0; i < ntables; ++i) {
    Table t = NewTable(p.old_schema, /*allow_stored=*/true);
    p.old_schema.tables.push_back(t);
  }
  for (const Table& t : std::vector<Table>(p.old_schema.tables)) AddDependants(p.old_schema, t);
  FixUp(p.old_schema);
  p.new_schema = p.old_schema;
  Mutate(p);
  FixUp(p.new_schema);
  // Renames, from the names each id has on both sides: a hint in the DDL
  // or the "rename" option (which names the table by its desired name).
  for (Table& t : p.new_schema.tables) {
    const Table* o = p.old_schema.FindTable(t.id);
    if (!o) continue;
    if (o->name != t.name) {
      if (t.hint_style == 2) p.option_renames[o->name] = t.name;
      else t.renamed_from = o->name;
    }
    for (Column& c : t.cols) {
      const Column* oc = o->Find(c.id);
      if (!oc || oc->name == c.name) continue;
      if (c.rename_by_option) p.option_renames[t.name + "." + oc->name] = c.name;
      else c.renamed_from = oc->name;
    }
  }
  return p;
}

}  // namespace

Pair GeneratePair(uint64_t seed) { return Generator(seed).Run(); }

std::string RenderExpr(const Expr& e, const Table& t, const std::string& prefix) {
  std::string out;
  for (size_t i = 0; i < e.tmpl.size(); ++i) {
    if (e.tmpl[i] == '{' && i + 2 < e.tmpl.size() && e.tmpl[i + 2] == '}') {
      size_t k = static_cast<size_t>(e.tmpl[i + 1] - '0');
      const Column* c = t.Find(e.cols.at(k));
      out += prefix + Q(c ? c->name : "?missing");
      i += 2;
    } else {
      out += e.tmpl[i];
    }
  }
  return out;
}

std::string RenderSchema(const Schema& s, Rng& rng, bool with_hints) {
  std::ostringstream out;
  auto table_name = [&](int id) { return s.FindTable(id)->name; };
  auto actions = [&](const ForeignKey& fk) {
    std::string a;
    if (!fk.on_delete.empty()) a += " ON DELETE " + fk.on_delete;
    if (!fk.on_update.empty()) a += " ON UPDATE " + fk.on_update;
    if (!fk.deferral.empty()) a += " " + fk.deferral;
    return a;
  };
  // Parents first: a child's REFERENCES may name a later table in SQLite,
  // but writing them in order keeps the DDL readable.
  for (const Table& t : s.tables) {
    out << Kw(rng, "CREATE TABLE") << " " << Name(rng, t.name);
    if (with_hints && t.renamed_from && t.hint_style == 0)
      out << " /* @renamed from=" << Q(*t.renamed_from) << " */";
    out << " (";
    if (with_hints && t.renamed_from && t.hint_style == 1) out << " -- @renamed from=" << Q(*t.renamed_from);
    out << "\n";
    std::vector<std::string> items;
    std::vector<std::string> hints;
    for (const Column& c : t.cols) {
      std::string d = "  " + Name(rng, c.name);
      if (!c.type.empty()) d += " " + c.type;
      if (c.pk) d += " PRIMARY KEY" + std::string(c.autoinc ? " AUTOINCREMENT" : "");
      if (c.not_null) d += " " + Kw(rng, "NOT NULL");
      if (c.dflt) {
        bool paren = c.dflt->front() != '(' && !c.dflt_volatile && rng.Chance(0.3);
        d += " DEFAULT " + (paren ? "(" + *c.dflt + ")" : *c.dflt);
      }
      if (c.collate) d += " COLLATE " + *c.collate;
      if (c.unique) d += " UNIQUE";
      if (c.check) d += " CHECK (" + RenderExpr(*c.check, t) + ")";
      if (c.fk && !c.fk->table_level)
        d += " REFERENCES " + Name(rng, table_name(c.fk->parent)) + "(id)" + actions(*c.fk);
      if (c.gen)
        d += " " + std::string(rng.Chance(0.5) ? "GENERATED ALWAYS " : "") + "AS (" +
             RenderExpr(*c.gen, t) + ")" + (c.gen_stored ? " STORED" : rng.Chance(0.5) ? " VIRTUAL" : "");
      items.push_back(d);
      hints.push_back(with_hints && c.renamed_from ? " -- @renamed from=" + Q(*c.renamed_from) : "");
    }
    auto names = [&](const std::vector<int>& ids) {
      std::string o;
      for (int id : ids) o += (o.empty() ? "" : ", ") + Name(rng, t.Find(id)->name);
      return o;
    };
    if (!t.pk.empty()) items.push_back("  PRIMARY KEY (" + names(t.pk) + ")");
    for (const auto& u : t.uniques) items.push_back("  UNIQUE (" + names(u) + ")");
    for (const Expr& e : t.checks) items.push_back("  CHECK (" + RenderExpr(e, t) + ")");
    for (const Column& c : t.cols)
      if (c.fk && c.fk->table_level)
        items.push_back("  FOREIGN KEY (" + Name(rng, c.name) + ") REFERENCES " +
                        Name(rng, table_name(c.fk->parent)) + "(id)" + actions(*c.fk));
    hints.resize(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
      out << items[i] << (i + 1 < items.size() ? "," : "") << hints[i] << "\n";
    }
    out << ")";
    std::vector<std::string> opts;
    if (t.without_rowid) opts.push_back(Kw(rng, "WITHOUT ROWID"));
    if (t.strict) opts.push_back(Kw(rng, "STRICT"));
    for (size_t i = 0; i < opts.size(); ++i) out << (i ? ", " : " ") << opts[i];
    out << ";\n";
  }
  for (const Index& ix : s.indexes) {
    const Table& t = *s.FindTable(ix.table);
    out << "CREATE " << (ix.unique ? "UNIQUE " : "") << "INDEX " << Name(rng, ix.name) << " ON "
        << Name(rng, t.name) << " (";
    for (size_t i = 0; i < ix.parts.size(); ++i) {
      const IndexPart& p = ix.parts[i];
      out << (i ? ", " : "") << RenderExpr(p.expr, t);
      if (p.collate) out << " COLLATE " << *p.collate;
      if (p.desc) out << " DESC";
    }
    out << ")";
    if (ix.where) out << " WHERE " << RenderExpr(*ix.where, t);
    out << ";\n";
  }
  for (const View& v : s.views) {
    const Table& t = *s.FindTable(v.table);
    out << "CREATE VIEW " << Name(rng, v.name) << " AS SELECT ";
    if (v.cols.empty()) out << "count(*) AS n";
    for (size_t i = 0; i < v.cols.size(); ++i) out << (i ? ", " : "") << Q(t.Find(v.cols[i])->name);
    out << " FROM " << Name(rng, t.name);
    if (v.where) out << " WHERE " << RenderExpr(*v.where, t);
    out << ";\n";
  }
  for (const Trigger& tr : s.triggers) {
    const Table& t = *s.FindTable(tr.table);
    std::string row = tr.event == "DELETE" ? "old." : "new.";
    out << "CREATE TRIGGER " << Name(rng, tr.name) << " " << tr.timing << " " << tr.event;
    if (tr.of_col) out << " OF " << Q(t.Find(*tr.of_col)->name);
    out << " ON " << Name(rng, t.name);
    if (tr.when) out << " WHEN " << RenderExpr(*tr.when, t, row);
    out << " BEGIN SELECT " << row << Q(t.Find(tr.body_col)->name) << " FROM " << Q(t.name)
        << " WHERE 0; END;\n";
  }
  return out.str();
}

}  // namespace automigrate::convergence
