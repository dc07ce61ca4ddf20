// tests/apply_fk_scope_test.cc -- which tables migrate_apply's
// foreign_key_check reads after a rebuild.
//
// What a user relies on: a rebuild copies every row, so the tables whose
// FOREIGN KEYs reference the rebuilt table can only be broken by it if what
// they reference changes (a referenced column's type or collation, the
// PRIMARY KEY or UNIQUE behind it). When nothing of that changes, apply
// does not read those tables (on a large child that is a full scan per
// rebuild of its parent) and does not fail on violations that were there
// before the migration; the rebuilt table itself is always checked. When a
// referenced key does change, or the UNIQUE index behind it is dropped, the
// referencing tables are checked, and a row the change orphaned (or a key
// that is no parent key any more) fails the migration and rolls it back.
//
// Which tables are checked is observed from a statement trace: apply runs
// one `pragma_foreign_key_check(?1, ?2)` per table that has FOREIGN KEYs,
// and SQLite runs it as `PRAGMA 'main'.foreign_key_check='<table>'`.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <set>
#include <string>
#include <string_view>

#include "support/test_util.h"

namespace automigrate::testing {
namespace {

// The tables every foreign_key_check the connection runs while the trace is
// installed is about.
class FkCheckTrace {
 public:
  explicit FkCheckTrace(sqlite3* db) : db_(db) {
    sqlite3_trace_v2(db_, SQLITE_TRACE_STMT, &FkCheckTrace::Callback, this);
  }
  ~FkCheckTrace() { sqlite3_trace_v2(db_, 0, nullptr, nullptr); }
  FkCheckTrace(const FkCheckTrace&) = delete;
  FkCheckTrace& operator=(const FkCheckTrace&) = delete;

  const std::set<std::string>& tables() const { return tables_; }

 private:
  static int Callback(unsigned type, void* ctx, void* p, void*) noexcept {
    auto* self = static_cast<FkCheckTrace*>(ctx);
    if (type != SQLITE_TRACE_STMT) return 0;
    // Bound values of a statement run inside another are not expanded, but
    // the table-valued function runs the pragma with the table in its text:
    // PRAGMA 'main'.foreign_key_check='notes'.
    const char* sql = sqlite3_sql(static_cast<sqlite3_stmt*>(p));
    if (!sql) return 0;
    constexpr std::string_view kPragma = ".foreign_key_check='";
    std::string_view text(sql);
    size_t open = text.find(kPragma);
    if (open == std::string_view::npos) return 0;
    open += kPragma.size();
    size_t close = text.find('\'', open);
    if (close != std::string_view::npos) self->tables_.emplace(text.substr(open, close - open));
    return 0;
  }

