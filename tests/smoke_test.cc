#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>

namespace {

TEST(Extension, LoadsAndReportsVersion) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
  sqlite3_enable_load_extension(db, 1);
  char* err = nullptr;
  ASSERT_EQ(sqlite3_load_extension(db, AUTOMIGRATE_EXT_PATH, nullptr, &err), SQLITE_OK)
      << (err ? err : "");
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT automigrate_version()", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0))), "0.1.0");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

}  // namespace
