// tests/apply_progress_test.cc -- progress reports of migrate_apply: core's
// ApplyOptions::on_step_done callback, and the `progress_file` option that
// scripts/automigrate polls to show "step 3/7 rebuild_table t  12.4 s".
//
// What a user relies on: one report per finished step, in the order the
// steps ran, with the plan's total; nothing for a step that did not finish;
// the file is appended to, one whole line per step; and a progress file that
// cannot be written never fails or changes the migration.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/apply.h"
#include "core/plan.h"
#include "support/test_util.h"

namespace automigrate::testing {
namespace {

constexpr std::string_view kStart =
    "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT);"
    "INSERT INTO users(name) VALUES ('ann'), ('bob');";
// add_column, create_index, create_table: three steps, none destructive.
constexpr std::string_view kDesired =
    "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT, email TEXT);"
    "CREATE INDEX users_name ON users(name);"
    "CREATE TABLE posts(id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id));";

struct Report {
  size_t done, total;
  std::string op, object;
  double elapsed_ms;
};

std::vector<std::string> Lines(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// op and object of each step of `batch`, in step order, as "op object".
std::vector<std::string> HistorySteps(TestDb& db, int64_t batch) {
  std::vector<std::string> out;
  for (const Row& r : db.QueryRows(
           "SELECT op, object FROM migration_history WHERE batch = ?1 ORDER BY step",
           {std::to_string(batch)}))
    out.push_back(r[0] + " " + r[1]);
  return out;
}

TEST(ApplyProgress, CallbackReportsEveryStepInOrderWithTheTotal) {
  TestDb db(TestDb::Kind::kFile, /*load_extension=*/false);
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(kStart));
  std::vector<Report> reports;
  ApplyOptions o;
  o.on_step_done = [&](size_t done, size_t total, const Step& step, double elapsed_ms) {
    reports.push_back({done, total, std::string(OpName(step.op)), step.object, elapsed_ms});
  };
  Result<ApplyReport> r = Apply(db.db(), kDesired, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(reports.size(), 3u);
  EXPECT_EQ(r->steps, 3);
  Rows steps = db.QueryRows("SELECT op, object FROM _automigrate_history ORDER BY step");
  ASSERT_EQ(steps.size(), 3u);
  double previous = 0;
  for (size_t i = 0; i < reports.size(); ++i) {
    EXPECT_EQ(reports[i].done, i + 1);
    EXPECT_EQ(reports[i].total, 3u);
    EXPECT_EQ(reports[i].op, steps[i][0]);
    EXPECT_EQ(reports[i].object, steps[i][1]);
    EXPECT_GE(reports[i].elapsed_ms, previous);
    previous = reports[i].elapsed_ms;
  }
  EXPECT_LE(previous, r->duration_ms);
}

TEST(ApplyProgress, DryRunReportsToo) {
  TestDb db(TestDb::Kind::kFile, /*load_extension=*/false);
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(kStart));
  size_t calls = 0;
  ApplyOptions o;
  o.dry_run = true;
  o.on_step_done = [&](size_t, size_t, const Step&, double) { ++calls; };
  Result<ApplyReport> r = Apply(db.db(), kDesired, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(calls, 3u);
}

TEST(ApplyProgress, NothingToDoReportsNothing) {
  TestDb db(TestDb::Kind::kFile, /*load_extension=*/false);
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(kDesired));
  size_t calls = 0;
  ApplyOptions o;
  o.on_step_done = [&](size_t, size_t, const Step&, double) { ++calls; };
  Result<ApplyReport> r = Apply(db.db(), kDesired, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->batch.has_value());
  EXPECT_EQ(calls, 0u);
}

// The time limit is checked between steps: a slow first report (the callback
// sleeps past the limit) makes the next step fail, and that step is never
// reported as done; the batch rolls back as any failure does.
TEST(ApplyProgress, AStepThatDoesNotFinishIsNotReported) {
  TestDb db(TestDb::Kind::kFile, /*load_extension=*/false);
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(kStart));
  std::vector<size_t> done;
  ApplyOptions o;
  o.max_execution_time_ms = 200;
  o.on_step_done = [&](size_t d, size_t, const Step&, double) {
    done.push_back(d);
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
  };
  Result<ApplyReport> r = Apply(db.db(), kDesired, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("max_execution_time_ms"), std::string::npos) << r.status().message();
  // Only step 1 can have finished (step 2 is refused by the deadline after it).
  EXPECT_LE(done.size(), 1u);
  if (!done.empty()) {
    EXPECT_EQ(done[0], 1u);
  }
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM pragma_table_info('users') WHERE name = 'email'"),
            0);
}