  sqlite3* db_;
  std::set<std::string> tables_;
};

constexpr std::string_view kParent =
    "CREATE TABLE items(id INTEGER PRIMARY KEY, sku TEXT COLLATE NOCASE UNIQUE, qty INTEGER);";
constexpr std::string_view kChildren =
    "CREATE TABLE notes(id INTEGER PRIMARY KEY, item_id INTEGER REFERENCES items(id));"
    "CREATE TABLE tags(id INTEGER PRIMARY KEY, sku TEXT REFERENCES items(sku));";

// items with two rows, notes and tags referencing them; `orphans` adds one
// row to each child whose parent does not exist (written with keys off).
void Prepare(TestDb& db, bool orphans) {
  ASSERT_TRUE(db.Exec(std::string(kParent) + std::string(kChildren)));
  ASSERT_TRUE(db.Exec(
      "INSERT INTO items VALUES (1, 'ABC', 5), (2, 'xyz', 7);"
      "INSERT INTO notes(item_id) VALUES (1), (2);"
      "INSERT INTO tags(sku) VALUES ('abc'), ('XYZ');"));
  if (orphans) {
    ASSERT_TRUE(db.Exec(
        "PRAGMA foreign_keys=OFF;"
        "INSERT INTO notes(item_id) VALUES (99);"
        "INSERT INTO tags(sku) VALUES ('nope');"));
  }
  ASSERT_TRUE(db.Exec("PRAGMA foreign_keys=ON"));
}

std::string Apply(TestDb& db, const std::string& desired, std::string* error) {
  Rows rows;
  if (!TryQueryRows(db.db(), "SELECT migrate_apply(?1, '{\"backup\": \"never\"}')", {desired},
                    &rows, error))
    return "";
  return rows.empty() || rows[0].empty() ? "" : rows[0][0];
}

std::string Op(TestDb& db, const std::string& desired) {
  return db.QueryString("SELECT group_concat(op, ',') FROM migrate_plan(?1)", {desired});
}

TEST(ApplyForeignKeyScope, RebuildThatKeepsTheReferencedKeysDoesNotReadTheReferencingTables) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  Prepare(db, /*orphans=*/true);
  // qty's type changes: a rebuild of items; id and sku are copied as they are.
  const std::string desired =
      "CREATE TABLE items(id INTEGER PRIMARY KEY, sku TEXT COLLATE NOCASE UNIQUE, qty TEXT);" +
      std::string(kChildren);
  ASSERT_EQ(Op(db, desired), "rebuild_table");
  std::string error;
  std::string out;
  {
    FkCheckTrace trace(db.db());
    out = Apply(db, desired, &error);
    // items has no FOREIGN KEY of its own: nothing to read at all.
    EXPECT_EQ(trace.tables(), std::set<std::string>());
  }
  EXPECT_NE(out.find("\"ok\":true"), std::string::npos) << out << error;
  EXPECT_EQ(db.QueryString("SELECT type FROM pragma_table_info('items') WHERE name = 'qty'"),
            "TEXT");
  // Every row kept, the orphans that predate the migration included.
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM items"), 2);
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM notes"), 3);
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM tags"), 3);
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM pragma_foreign_key_check"), 2);
}

TEST(ApplyForeignKeyScope, TheRebuiltTableIsStillChecked) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  Prepare(db, /*orphans=*/true);
  // notes itself is rebuilt (a CHECK is added): its orphan fails the batch.
  const std::string desired =
      std::string(kParent) +
      "CREATE TABLE notes(id INTEGER PRIMARY KEY, item_id INTEGER REFERENCES items(id), "
      "CHECK (id > 0));"
      "CREATE TABLE tags(id INTEGER PRIMARY KEY, sku TEXT REFERENCES items(sku));";
  ASSERT_EQ(Op(db, desired), "rebuild_table");
  std::string error;
  EXPECT_EQ(Apply(db, desired, &error), "");
  EXPECT_NE(error.find("foreign key check failed: 1 row violates a FOREIGN KEY (notes rowid 3"),
            std::string::npos)
      << error;
  EXPECT_EQ(db.QueryString("SELECT sql FROM sqlite_schema WHERE name = 'notes'").find("CHECK"),
            std::string::npos);
}

TEST(ApplyForeignKeyScope, ACollationChangeOfAReferencedKeyChecksTheReferencingTables) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  Prepare(db, /*orphans=*/false);
  // sku loses COLLATE NOCASE: tags' 'abc' and 'XYZ' no longer find 'ABC'
  // and 'xyz'.
  const std::string desired =
      "CREATE TABLE items(id INTEGER PRIMARY KEY, sku TEXT UNIQUE, qty INTEGER);" +
      std::string(kChildren);
  ASSERT_EQ(Op(db, desired), "rebuild_table");
  std::string error;
  {
    FkCheckTrace trace(db.db());
    EXPECT_EQ(Apply(db, desired, &error), "");
    EXPECT_EQ(trace.tables(), std::set<std::string>({"notes", "tags"}));
  }
  EXPECT_NE(error.find("foreign key check failed: 2 rows violate a FOREIGN KEY (tags rowid 1 -> "
                       "items, tags rowid 2 -> items)"),
            std::string::npos)
      << error;
  EXPECT_NE(db.QueryString("SELECT sql FROM sqlite_schema WHERE name = 'items'").find("NOCASE"),
            std::string::npos);
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM pragma_foreign_key_check"), 0);
}

