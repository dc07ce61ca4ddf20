#include "core/desired.h"

#include <fmt/format.h>

#include <algorithm>

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

}  // namespace

Result<DbPtr> LoadDesiredSchema(std::string_view ddl_text) {
  AM_ASSIGN_OR_RETURN(DbPtr db, OpenDb(":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE));
  // Untrusted DDL: nothing in it may fire (triggers off) or call functions
  // that are not innocuous from schema objects (trusted_schema off).
  sqlite3_db_config(db.get(), SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, nullptr);
  sqlite3_db_config(db.get(), SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);

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
    sqlite3_stmt* raw = nullptr;
    sqlite3_set_authorizer(db.get(), DesiredAuthorizer, nullptr);
    int rc = sqlite3_prepare_v2(db.get(), start, static_cast<int>(end - start), &raw, &tail);
    sqlite3_set_authorizer(db.get(), nullptr, nullptr);
    StmtPtr stmt(raw);
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
