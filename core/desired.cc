#include "core/desired.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/ddl.h"
#include "core/schema.h"

namespace automigrate {
namespace {

// Statement text for error messages: one line, at most ~80 characters.
std::string Excerpt(std::string_view sql) {
  std::string out;
  bool space = false;
  for (char c : sql) {
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
    if (out.size() >= 80) {
      out += "...";
      break;
    }
  }
  return out;
}

// Authorizer for the top-level statements of the desired DDL. It runs while a
// statement is compiled: creating schema objects (and the sqlite_schema
// writes that implies) is allowed, everything with an effect outside the
// private schema is not. Cleared before sqlite3_step, so the SQL a virtual
// table module runs for its own shadow tables is not second-guessed.
int DesiredAuthorizer(void* /*unused*/, int action, const char* a, const char* /*b*/,
                      const char* /*db*/, const char* /*trigger*/) noexcept {
  switch (action) {
    case SQLITE_CREATE_TABLE:
    case SQLITE_CREATE_INDEX:
    case SQLITE_CREATE_VIEW:
    case SQLITE_CREATE_TRIGGER:
    case SQLITE_CREATE_VTABLE:
    case SQLITE_READ:
    case SQLITE_SELECT:
    case SQLITE_FUNCTION:
    case SQLITE_RECURSIVE:
    case SQLITE_REINDEX:  // CREATE INDEX authorizes filling the new index
      return SQLITE_OK;
    case SQLITE_INSERT:
    case SQLITE_UPDATE:
    case SQLITE_DELETE:
      // Only the schema table itself, which CREATE writes.
      return a && (EqualsNoCase(a, "sqlite_master") || EqualsNoCase(a, "sqlite_schema"))
                 ? SQLITE_OK
                 : SQLITE_DENY;
    default:
      return SQLITE_DENY;
  }
}

// First keyword(s) of a statement, for "only CREATE ..." and the
// sqlite_sequence/sqlite_stat1 lines that `.schema` prints.
bool IsInternalCreate(const std::vector<ddl::Token>& toks) {
  if (toks.size() < 3 || !toks[0].Is("CREATE") || !toks[1].Is("TABLE")) return false;
  size_t i = 2;
  if (toks.size() > i + 2 && toks[i].Is("IF") && toks[i + 1].Is("NOT") && toks[i + 2].Is("EXISTS"))
    i += 3;
  return i < toks.size() && toks[i].IsName() && IsInternalName(toks[i].Value());
}

// A private connection for the desired schema, configured for untrusted DDL:
// nothing in it may fire (triggers off) or call functions that are not
// innocuous from schema objects (trusted_schema off).
Result<DbPtr> OpenPrivateDb() {
  AM_ASSIGN_OR_RETURN(DbPtr db, OpenDb(":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE));
  sqlite3_db_config(db.get(), SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, nullptr);
  sqlite3_db_config(db.get(), SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
  return db;
}

// Prepares one statement of the desired DDL under DesiredAuthorizer.
int PrepareDesired(sqlite3* db, const char* start, const char* end, StmtPtr& stmt,
                   const char** tail) {
  sqlite3_stmt* raw = nullptr;
  sqlite3_set_authorizer(db, DesiredAuthorizer, nullptr);
  // A length makes SQLite copy the whole rest of the text on every call
  // (quadratic over a long schema); the text is NUL-terminated at `end`.
  int rc = sqlite3_prepare_v2(db, start, *end == '\0' ? -1 : static_cast<int>(end - start), &raw,
                              tail);
  sqlite3_set_authorizer(db, nullptr, nullptr);
  stmt.reset(raw);
  return rc;
}

// ---------------------------------------------------------------------------
// The bulk load.
//
// Executing N CREATE statements one after the other into one connection is
// quadratic: each CREATE ends with SQLite re-reading its new schema rows with
// a scan of the whole sqlite_schema table. The bulk load executes every
// statement for real, but in a small scratch connection that is replaced
// every kScratchObjects objects (each scan stays short), collects the
// sqlite_schema rows SQLite wrote (its own normalized CREATE text,
// autoindexes, sqlite_sequence), then writes all rows into the result
// connection with writable_schema and lets SQLite parse the whole schema once.
//
// Each statement still meets SQLite's full checks in the scratch connection:
// before it runs, the objects it can collide with or depends on (an object
// of the same name; the table an index or trigger is ON) are recreated there
// from their collected text. Anything the bulk load is not sure of (virtual
// tables, a statement head it cannot read, any error) makes it give up, and
// LoadDesiredSchema runs the statements one by one instead, which also gives
// the exact error message.

constexpr int64_t kScratchObjects = 48;

enum class ObjectKind { kTable, kIndex, kView, kTrigger };

// What the head of a CREATE statement names: its kind, its (lower-cased)
// name and, for an index or trigger, the table or view it is ON.
struct CreateHead {
  ObjectKind kind = ObjectKind::kTable;
  std::string key;
  std::string on_key;
};

// A name, optionally qualified with "main.", at toks[*i]; advances *i.
// SQLite also takes a 'string' where a name is expected.
std::optional<std::string> NameAt(const std::vector<ddl::Token>& toks, size_t i) {
  if (i >= toks.size()) return std::nullopt;
  const ddl::Token& t = toks[i];
  if (t.IsName()) return t.Value();
  if (t.kind != ddl::TokenKind::kString || t.text.size() < 2) return std::nullopt;
  std::string name;
  for (size_t k = 1; k + 1 < t.text.size(); ++k) {
    name += t.text[k];
    if (t.text[k] == '\'' && t.text[k + 1] == '\'') ++k;
  }
  return name;
}

std::optional<std::string> MainName(const std::vector<ddl::Token>& toks, size_t* i) {
  std::optional<std::string> name = NameAt(toks, *i);
  if (!name) return std::nullopt;
  ++*i;
  if (*i < toks.size() && toks[*i].IsPunct(".")) {
    std::optional<std::string> second = NameAt(toks, *i + 1);
    if (!EqualsNoCase(*name, "main") || !second) return std::nullopt;
    name = std::move(second);
    *i += 2;
  }
  return ddl::Lower(*name);
}

std::optional<CreateHead> ParseCreateHead(const std::vector<ddl::Token>& toks) {
  size_t i = 0;
  auto at = [&](std::string_view word) { return i < toks.size() && toks[i].Is(word); };
  if (!at("CREATE")) return std::nullopt;
  ++i;
  CreateHead head;
  const bool unique = at("UNIQUE");
  if (unique) ++i;
  if (at("TABLE") && !unique) {
    head.kind = ObjectKind::kTable;
  } else if (at("INDEX")) {
    head.kind = ObjectKind::kIndex;
  } else if (at("VIEW") && !unique) {
    head.kind = ObjectKind::kView;
  } else if (at("TRIGGER") && !unique) {
    head.kind = ObjectKind::kTrigger;
  } else {
    return std::nullopt;  // TEMP, VIRTUAL, or not a CREATE this loader knows
  }
  ++i;
  if (at("IF")) {
    if (i + 2 >= toks.size() || !toks[i + 1].Is("NOT") || !toks[i + 2].Is("EXISTS"))
      return std::nullopt;
    i += 3;
  }
  std::optional<std::string> name = MainName(toks, &i);
  if (!name) return std::nullopt;
  head.key = std::move(*name);
  switch (head.kind) {
    case ObjectKind::kTable:
      // "(" columns; "AS SELECT" is refused by the one-by-one load.
      if (i >= toks.size() || !toks[i].IsPunct("(")) return std::nullopt;
      break;
    case ObjectKind::kView:
      break;
    case ObjectKind::kIndex:
    case ObjectKind::kTrigger: {
      // An index: ON right after the name. A trigger: the first ON after its
      // event (no parentheses and no other ON can come before it).
      while (i < toks.size() && !toks[i].Is("ON")) {
        if (head.kind == ObjectKind::kIndex || toks[i].IsPunct("(")) return std::nullopt;
        ++i;
      }
      ++i;
      std::optional<std::string> on = MainName(toks, &i);
      if (!on) return std::nullopt;
      head.on_key = std::move(*on);
      break;
    }
  }
  return head;
}

// An object the bulk load has met, to recreate in a later scratch connection.
struct Collected {
  std::string create_sql;  // SQLite's stored text; known once its scratch is flushed
  std::string on_key;      // index, trigger: the table or view it is ON
};

class BulkLoader {
 public:
  // nullopt: not loaded this way (the caller loads one by one).
  std::optional<DbPtr> Load(std::string_view ddl_text);

 private:
  bool Run(const std::string& text);
  bool Execute(const char* start, const char* end, const char** tail);
  bool Ensure(const std::string& key, bool trigger, int depth = 0);
  bool Flush();
  bool NewScratch();
  std::optional<DbPtr> Finish();

  DbPtr scratch_;
  int64_t scratch_objects_ = 0;
  // Keys present in scratch_: created there by the DDL, or recreated there
  // (`recreated_`, whose rows are not collected again).
  std::set<std::string> present_, present_triggers_;
  std::set<std::string> recreated_, recreated_triggers_;
  std::map<std::string, Collected> objects_;   // tables, views, indexes
  std::map<std::string, Collected> triggers_;  // triggers have their own names
  std::vector<SchemaRow> rows_;                // in the order SQLite wrote them
  bool have_sequence_ = false;
};

// Moves the rows the DDL wrote in the scratch connection to rows_.
bool BulkLoader::Flush() {
  if (!scratch_) return true;
  // WITHOUT ROWID tables, from one PRAGMA table_list (per row it would cost
  // a full listing each).
  std::set<std::string> without_rowid;
  {
    Stmt wr;
    if (!wr.Prepare(scratch_.get(),
                    "SELECT name FROM pragma_table_list WHERE schema = 'main' AND wr")
             .ok())
      return false;
    while (wr.Step()) without_rowid.insert(wr.Text(0));
    if (!wr.status().ok()) return false;
  }
  Stmt q;
  if (!q.Prepare(scratch_.get(),
                 "SELECT type, name, tbl_name, rootpage, sql FROM sqlite_schema ORDER BY rowid")
           .ok())
    return false;
  while (q.Step()) {
    SchemaRow row{q.Text(0), q.Text(1), q.Text(2), q.Int(3) != 0, q.OptText(4)};
    row.without_rowid = row.type == "table" && without_rowid.count(row.name) > 0;
    const std::string key = ddl::Lower(row.name);
    const bool trigger = row.type == "trigger";
    // A recreated object, or the autoindex of a recreated table.
    if ((trigger ? recreated_triggers_ : recreated_).count(key) ||
        (!row.sql && recreated_.count(ddl::Lower(row.tbl_name))))
      continue;
    if (key == "sqlite_sequence") {
      if (have_sequence_) continue;
      have_sequence_ = true;
    } else if (row.sql) {
      auto& known = trigger ? triggers_ : objects_;
      if (auto it = known.find(key); it != known.end()) it->second.create_sql = *row.sql;
    }
    rows_.push_back(std::move(row));
  }
  return q.status().ok();
}

bool BulkLoader::NewScratch() {
  if (!Flush()) return false;
  scratch_.reset();
  Result<DbPtr> db = OpenPrivateDb();
  if (!db.ok()) return false;
  scratch_ = std::move(*db);
  scratch_objects_ = 0;
  present_.clear();
  present_triggers_.clear();
  recreated_.clear();
  recreated_triggers_.clear();
  return true;
}

// Recreates an object met earlier (and what it is ON) in the scratch
// connection, so that SQLite sees it when the next statement runs.
bool BulkLoader::Ensure(const std::string& key, bool trigger, int depth) {
  if ((trigger ? present_triggers_ : present_).count(key)) return true;
  const auto& known = trigger ? triggers_ : objects_;
  auto it = known.find(key);
  if (it == known.end()) return true;  // not created yet: SQLite decides
  if (depth > 2 || it->second.create_sql.empty()) return false;
  if (!it->second.on_key.empty() && !Ensure(it->second.on_key, false, depth + 1)) return false;
  if (!Exec(scratch_.get(), it->second.create_sql).ok()) return false;
  (trigger ? present_triggers_ : present_).insert(key);
  (trigger ? recreated_triggers_ : recreated_).insert(key);
  ++scratch_objects_;
  return true;
}

bool BulkLoader::Execute(const char* start, const char* end, const char** tail) {
  std::string_view rest(start, static_cast<size_t>(end - start));
  // The head is near the start: tokenize a short window first.
  std::vector<ddl::Token> head_toks = ddl::Tokenize(rest.substr(0, 1024));
  std::optional<CreateHead> head = ParseCreateHead(head_toks);
  if (!head && rest.size() > 1024) {
    head_toks = ddl::Tokenize(rest.substr(0, 4096));
    head = ParseCreateHead(head_toks);
  }
  if (head_toks.empty()) {
    if (rest.size() > 4096) return false;  // a long comment: let SQLite find what follows
    *tail = end;                           // only whitespace and comments left
    return true;
  }
  if (IsInternalCreate(head_toks)) {  // skipped, as the one-by-one load does
    auto semi = std::find_if(head_toks.begin(), head_toks.end(),
                             [](const ddl::Token& t) { return t.IsPunct(";"); });
    if (semi == head_toks.end() && rest.size() > 1024) return false;
    *tail = semi == head_toks.end() ? end : start + semi->offset + 1;
    return true;
  }
  if (!head) return false;
  const bool is_trigger = head->kind == ObjectKind::kTrigger;
  if (scratch_objects_ >= kScratchObjects && !NewScratch()) return false;
  if (!Ensure(head->key, is_trigger)) return false;
  if (!head->on_key.empty() && !Ensure(head->on_key, false)) return false;

  StmtPtr stmt;
  if (PrepareDesired(scratch_.get(), start, end, stmt, tail) != SQLITE_OK || !stmt) return false;
  int rc = sqlite3_step(stmt.get());
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return false;
  // Created now, or it existed (IF NOT EXISTS) and is already known.
  auto& known = is_trigger ? triggers_ : objects_;
  if (!known.count(head->key)) known[head->key] = Collected{"", head->on_key};
  (is_trigger ? present_triggers_ : present_).insert(head->key);
  ++scratch_objects_;
  return true;
}

bool BulkLoader::Run(const std::string& text) {
  const char* tail = text.c_str();
  const char* end = text.c_str() + text.size();
  if (!NewScratch()) return false;
  while (tail < end) {
    const char* start = tail;
    if (!Execute(start, end, &tail)) return false;
  }
  if (!Flush()) return false;
  scratch_.reset();
  return true;
}

std::optional<DbPtr> BulkLoader::Finish() { return SchemaDbFromRows(rows_); }

}  // namespace

std::optional<DbPtr> SchemaDbFromRows(const std::vector<SchemaRow>& rows) {
  Result<DbPtr> opened = OpenPrivateDb();
  if (!opened.ok()) return std::nullopt;
  DbPtr db = std::move(*opened);
  // Root pages. SQLite wants each in the file, and an index's distinct from
  // the other indexes of its table. The desired schema holds no rows, so
  // every rowid table can share one real empty table b-tree, every WITHOUT
  // ROWID table one empty index b-tree, and the k-th index of each table the
  // k-th of a few empty index b-trees: whatever reads them (a rename
  // updating sqlite_sequence, say) finds valid empty b-trees.
  std::map<std::string, int64_t> indexes_per_table;
  int64_t most_indexes = 0;
  for (const SchemaRow& r : rows)
    if (r.type == "index")
      most_indexes = std::max(most_indexes, ++indexes_per_table[ddl::Lower(r.tbl_name)]);
  std::string pages_sql = "CREATE TABLE r(x); CREATE TABLE w(x PRIMARY KEY) WITHOUT ROWID;";
  for (int64_t k = 0; k < most_indexes; ++k)
    pages_sql += fmt::format("CREATE INDEX i{0} ON r(x);", k);
  if (!Exec(db.get(), pages_sql).ok()) return std::nullopt;
  std::map<std::string, int64_t> page;
  {
    Stmt q;
    if (!q.Prepare(db.get(), "SELECT name, rootpage FROM sqlite_schema").ok()) return std::nullopt;
    while (q.Step()) page[q.Text(0)] = q.Int(1);
    if (!q.status().ok()) return std::nullopt;
  }
  if (!Exec(db.get(), "PRAGMA writable_schema=ON; BEGIN; DELETE FROM sqlite_schema").ok())
    return std::nullopt;
  Stmt ins;
  if (!ins.Prepare(db.get(), "INSERT INTO sqlite_schema VALUES (?1, ?2, ?3, ?4, ?5)").ok())
    return std::nullopt;
  indexes_per_table.clear();
  for (const SchemaRow& r : rows) {
    int64_t root = 0;
    if (r.has_root && r.type == "index") {
      root = page[fmt::format("i{}", indexes_per_table[ddl::Lower(r.tbl_name)]++)];
    } else if (r.has_root) {
      root = r.without_rowid ? page["w"] : page["r"];
    }
    ins.Reset();
    ins.Bind(1, r.type);
    ins.Bind(2, r.name);
    ins.Bind(3, r.tbl_name);
    ins.Bind(4, root);
    ins.BindOpt(5, r.sql);
    if (!ins.Run().ok()) return std::nullopt;
  }
  Result<int64_t> cookie = QueryInt(db.get(), "PRAGMA schema_version", -1);
  if (!cookie.ok() || *cookie < 0) return std::nullopt;
  // A new schema cookie: the next statement parses the schema from the rows.
  if (!Exec(db.get(), fmt::format("COMMIT; PRAGMA schema_version={}; PRAGMA writable_schema=OFF",
                                  *cookie + 1))
           .ok())
    return std::nullopt;
  Result<int64_t> count = QueryInt(db.get(), "SELECT count(*) FROM sqlite_schema", -1);
  if (!count.ok() || *count != static_cast<int64_t>(rows.size())) return std::nullopt;
  return db;
}

namespace {

std::optional<DbPtr> BulkLoader::Load(std::string_view ddl_text) {
  if (!Run(std::string(ddl_text))) return std::nullopt;
  return Finish();
}

}  // namespace

Result<DbPtr> LoadDesiredSchema(std::string_view ddl_text) {
  if (std::optional<DbPtr> bulk = LoadDesiredSchemaInBulk(ddl_text)) return std::move(*bulk);
  return LoadDesiredSchemaOneByOne(ddl_text);
}

std::optional<DbPtr> LoadDesiredSchemaInBulk(std::string_view ddl_text) {
  return BulkLoader().Load(ddl_text);
}

Result<DbPtr> LoadDesiredSchemaOneByOne(std::string_view ddl_text) {
  AM_ASSIGN_OR_RETURN(DbPtr db, OpenPrivateDb());

  std::string text(ddl_text);
  const char* tail = text.c_str();
  const char* end = text.c_str() + text.size();
  int n = 0;
  while (tail < end) {
    const char* start = tail;
    // `.schema` output of a database with AUTOINCREMENT or ANALYZE data
    // contains CREATE TABLE sqlite_sequence/sqlite_stat1: SQLite refuses those
    // names, and they are internal anyway, so skip such statements.
    std::string_view rest(start, static_cast<size_t>(end - start));
    std::vector<ddl::Token> head = ddl::Tokenize(rest.substr(0, 4096));
    if (IsInternalCreate(head)) {
      auto semi = std::find_if(head.begin(), head.end(),
                               [](const ddl::Token& t) { return t.IsPunct(";"); });
      tail = semi == head.end() ? end : start + semi->offset + 1;
      continue;
    }
    StmtPtr stmt;
    int rc = PrepareDesired(db.get(), start, end, stmt, &tail);
    std::string_view stmt_text(start, static_cast<size_t>(tail - start));
    if (rc != SQLITE_OK) {
      // SQLite stops at the error: name the whole statement (up to its ";").
      auto semi = std::find_if(head.begin(), head.end(),
                               [](const ddl::Token& t) { return t.IsPunct(";"); });
      stmt_text = semi == head.end() ? rest.substr(0, 4096) : rest.substr(0, semi->offset + 1);
      ++n;
      std::string msg = sqlite3_errmsg(db.get());
      if (rc == SQLITE_AUTH || msg == "not authorized")
        msg = "only CREATE TABLE, CREATE INDEX, CREATE VIEW, CREATE TRIGGER and CREATE VIRTUAL "
              "TABLE are allowed";
      return Status(SQLITE_ERROR, fmt::format("desired schema: statement {} ({}): {}", n,
                                              Excerpt(stmt_text), msg));
    }
    if (!stmt) break;  // only whitespace/comments left
    ++n;
    std::vector<ddl::Token> toks = ddl::Tokenize(stmt_text);
    // CREATE TABLE ... AS SELECT runs a query and takes its column types from
    // expression affinity: not a schema definition.
    std::optional<ddl::CreateTableDef> ctas;
    if (toks.size() > 1 && toks[0].Is("CREATE") && toks[1].Is("TABLE"))
      ctas = ddl::ParseCreateTable(stmt_text);
    if (toks.empty() || !toks[0].Is("CREATE") || (ctas && ctas->as_select)) {
      return Status(SQLITE_ERROR,
                    fmt::format("desired schema: statement {} ({}): only CREATE TABLE, CREATE "
                                "INDEX, CREATE VIEW, CREATE TRIGGER and CREATE VIRTUAL TABLE are "
                                "allowed",
                                n, Excerpt(stmt_text)));
    }
    rc = sqlite3_step(stmt.get());
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
      return Status(SQLITE_ERROR, fmt::format("desired schema: statement {} ({}): {}", n,
                                              Excerpt(stmt_text), sqlite3_errmsg(db.get())));
    }
  }
  return db;
}

}  // namespace automigrate
