// core/integrity.cc -- integrity_check without SQLite 3.40's WITHOUT ROWID
// false positives (see core/integrity.h).
#include "core/integrity.h"

#include <fmt/format.h>

#include <climits>
#include <map>
#include <optional>

#include "core/quote.h"
#include "core/sqlite_handle.h"

namespace automigrate {
namespace {

// The lines of the NOT NULL and datatype checks, and the storage classes
// that make each true. typeof(), not `IS NULL`: SQLite folds `c IS NULL` to
// false for a NOT NULL column, the very case being checked.
struct Kind {
  std::string_view prefix;
  std::string_view condition;  // {0} is the quoted column
};
constexpr Kind kKinds[] = {
    {"NULL value in ", "typeof({0}) = 'null'"},
    {"non-INTEGER value in ", "typeof({0}) NOT IN ('null', 'integer')"},
    {"non-INT value in ", "typeof({0}) NOT IN ('null', 'integer')"},
    {"non-REAL value in ", "typeof({0}) NOT IN ('null', 'real', 'integer')"},
    {"non-TEXT value in ", "typeof({0}) NOT IN ('null', 'text')"},
    {"non-BLOB value in ", "typeof({0}) NOT IN ('null', 'blob')"},
};

struct Claim {
  std::string table, column;
  std::string_view condition;
};

// Every line the false positive can produce for `schema`: one per kind,
// WITHOUT ROWID table and column, e.g. "NULL value in t.b".
class Claims {
 public:
  Status Load(sqlite3* db, std::string_view schema) {
    schema_ = std::string(schema);
    Stmt q;
    AM_RETURN_IF_ERROR(q.Prepare(
        db, "SELECT t.name, c.name FROM pragma_table_list AS t, "
            "pragma_table_xinfo(t.name, t.schema) AS c "
            "WHERE t.schema = ?1 AND t.type = 'table' AND t.wr"));
    q.Bind(1, schema);
    while (q.Step()) {
      const std::string table = q.Text(0), column = q.Text(1);
      for (const Kind& k : kKinds)
        claims_.emplace(fmt::format("{}{}.{}", k.prefix, table, column),
                        Claim{table, column, k.condition});
    }
    return q.status();
  }
  bool empty() const { return claims_.empty(); }

  // Whether `line` stands; the data is read once per distinct line.
  Result<bool> Real(sqlite3* db, std::string_view line) {
    auto it = claims_.find(std::string(line));
    if (it == claims_.end()) return true;  // not a line the bug produces
    if (auto v = verdicts_.find(it->first); v != verdicts_.end()) return v->second;
    const Claim& c = it->second;
    AM_ASSIGN_OR_RETURN(
        int64_t found,
        QueryInt(db, fmt::format("SELECT EXISTS (SELECT 1 FROM {} WHERE {})",
                                 QualifiedName(schema_, c.table),
                                 fmt::format(fmt::runtime(c.condition), QuoteIdent(c.column)))));
    verdicts_[it->first] = found != 0;
    return found != 0;
  }

 private:
  std::string schema_;
  std::map<std::string, Claim, std::less<>> claims_;
  std::map<std::string, bool, std::less<>> verdicts_;
};

// "Page 7: unable to get the page. error code=266": the pragma could not
// read a page (here SQLITE_IOERR_READ). Not damage: the error code, when it
// is an I/O error or out of memory, or 0.
int ReadErrorInLine(std::string_view line) {
  constexpr std::string_view kMark = "error code=";
  const size_t at = line.find(kMark);
  if (at == std::string_view::npos) return 0;
  int code = 0;
  for (size_t i = at + kMark.size(); i < line.size() && line[i] >= '0' && line[i] <= '9'; ++i)
    code = code * 10 + (line[i] - '0');
  const int primary = code & 0xff;
  return primary == SQLITE_IOERR || primary == SQLITE_NOMEM ? code : 0;
}

}  // namespace

bool HasWithoutRowidIntegrityBug(int libversion_number) {
  return libversion_number >= 3040000 && libversion_number < 3042000;
}

Result<IntegrityReport> RunIntegrityCheck(sqlite3* db, std::string_view schema, bool quick,
                                          int max_problems) {
  IntegrityReport report;
  Claims claims;
  const bool filter = HasWithoutRowidIntegrityBug(sqlite3_libversion_number());
  if (filter) AM_RETURN_IF_ERROR(claims.Load(db, schema));
  // The pragma stops after N lines. False positives (one per row) could
  // fill them and hide a real problem behind them, so with a WITHOUT ROWID
  // table on an affected version every line is read, and reading stops once
  // `max_problems` lines stand.
  const int64_t limit = filter && !claims.empty() ? INT_MAX : max_problems;
  Stmt q;
  AM_RETURN_IF_ERROR(q.Prepare(db, fmt::format("PRAGMA {}.{}({})", QuoteIdent(schema),
                                               quick ? "quick_check" : "integrity_check", limit)));
  while (static_cast<int64_t>(report.problems.size()) < max_problems && q.Step()) {
    // One row per problem, or one row with a line per problem.
    std::string text = q.Text(0);
    std::string_view rest = text;
    while (!rest.empty()) {
      const size_t nl = rest.find('\n');
      std::string_view line = rest.substr(0, nl);
      rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
      if (line.empty() || line == "ok" || line.starts_with("*** in database ")) continue;
      // A page it could not read is an error of the check, not a finding.
      if (int code = ReadErrorInLine(line); code != 0)
        return Status(code, fmt::format("integrity_check could not read the file: {}: {}", line,
                                        sqlite3_errstr(code)));
      bool real = true;
      if (filter) {
        AM_ASSIGN_OR_RETURN(real, claims.Real(db, line));
      }
      if (!real) {
        ++report.false_positives;
      } else if (static_cast<int64_t>(report.problems.size()) < max_problems) {
        report.problems.emplace_back(line);
      }
    }
  }
  AM_RETURN_IF_ERROR(q.status());
  return report;
}

Result<bool> IsRealIntegrityProblem(sqlite3* db, std::string_view schema, std::string_view line) {
  if (!HasWithoutRowidIntegrityBug(sqlite3_libversion_number())) return true;
  Claims claims;
  AM_RETURN_IF_ERROR(claims.Load(db, schema));
  return claims.Real(db, line);
}

}  // namespace automigrate
