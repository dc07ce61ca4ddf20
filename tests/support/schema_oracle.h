// tests/support/schema_oracle.h -- an independent structural comparison of two
// databases' schemas, the test oracle for migrations.
//
// Implemented from the "Comparing schemas" section of
// shared/conformance/README.md with pragmas (table_list, table_xinfo,
// foreign_key_list, index_list, index_xinfo) and a small SQL tokenizer of its
// own for what no pragma exposes (CHECK and generated expressions, COLLATE,
// AUTOINCREMENT, partial-index WHERE, view and trigger text). It uses nothing
// from core/ on purpose: an oracle that shares code with the planner would
// share its bugs.
//
// Left out: names matching sqlite_% and _automigrate_%, and virtual-table
// shadow tables. Names compare case-insensitively; keyword case, whitespace,
// comments, identifier quoting and IF NOT EXISTS are not differences. Not
// compared: constraint names (CONSTRAINT x), which change no behaviour, and
// the content of sqlite_sequence (data, not schema). A virtual table is
// compared by its normalized CREATE VIRTUAL TABLE text only.
#pragma once

#include <sqlite3.h>

#include <string>
#include <string_view>
#include <vector>

namespace automigrate::testing {

struct OracleOptions {
  // Compare the order of each table's columns (by name). Off by default, as
  // in the extension (option column_order "ignore").
  bool compare_column_order = false;
  // How the two sides are called in difference lines.
  std::string a_label = "a";
  std::string b_label = "b";
};

// Human-readable differences between the schemas "main" of `a` and `b`, one
// per line, e.g. "table users: column age: type INTEGER vs TEXT" (a's value
// first). Empty when the schemas are equivalent. A failing pragma is reported
// as a difference line too, so a broken database never compares equal.
std::vector<std::string> SchemaDifferences(sqlite3* a, sqlite3* b,
                                           const OracleOptions& options = {});

namespace oracle {

enum class TokenKind { kWord, kQuotedId, kString, kBlob, kNumber, kPunct, kComment };

struct Token {
  TokenKind kind;
  std::string text;   // as written
  std::string value;  // kQuotedId: the identifier without quotes; kString: the
                      // string without quotes; otherwise == text
};

// Splits SQL into tokens; whitespace is dropped, comments only kept when asked.
std::vector<Token> Tokenize(std::string_view sql, bool keep_comments = false);

// One canonical spelling of an SQL fragment: comments dropped, one space
// between tokens, keywords and identifiers lower case with redundant quotes
// removed, string literals untouched, a leading "IF NOT EXISTS" after CREATE
// and trailing semicolons removed.
std::string NormalizeSql(std::string_view sql);

// Like NormalizeSql, and also drops parentheses that enclose the whole
// expression: "(a > 0)" and "a > 0" are the same CHECK.
std::string NormalizeExpr(std::string_view sql);

// A declared type in one spelling: upper case, no blanks around "(", ",", ")".
std::string NormalizeType(std::string_view type);

}  // namespace oracle
}  // namespace automigrate::testing
