// The bulk load of the desired schema (core/desired.cc) against the
// statement-by-statement one: for every schema the bulk load accepts, the
// private database it builds must be indistinguishable to the planner
// (sqlite_schema rows in order, and every pragma the introspection reads).
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "core/desired.h"
#include "core/sqlite_handle.h"
#include "fmt/format.h"

namespace automigrate::testing {
namespace {

// Everything core/schema.cc reads from a schema, as text.
std::string Fingerprint(sqlite3* db) {
  std::string out;
  Stmt rows;
  EXPECT_TRUE(rows.Prepare(db, "SELECT type, name, tbl_name, rootpage <> 0, sql FROM sqlite_schema "
                               "ORDER BY rowid")
                  .ok());
  std::vector<std::string> tables;
  while (rows.Step()) {
    out += fmt::format("{}|{}|{}|{}|{}\n", rows.Text(0), rows.Text(1), rows.Text(2), rows.Int(3),
                       rows.IsNull(4) ? "NULL" : rows.Text(4));
    if (rows.Text(0) == "table") tables.push_back(rows.Text(1));
  }
  const char* const pragmas[] = {
      "SELECT * FROM pragma_table_list WHERE schema = 'main' AND name = ?1",
      "SELECT * FROM pragma_table_xinfo(?1)",
      "SELECT * FROM pragma_index_list(?1)",
      "SELECT il.name, ix.* FROM pragma_index_list(?1) il, pragma_index_xinfo(il.name) ix",
      "SELECT * FROM pragma_foreign_key_list(?1)",
  };
  for (const std::string& t : tables) {
    for (const char* sql : pragmas) {
      Stmt q;
      EXPECT_TRUE(q.Prepare(db, sql).ok()) << sql;
      q.Bind(1, t);
      while (q.Step()) {
        out += t + ":";
        for (int i = 0; i < q.ColumnCount(); ++i) out += "|" + q.Text(i);
        out += "\n";
      }
      EXPECT_TRUE(q.status().ok()) << q.status().message();
    }
  }
  return out;
}

// Asserts that the bulk load gives up or agrees; returns whether it agreed.
bool AgreesOrGivesUp(const std::string& ddl, const std::string& label) {
  Result<DbPtr> one = LoadDesiredSchemaOneByOne(ddl);
  std::optional<DbPtr> bulk = LoadDesiredSchemaInBulk(ddl);
  if (!bulk) return false;
  EXPECT_TRUE(one.ok()) << label << ": the bulk load accepted what SQLite refuses: "
                        << one.status().message();
  if (!one.ok()) return true;
  EXPECT_EQ(Fingerprint(bulk->get()), Fingerprint(one->get())) << label;
  return true;
}

TEST(DesiredBulk, AgreesOnEveryConformanceSchema) {
  YAML::Node root = YAML::LoadFile(AUTOMIGRATE_SHARED_DIR "/conformance/sqldef-sqlite3.yml");
  int agreed = 0, gave_up = 0;
  for (const YAML::Node& c : root) {
    for (const char* side : {"current", "desired"}) {
      if (!c[side]) continue;
      const std::string ddl = c[side].as<std::string>();
      if (AgreesOrGivesUp(ddl, c["name"].as<std::string>() + "." + side)) {
        ++agreed;
      } else {
        ++gave_up;
        // It gives up only on virtual tables or on DDL SQLite refuses.
        EXPECT_TRUE(ddl.find("VIRTUAL") != std::string::npos ||
                    ddl.find("virtual") != std::string::npos ||
                    !LoadDesiredSchemaOneByOne(ddl).ok())
            << c["name"].as<std::string>() << "." << side << " fell back:\n" << ddl;
      }
    }
  }
  EXPECT_GT(agreed, 100);
  EXPECT_LT(gave_up, 10);  // virtual tables and the cases SQLite refuses
}

// A schema large enough for several scratch connections, where later
// statements depend on objects created many statements earlier.
std::string LargeSchema(int n) {
  std::string ddl;
  for (int i = 0; i < n; ++i) {
    ddl += fmt::format(
        "CREATE TABLE \"t {0}\"(id INTEGER PRIMARY KEY AUTOINCREMENT, a TEXT UNIQUE COLLATE NOCASE,"
        " b REAL NOT NULL DEFAULT 0, p INT REFERENCES \"t {1}\"(id) ON DELETE CASCADE,"
        " g INT GENERATED ALWAYS AS (b * 2) VIRTUAL, CHECK (b >= 0));\n",
        i, i / 2);
  }
  for (int i = 0; i < n; ++i) {
    ddl += fmt::format("CREATE INDEX IF NOT EXISTS main.i{0} ON \"t {0}\"(b, lower(a)) WHERE b > 0;\n",
                       i);
    ddl += fmt::format("CREATE VIEW v{0} AS SELECT id, a FROM \"t {0}\";\n", i);
  }
  for (int i = 0; i < n; ++i) {
    ddl += fmt::format(
        "CREATE TRIGGER tr{0} AFTER UPDATE OF a ON main.\"t {0}\" BEGIN UPDATE \"t {0}\" SET b = b + 1 "
        "WHERE id = new.id; END;\n"
        "CREATE TRIGGER v{0}_ins INSTEAD OF INSERT ON v{0} BEGIN INSERT INTO \"t {0}\"(a) VALUES "
        "(new.a); END;\n",
        i);
  }
  // Repeats that must be no-ops, far from the originals.
  ddl += "CREATE TABLE IF NOT EXISTS \"T 0\"(x);\nCREATE INDEX IF NOT EXISTS I1 ON \"t 1\"(a);\n";
  ddl += "CREATE TABLE sqlite_sequence(name,seq);\n";  // as `.schema` prints it: skipped
  return ddl;
}

TEST(DesiredBulk, AgreesOnALargeSchemaAcrossScratchConnections) {
  const std::string ddl = LargeSchema(120);
  ASSERT_TRUE(AgreesOrGivesUp(ddl, "large")) << "the bulk load gave up";
  std::optional<DbPtr> bulk = LoadDesiredSchemaInBulk(ddl);
  ASSERT_TRUE(bulk.has_value());
  Result<int64_t> sequences =
      QueryInt(bulk->get(), "SELECT count(*) FROM sqlite_schema WHERE name = 'sqlite_sequence'");
  EXPECT_EQ(*sequences, 1);
  Result<std::string> check = QueryText(bulk->get(), "PRAGMA main.quick_check('t 5')");
  ASSERT_TRUE(check.ok()) << check.status().message();
}

// Collisions with objects created long before (in an earlier scratch
// connection) are still refused, with SQLite's own message.
TEST(DesiredBulk, CollisionsFarApartAreRefusedWithSQLitesMessage) {
  const std::string base = LargeSchema(60);
  const std::pair<std::string, std::string> cases[] = {
      {"CREATE TABLE \"T 3\"(x);", "table \"T 3\" already exists"},
      {"CREATE TABLE i2(x);", "there is already an index named i2"},
      {"CREATE INDEX v4 ON \"t 4\"(a);", "there is already a table named v4"},
      {"CREATE TRIGGER tr7 AFTER INSERT ON \"t 8\" BEGIN SELECT 1; END;", "trigger tr7 already exists"},
      {"CREATE TRIGGER x BEFORE INSERT ON v9 BEGIN SELECT 1; END;",
       "cannot create BEFORE trigger on view: v9"},
      {"CREATE INDEX j ON \"t 2\"(nope);", "no such column: nope"},
      {"CREATE INDEX j ON missing(a);", "no such table: main.missing"},
  };
  for (const auto& [extra, message] : cases) {
    const std::string ddl = base + extra;
    EXPECT_FALSE(LoadDesiredSchemaInBulk(ddl).has_value()) << extra;
    Result<DbPtr> loaded = LoadDesiredSchema(ddl);
    ASSERT_FALSE(loaded.ok()) << extra;
    EXPECT_NE(loaded.status().message().find(message), std::string::npos)
        << extra << " -> " << loaded.status().message();
  }
}

TEST(DesiredBulk, GivesUpOnWhatItDoesNotReadAndTheResultIsTheSame) {
  const std::string cases[] = {
      "CREATE VIRTUAL TABLE f USING fts5(body); CREATE TABLE t(a);",
      std::string("/*") + std::string(5000, 'x') + "*/ CREATE TABLE t(a);",
      "CREATE TABLE t AS SELECT 1 AS a;",
      "CREATE TEMP TABLE t(a);",
  };
  for (const std::string& ddl : cases) {
    EXPECT_FALSE(LoadDesiredSchemaInBulk(ddl).has_value()) << ddl.substr(0, 60);
    Result<DbPtr> one = LoadDesiredSchemaOneByOne(ddl);
    Result<DbPtr> loaded = LoadDesiredSchema(ddl);
    ASSERT_EQ(one.ok(), loaded.ok()) << ddl.substr(0, 60);
    if (one.ok()) {
      EXPECT_EQ(Fingerprint(loaded->get()), Fingerprint(one->get()));
    } else {
      EXPECT_EQ(loaded.status().message(), one.status().message());
    }
  }
}

TEST(DesiredBulk, TrailingCommentsAndEmptyText) {
  for (const std::string ddl : {"", "  -- nothing\n", "CREATE TABLE t(a); -- end", "CREATE TABLE t(a)"}) {
    std::optional<DbPtr> bulk = LoadDesiredSchemaInBulk(ddl);
    ASSERT_TRUE(bulk.has_value()) << ddl;
    EXPECT_TRUE(AgreesOrGivesUp(ddl, ddl));
  }
}

}  // namespace
}  // namespace automigrate::testing