TEST(ApplyForeignKeyScope, ATypeChangeOfAReferencedKeyChecksTheReferencingTables) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  Prepare(db, /*orphans=*/false);
  const std::string desired =
      "CREATE TABLE items(id INTEGER PRIMARY KEY, sku BLOB COLLATE NOCASE UNIQUE, qty INTEGER);" +
      std::string(kChildren);
  ASSERT_EQ(Op(db, desired), "rebuild_table");
  std::string error;
  FkCheckTrace trace(db.db());
  const std::string out = Apply(db, desired, &error);
  EXPECT_NE(out.find("\"ok\":true"), std::string::npos) << out << error;
  EXPECT_EQ(trace.tables(), std::set<std::string>({"notes", "tags"}));
}

TEST(ApplyForeignKeyScope, LosingTheUniqueBehindAReferencedKeyFailsTheBatch) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  Prepare(db, /*orphans=*/false);
  // Without UNIQUE, sku is no parent key: tags' FOREIGN KEY is unusable.
  const std::string desired =
      "CREATE TABLE items(id INTEGER PRIMARY KEY, sku TEXT COLLATE NOCASE, qty INTEGER);" +
      std::string(kChildren);
  ASSERT_EQ(Op(db, desired), "rebuild_table");
  std::string error;
  EXPECT_EQ(Apply(db, desired, &error), "");
  EXPECT_NE(error.find("foreign key mismatch"), std::string::npos) << error;
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND "
                        "tbl_name = 'items'"),
            1);
}

// Dropping the UNIQUE index that makes a column a parent key leaves the
// referencing table's FOREIGN KEY unusable: the batch fails and keeps it.
// Dropping a plain index reads nothing.
TEST(ApplyForeignKeyScope, DroppingTheUniqueIndexBehindAReferencedKeyFailsTheBatch) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  constexpr std::string_view kTables =
      "CREATE TABLE items(id INTEGER PRIMARY KEY, sku TEXT, qty INTEGER);"
      "CREATE TABLE tags(id INTEGER PRIMARY KEY, sku TEXT REFERENCES items(sku));";
  ASSERT_TRUE(db.Exec(std::string(kTables) +
                      "CREATE UNIQUE INDEX items_sku ON items(sku);"
                      "CREATE INDEX items_qty ON items(qty);"
                      "INSERT INTO items VALUES (1, 'a', 5); INSERT INTO tags(sku) VALUES ('a');"
                      "PRAGMA foreign_keys=ON"));
  const std::string without_plain =
      std::string(kTables) + "CREATE UNIQUE INDEX items_sku ON items(sku);";
  ASSERT_EQ(Op(db, without_plain), "drop_index");
  std::string error;
  {
    FkCheckTrace trace(db.db());
    const std::string out = Apply(db, without_plain, &error);
    EXPECT_NE(out.find("\"ok\":true"), std::string::npos) << out << error;
    EXPECT_EQ(trace.tables(), std::set<std::string>());
  }
  const std::string without_unique(kTables);
  ASSERT_EQ(Op(db, without_unique), "drop_index");
  // The check of tags fails while SQLite prepares its pragma (no parent
  // key), before the trace would see it: the message is the evidence.
  EXPECT_EQ(Apply(db, without_unique, &error), "");
  EXPECT_NE(error.find("foreign key mismatch"), std::string::npos) << error;
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM sqlite_schema WHERE name = 'items_sku'"), 1);
  EXPECT_TRUE(db.Exec("INSERT INTO tags(sku) VALUES ('a')"));
}

}  // namespace
}  // namespace automigrate::testing
