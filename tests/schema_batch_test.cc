// ReadSchema's batched pragma reads (a few joined table-valued pragma
// queries for every table and index) must build exactly the Schema that the
// per-object reads (one query per table and per index) build: on every
// schema of the sqldef conformance suite and on schemas chosen to trip a
// joined query (odd names, other schemas, virtual and shadow tables).
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "core/desired.h"
#include "core/desired_refs.h"
#include "core/schema.h"
#include "support/test_util.h"

namespace automigrate::testing {
namespace {

std::string Opt(const std::optional<std::string>& s) { return s ? "'" + *s + "'" : "null"; }

// Every field of the model, one line per object, so a difference shows where.
std::string Dump(const Schema& s) {
  std::string out = "schema " + s.schema_name + "\n";
  auto index = [&](const Index& ix) {
    out += "  index " + ix.name + " on " + ix.table + " unique=" + std::to_string(ix.unique) +
           " origin=" + ix.origin + " where=" + Opt(ix.where) + "/" + Opt(ix.where_norm) +
           " renamed_from=" + Opt(ix.renamed_from) + " sql=" + ix.sql + "\n";
    for (const IndexKey& k : ix.keys)
      out += "    key column=" + k.column + " expr=" + k.expr + " norm=" + k.expr_norm +
             " desc=" + std::to_string(k.desc) + " coll=" + k.collation + "\n";
  };
  for (const Table& t : s.tables) {
    out += "table " + t.name + " virtual=" + std::to_string(t.is_virtual) +
           " wr=" + std::to_string(t.without_rowid) + " strict=" + std::to_string(t.strict) +
           " autoinc=" + std::to_string(t.autoincrement) + " renamed_from=" +
           Opt(t.renamed_from) + " vnorm=" + t.virtual_norm + "\n  sql=" + t.sql + "\n";
    for (const Column& c : t.columns)
      out += "  column " + c.name + " type=" + c.type + " notnull=" + std::to_string(c.not_null) +
             " default=" + Opt(c.default_sql) + " pk=" + std::to_string(c.pk) +
             " hidden=" + std::to_string(c.hidden) + " coll=" + c.collation +
             " coll_explicit=" + std::to_string(c.collation_explicit) +
             " generated=" + Opt(c.generated_expr) + " def=" + c.definition +
             " renamed_from=" + Opt(c.renamed_from) + " unique=" + std::to_string(c.unique) +
             " refs=" + std::to_string(c.has_references) + "\n";
    for (const Check& c : t.checks)
      out += "  check " + c.column + "|" + c.name + "|" + c.expr + "|" + c.norm + "\n";
    for (const ForeignKey& fk : t.foreign_keys) out += "  fk " + fk.column + " " + fk.Key() + "\n";
    for (const Index& ix : t.constraint_indexes) index(ix);
  }
  for (const Index& ix : s.indexes) index(ix);
  for (const View& v : s.views) out += "view " + v.name + " " + v.norm + "\n";
  for (const Trigger& tr : s.triggers) out += "trigger " + tr.name + " on " + tr.table + "\n";
  for (const std::string& n : s.skipped) out += "skipped " + n + "\n";
  return out;
}

// Reads `schema` both ways; they must agree. Returns the batched Schema.
Schema ReadBothWays(sqlite3* db, const std::string& schema, const std::string& label) {
  Result<Schema> batched = ReadSchema(db, schema, PragmaReads::kBatched);
  Result<Schema> per_object = ReadSchema(db, schema, PragmaReads::kPerObject);
  EXPECT_EQ(batched.ok(), per_object.ok())
      << label << ": batched " << (batched.ok() ? "ok" : batched.status().message())
      << ", per object " << (per_object.ok() ? "ok" : per_object.status().message());
  if (!batched.ok() || !per_object.ok()) {
    EXPECT_EQ(batched.ok() ? "" : batched.status().message(),
              per_object.ok() ? "" : per_object.status().message())
        << label;
    return Schema();
  }
  EXPECT_EQ(Dump(*batched), Dump(*per_object)) << label;
  // The name lookups are built the same way.
  for (const Table& t : per_object->tables) EXPECT_NE(batched->FindTable(t.name), nullptr) << label;
  return std::move(*batched);
}

TEST(SchemaBatch, SameAsPerObjectOnConformanceSchemas) {
  YAML::Node root = YAML::LoadFile(AUTOMIGRATE_SHARED_DIR "/conformance/sqldef-sqlite3.yml");
  ASSERT_TRUE(root.IsSequence());
  int loaded = 0, tables = 0;
  for (const YAML::Node& n : root) {
    for (const char* side : {"current", "desired"}) {
      std::string ddl = n[side].as<std::string>();
      TestDb db(TestDb::Kind::kMemory, /*load_extension=*/false);
      // A few cases hold DDL that the bare library refuses on purpose.
      if (ddl.empty() || !Exec(db.db(), ddl)) continue;
      ++loaded;
      Schema s = ReadBothWays(db.db(), "main", n["name"].as<std::string>() + " " + side);
      tables += static_cast<int>(s.tables.size());
    }
  }
  // Most of the suite's 138 schemas load; an empty run would prove nothing.
  EXPECT_GT(loaded, 100);
  EXPECT_GT(tables, 100);
}

constexpr const char* kTricky = R"sql(
CREATE TABLE "it's ""quoted""" ("a b" TEXT COLLATE NOCASE DEFAULT 'it''s', "é ü" INTEGER,
  [x.y] REAL NOT NULL DEFAULT (1.5), PRIMARY KEY ("a b", "é ü")) WITHOUT ROWID;
CREATE INDEX "idx ""q""" ON "it's ""quoted"""("é ü" DESC, "a b" COLLATE BINARY);
CREATE TABLE Mixed (ID INTEGER PRIMARY KEY AUTOINCREMENT, Val TEXT UNIQUE, "VAL2" TEXT,
  CONSTRAINT "u 2" UNIQUE (VAL2, Val), CHECK (length(Val) > 0));
CREATE INDEX mixed_lower ON Mixed(lower(Val), ID) WHERE VAL2 IS NOT NULL;
CREATE TABLE st (id INTEGER PRIMARY KEY, n INT NOT NULL, t TEXT, b BLOB, a ANY) STRICT;
CREATE TABLE gen (a INTEGER, b INTEGER GENERATED ALWAYS AS (a * 2) VIRTUAL,
  c TEXT AS (a || 'x') STORED, d INTEGER REFERENCES Mixed(ID) ON DELETE CASCADE);
CREATE INDEX gen_b ON gen(b);
CREATE TABLE "日本" ("列" TEXT PRIMARY KEY, other INTEGER) WITHOUT ROWID, STRICT;
CREATE TABLE pkdesc (id INTEGER PRIMARY KEY DESC, v TEXT);
CREATE VIRTUAL TABLE docs USING fts5(title, body);
CREATE VIRTUAL TABLE box USING rtree(id, x0, x1);
CREATE VIEW "v w" AS SELECT * FROM Mixed;
CREATE TRIGGER "t r" AFTER INSERT ON Mixed BEGIN INSERT INTO gen(a) VALUES (NEW.ID); END;
)sql";

TEST(SchemaBatch, SameAsPerObjectOnTrickyNames) {
  TestDb db(TestDb::Kind::kMemory, /*load_extension=*/false);
  ASSERT_TRUE(db.Exec(kTricky));
  Schema s = ReadBothWays(db.db(), "main", "tricky");
  // Not vacuous: the batched reads saw what the pragmas say.
  const Table* quoted = s.FindTable("IT'S \"QUOTED\"");
  ASSERT_NE(quoted, nullptr);
  ASSERT_EQ(quoted->columns.size(), 3u);
  EXPECT_EQ(quoted->columns[0].collation, "NOCASE");
  EXPECT_EQ(quoted->columns[1].pk, 2);
  EXPECT_TRUE(quoted->without_rowid);
  ASSERT_EQ(quoted->constraint_indexes.size(), 1u);  // the WITHOUT ROWID primary key
  EXPECT_EQ(quoted->constraint_indexes[0].origin, "pk");
  const Index* idx = s.FindIndex("idx \"q\"");
  ASSERT_NE(idx, nullptr);
  ASSERT_EQ(idx->keys.size(), 2u);
  EXPECT_TRUE(idx->keys[0].desc);
  EXPECT_EQ(idx->keys[0].column, "é ü");
  const Table* mixed = s.FindTable("mixed");
  ASSERT_NE(mixed, nullptr);
  ASSERT_EQ(mixed->constraint_indexes.size(), 2u);  // Val UNIQUE, "u 2"
  EXPECT_EQ(mixed->constraint_indexes[1].keys.size(), 2u);
  const Table* gen = s.FindTable("gen");
  ASSERT_NE(gen, nullptr);
  ASSERT_EQ(gen->columns.size(), 4u);
  EXPECT_EQ(gen->columns[1].hidden, 2);
  EXPECT_EQ(gen->columns[2].hidden, 3);
  EXPECT_TRUE(s.FindTable("st")->strict);
  EXPECT_EQ(s.FindTable("pkdesc")->constraint_indexes.size(), 1u);  // not a rowid alias
  const Table* docs = s.FindTable("docs");
  ASSERT_NE(docs, nullptr);
  EXPECT_TRUE(docs->is_virtual);
  EXPECT_TRUE(docs->columns.empty());  // virtual tables are compared by their text
  EXPECT_EQ(s.FindTable("docs_data"), nullptr);  // FTS5 shadow tables are left out
  EXPECT_EQ(s.FindTable("box_node"), nullptr);   // so are R*Tree's
  EXPECT_EQ(s.indexes.size(), 3u);
}

TEST(SchemaBatch, SameAsPerObjectWithModuleMissing) {
  // A virtual table whose module this connection lacks: neither reader may
  // touch it (no pragma on it), so both succeed.
  TestDb db(TestDb::Kind::kMemory, /*load_extension=*/false);
  ASSERT_TRUE(db.Exec("CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT UNIQUE);"
                      "PRAGMA writable_schema = ON;"
                      "INSERT INTO sqlite_schema VALUES ('table', 'vt', 'vt', 0, "
                      "'CREATE VIRTUAL TABLE vt USING nosuchmodule(x, y)');"
                      "PRAGMA writable_schema = OFF;"));
  Schema s = ReadBothWays(db.db(), "main", "missing module");
  ASSERT_EQ(s.tables.size(), 2u);
  EXPECT_TRUE(s.FindTable("vt")->is_virtual);
}

TEST(SchemaBatch, ReadsOnlyTheNamedSchema) {
  // The same names, differing only by case, in main, temp and an attached
  // database with an awkward name: each read sees its own schema's columns.
  TestDb db(TestDb::Kind::kMemory, /*load_extension=*/false);
  ASSERT_TRUE(db.Exec("ATTACH ':memory:' AS \"my \"\"aux\"\"\";"
                      "CREATE TABLE main.Data(a INTEGER PRIMARY KEY, b TEXT UNIQUE);"
                      "CREATE INDEX main.data_b ON Data(b, a);"
                      "CREATE TEMP TABLE data(t1 TEXT, t2 TEXT, UNIQUE (t2, t1));"
                      "CREATE INDEX temp.data_b ON data(t1);"
                      "CREATE TABLE \"my \"\"aux\"\"\".DATA(x REAL NOT NULL DEFAULT 0, y BLOB,"
                      " z TEXT COLLATE RTRIM, PRIMARY KEY (z, x)) WITHOUT ROWID;"
                      "CREATE INDEX \"my \"\"aux\"\"\".data_b ON DATA(y DESC);"));
  struct Expect {
    std::string schema;
    size_t columns, constraint_indexes, key_count;
  };
  for (const Expect& e : {Expect{"main", 2, 1, 2}, Expect{"temp", 2, 1, 1},
                          Expect{"my \"aux\"", 3, 1, 1}}) {
    Schema s = ReadBothWays(db.db(), e.schema, e.schema);
    ASSERT_EQ(s.tables.size(), 1u) << e.schema;
    EXPECT_EQ(s.tables[0].columns.size(), e.columns) << e.schema;
    EXPECT_EQ(s.tables[0].constraint_indexes.size(), e.constraint_indexes) << e.schema;
    ASSERT_EQ(s.indexes.size(), 1u) << e.schema;
    EXPECT_EQ(s.indexes[0].keys.size(), e.key_count) << e.schema;
  }
}

TEST(SchemaBatch, SameAsPerObjectOnAGeneratedSchema) {
  // The bench's shape (scripts/bench.sh), smaller: many tables, each with
  // constraint indexes, explicit indexes and foreign keys.
  std::string ddl;
  for (int i = 0; i < 300; ++i) {
    std::string t = "t" + std::to_string(i);
    std::string p = "t" + std::to_string(i / 2);
    ddl += "CREATE TABLE " + t + " (id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE, " +
           "qty INTEGER NOT NULL DEFAULT 0 CHECK (qty >= 0), parent_id INTEGER REFERENCES " + p +
           "(id) ON DELETE CASCADE);\n";
    ddl += "CREATE INDEX " + t + "_p ON " + t + "(parent_id, qty DESC);\n";
    if (i % 10 == 0) ddl += "CREATE VIEW v" + t + " AS SELECT * FROM " + t + ";\n";
  }
  TestDb db(TestDb::Kind::kMemory, /*load_extension=*/false);
  ASSERT_TRUE(db.Exec(ddl));
  Schema s = ReadBothWays(db.db(), "main", "generated");
  EXPECT_EQ(s.tables.size(), 300u);
  EXPECT_EQ(s.indexes.size(), 300u);
  EXPECT_EQ(s.views.size(), 30u);
}

// The reference check runs SQLite's rename probe on a copy holding only the
// tables and indexes that views and triggers name: everything they can
// resolve must still be there, and a missing table is still refused.
Status CheckRefs(const std::string& ddl) {
  Result<DbPtr> db = LoadDesiredSchema(ddl);
  EXPECT_TRUE(db.ok()) << db.status().message();
  if (!db.ok()) return db.status();
  return CheckDesiredReferences(db->get());
}

std::string ManyTables() {
  std::string ddl;
  for (int i = 0; i < 200; ++i)
    ddl += "CREATE TABLE f" + std::to_string(i) + "(id INTEGER PRIMARY KEY, v TEXT UNIQUE);\n";
  return ddl;
}

TEST(DesiredRefsCopy, KeepsWhatViewsAndTriggersName) {
  std::string base = ManyTables() +
                     "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT UNIQUE);"
                     "CREATE INDEX users_name ON users(name);"
                     "CREATE TABLE \"odd name\"(x);";
  for (const char* extra : {
           "CREATE VIEW v AS SELECT * FROM 'users';",  // a string where a name goes
           "CREATE VIEW v AS SELECT * FROM users INDEXED BY users_name;",
           "CREATE VIEW v AS SELECT * FROM \"ODD NAME\";",
           "CREATE VIEW v0 AS SELECT id FROM users; CREATE VIEW v AS SELECT * FROM v0;",
           "CREATE TRIGGER t AFTER INSERT ON f7 BEGIN INSERT INTO users(name) VALUES (NEW.v); END;",
           "CREATE VIEW v AS SELECT * FROM users; CREATE TRIGGER t INSTEAD OF INSERT ON v "
           "BEGIN INSERT INTO f1(v) VALUES (NEW.name); END;",
       }) {
    Status s = CheckRefs(base + extra);
    EXPECT_TRUE(s.ok()) << extra << ": " << s.message();
  }
}

TEST(DesiredRefsCopy, StillRefusesAMissingTable) {
  std::string base = ManyTables() + "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT);";
  struct Case {
    std::string extra, message;
  };
  for (const Case& c : {
           Case{"CREATE VIEW v2 AS SELECT * FROM users JOIN nowhere USING (id);",
                "desired schema: error in view v2: no such table: main.nowhere"},
           Case{"CREATE VIEW v0 AS SELECT * FROM nowhere; CREATE VIEW v1 AS SELECT * FROM v0;",
                "desired schema: error in view v0: no such table: main.nowhere"},
           Case{"CREATE TRIGGER t2 AFTER INSERT ON users BEGIN INSERT INTO nowhere VALUES (1); "
                "END;",
                "desired schema: error in trigger t2: no such table: main.nowhere"},
           // A virtual table: the probe runs on the whole desired schema.
           Case{"CREATE VIRTUAL TABLE docs USING fts5(body);"
                "CREATE VIEW v3 AS SELECT * FROM docs JOIN nowhere;",
                "desired schema: error in view v3: no such table: main.nowhere"},
       }) {
    Status s = CheckRefs(base + c.extra);
    EXPECT_FALSE(s.ok()) << c.extra;
    EXPECT_EQ(s.message(), c.message) << c.extra;
  }
}

}  // namespace
}  // namespace automigrate::testing
