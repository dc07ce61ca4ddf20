// tests/fuzz/fuzz_plan.cc -- libFuzzer target for the whole planner:
// PlanMigration (core/plan.h) of fuzzed desired DDL against a fixed small
// live schema with rows, in-process, then the plan's script, hash and
// warnings. Besides "no crash, no sanitizer report, no exception", planning
// must leave the live database as it was (schema_version and row count) and
// a failed plan must carry a message.
//
// The input's length picks the planning options (column order, an older
// SQLite version number for the rename/drop-column fallbacks), so the
// fallbacks are fuzzed too without taking bytes from the DDL.
#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/plan.h"
#include "core/sqlite_handle.h"
#include "fuzz_common.h"

namespace am = automigrate;

namespace {

// Every object kind the planner diffs, with a few rows so the data
// pre-checks (NOT NULL, UNIQUE, CHECK, FK, STRICT) run real queries.
constexpr const char* kLiveSchema = R"sql(
CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL COLLATE NOCASE,
                   email VARCHAR(40) UNIQUE, age INT CHECK (age >= 0), score REAL DEFAULT 0.5,
                   data BLOB, misc);
CREATE TABLE posts(id INTEGER PRIMARY KEY AUTOINCREMENT,
                   user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
                   title TEXT DEFAULT 'untitled', body TEXT,
                   n NUMERIC, slug TEXT GENERATED ALWAYS AS (lower(title)) VIRTUAL);
CREATE TABLE tags(post_id INTEGER NOT NULL, tag TEXT NOT NULL,
                  CONSTRAINT pk_tags PRIMARY KEY (post_id, tag),
                  FOREIGN KEY (post_id) REFERENCES posts(id) DEFERRABLE INITIALLY DEFERRED)
  WITHOUT ROWID;
CREATE TABLE kv(k TEXT PRIMARY KEY, v INTEGER, w ANY) STRICT;
CREATE INDEX posts_user ON posts(user_id, title DESC);
CREATE UNIQUE INDEX users_lower_name ON users(lower(name)) WHERE age > 18;
CREATE VIEW adults AS SELECT id, name FROM users WHERE age >= 18;
CREATE TRIGGER posts_touch AFTER UPDATE ON posts BEGIN
  UPDATE users SET score = score + 1 WHERE id = new.user_id;
END;
INSERT INTO users(id, name, email, age, data, misc) VALUES
  (1, 'ada', 'ada@x', 36, x'00ff', 1), (2, 'bob', NULL, 17, NULL, 'two'), (3, 'cy', 'c@x', NULL, NULL, 2.5);
INSERT INTO posts(user_id, title, body, n) VALUES (1, 'Hello', 'b', 1), (2, NULL, NULL, '7'), (NULL, 'x', 'y', 2.5);
INSERT INTO tags VALUES (1, 'a'), (1, 'b'), (2, 'a');
INSERT INTO kv VALUES ('a', 1, 'x'), ('b', NULL, 2.5);
)sql";

sqlite3* LiveDb() {
  static sqlite3* db = [] {
    sqlite3* d = nullptr;
    if (sqlite3_open(":memory:", &d) != SQLITE_OK) std::abort();
    char* err = nullptr;
    if (sqlite3_exec(d, kLiveSchema, nullptr, nullptr, &err) != SQLITE_OK) {
      std::fprintf(stderr, "fuzz_plan: live schema: %s\n", err ? err : "?");
      std::abort();
    }
    return d;
  }();
  return db;
}

int64_t Int(sqlite3* db, const char* sql) {
  am::Result<int64_t> v = am::QueryInt(db, sql, -1);
  FUZZ_CHECK(v.ok(), "reading the live database failed");
  return *v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sqlite3* db = LiveDb();
  static const int64_t schema_version = Int(db, "PRAGMA schema_version");
  static const int64_t rows = Int(db, "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM posts)"
                                      " + (SELECT count(*) FROM tags) + (SELECT count(*) FROM kv)");

  std::string_view desired(reinterpret_cast<const char*>(data), size);
  am::PlanOptions options;
  switch (size % 4) {
    case 1: options.strict_column_order = true; break;
    case 2: options.sqlite_version = 3034000; break;  // DROP COLUMN -> rebuild
    case 3: options.sqlite_version = 3024000; break;  // RENAME COLUMN folded into a rebuild
    default: break;
  }
  if (size % 8 == 5) options.renames = {{"users.full_name", "name"}, {"posts", "articles"}};

  am::Result<am::Plan> plan = am::PlanMigration(db, desired, options);
  if (plan.ok()) {
    (void)plan->Script();
    (void)plan->Hash();
    (void)plan->AllWarnings();
    (void)plan->MaxComplexity();
    (void)plan->EstMs();
    for (const am::Step& s : plan->steps) {
      FUZZ_CHECK(!s.sql.empty(), "a step without SQL");
      (void)am::OpName(s.op);
    }
  } else {
    FUZZ_CHECK(!plan.status().message().empty(), "a planning error without a message");
  }
  FUZZ_CHECK(Int(db, "PRAGMA schema_version") == schema_version, "planning changed the live schema");
  FUZZ_CHECK(Int(db, "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM posts)"
                     " + (SELECT count(*) FROM tags) + (SELECT count(*) FROM kv)") == rows,
             "planning changed the live rows");
  FUZZ_CHECK(sqlite3_get_autocommit(db), "planning left a transaction open");
  return 0;
}