TEST(ApplyProgressFile, AppendsOneLinePerStepMatchingTheHistory) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(kStart));
  const std::filesystem::path progress = db.dir() / "progress.txt";
  {
    std::ofstream(progress) << "earlier line\n";
  }
  const std::string result = db.QueryString(
      "SELECT migrate_apply(?1, json_object('progress_file', ?2))",
      {std::string(kDesired), progress.string()});
  ASSERT_NE(result.find("\"ok\":true"), std::string::npos) << result;
  std::vector<std::string> lines = Lines(progress);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "earlier line");  // appended, not truncated
  std::vector<std::string> history = HistorySteps(db, 1);
  ASSERT_EQ(history.size(), 3u);
  const std::regex line_re(R"((\d+)/(\d+) (\S+) (.+) (\d+\.\d))");
  double previous = 0;
  for (size_t i = 0; i < 3; ++i) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(lines[i + 1], m, line_re)) << lines[i + 1];
    EXPECT_EQ(m[1].str(), std::to_string(i + 1));
    EXPECT_EQ(m[2].str(), "3");
    EXPECT_EQ(m[3].str() + " " + m[4].str(), history[i]);
    const double elapsed = std::stod(m[5].str());
    EXPECT_GE(elapsed, previous);
    previous = elapsed;
  }
}

TEST(ApplyProgressFile, LineBreaksInANameStayOnOneLine) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  const std::filesystem::path progress = db.dir() / "progress.txt";
  const std::string result = db.QueryString(
      "SELECT migrate_apply(?1, json_object('progress_file', ?2))",
      {"CREATE TABLE \"two\nlines\"(a);", progress.string()});
  ASSERT_NE(result.find("\"ok\":true"), std::string::npos) << result;
  std::vector<std::string> lines = Lines(progress);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(lines[0].starts_with("1/1 create_table two lines ")) << lines[0];
}

TEST(ApplyProgressFile, AnUnwritableFileDoesNotStopTheMigration) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(kStart));
  const std::string missing_dir = (db.dir() / "no" / "such" / "dir" / "progress.txt").string();
  const std::string result =
      db.QueryString("SELECT migrate_apply(?1, json_object('progress_file', ?2))",
                     {std::string(kDesired), missing_dir});
  EXPECT_NE(result.find("\"ok\":true"), std::string::npos) << result;
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM pragma_table_info('users') WHERE name = 'email'"),
            1);
  EXPECT_FALSE(std::filesystem::exists(missing_dir));
}

TEST(ApplyProgressFile, NullMeansNoneAndAWrongTypeIsAnError) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(kStart));
  Rows rows;
  std::string error;
  EXPECT_FALSE(TryQueryRows(db.db(), "SELECT migrate_apply(?1, '{\"progress_file\": 1}')",
                            {std::string(kDesired)}, &rows, &error));
  EXPECT_EQ(error, "migrate_apply: options: \"progress_file\" must be a file path or null");
  EXPECT_FALSE(TryQueryRows(db.db(), "SELECT migrate_apply(?1, '{\"progress_file\": \"\"}')",
                            {std::string(kDesired)}, &rows, &error));
  EXPECT_EQ(error, "migrate_apply: options: \"progress_file\" must be a file path or null");
  // The planner takes every apply key, so one options object serves both.
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM migrate_plan(?1, '{\"progress_file\": \"x\"}')",
                        {std::string(kDesired)}),
            3);
  const std::string result =
      db.QueryString("SELECT migrate_apply(?1, '{\"progress_file\": null}')", {std::string(kDesired)});
  EXPECT_NE(result.find("\"ok\":true"), std::string::npos) << result;
}

}  // namespace
}  // namespace automigrate::testing
