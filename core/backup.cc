// core/backup.cc -- checksummed backups (see core/backup.h for the design).
#include "core/backup.h"
#include "core/json_scope.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>
#include <cstring>
#include <filesystem>
#include <set>

#include "core/ddl.h"
#include "core/files.h"
#include "core/history.h"
#include "core/integrity.h"
#include "core/quote.h"
#include "core/sqlite_handle.h"
#include "core/txn.h"

namespace automigrate {
namespace {

constexpr const char* kSidecarFormat = "sqlite-automigrate-backup/1";
constexpr const char* kBackupsTable = "_automigrate_backups";
// The extension's own tables: a restore keeps the live database's rows.
constexpr const char* kAuditTables[] = {"_automigrate_batches", "_automigrate_history",
                                        "_automigrate_backups", "_automigrate_config"};

std::string T(std::string_view schema, std::string_view table) {
  return QuoteIdent(schema) + "." + std::string(table);
}

std::string DbFile(sqlite3* db, std::string_view schema) {
  const char* f = sqlite3_db_filename(db, std::string(schema).c_str());
  return f ? std::string(f) : std::string();
}

// "2026-11-24T10:15:00.123Z" -> "20261124T101500.123Z": sorts, and is a
// file name on every platform.
std::string CompactTime(std::string_view iso) {
  std::string out;
  for (char c : iso)
    if (c != '-' && c != ':') out += c;
  return out;
}

// ------------------------------------------------------------------ orphans
//
// A process killed in the middle of backup_restore leaves its scratch copy
// beside the database; killed in backup_create or migrate_apply, it leaves a
// backup file without a sidecar (partial), or a complete one that was never
// recorded (the transaction that records it did not commit).

constexpr const char* kScratchInfix = ".automigrate-restore-";
// SQLite's files beside a scratch copy (it may be a WAL database).
constexpr const char* kScratchSuffixes[] = {"-journal", "-wal", "-shm"};

// `<database>.automigrate-restore-<host>-<pid>`: the host and pid tell the
// next call whether its writer is still running.
std::string ScratchName(const std::string& live) {
  return fmt::format("{}{}{}-{}", live, kScratchInfix, HostName(), ::getpid());
}

// The scratch files of `live` whose writer is gone: a pid that no longer
// exists on this host. A scratch file of another host, or of a live pid, is
// left alone. Names from before the host was added (`...-<pid>`) are taken
// as this host's.
std::vector<std::string> DeadScratch(const std::string& live) {
  std::vector<std::string> out;
  const std::string dir = DirName(live);
  const std::string prefix = BaseName(live) + kScratchInfix;
  const std::string host = HostName();
  Result<std::vector<DirEntry>> entries = ListDirectory(dir);
  if (!entries.ok()) return out;
  for (const DirEntry& entry : *entries) {
    const std::string& name = entry.name;
    if (!name.starts_with(prefix)) continue;
    std::string rest = name.substr(prefix.size());
    for (const char* suffix : kScratchSuffixes)
      if (rest.ends_with(suffix)) rest.resize(rest.size() - std::strlen(suffix));
    const size_t dash = rest.rfind('-');
    const std::string pid_text = dash == std::string::npos ? rest : rest.substr(dash + 1);
    const std::string file_host = dash == std::string::npos ? host : rest.substr(0, dash);
    if (pid_text.empty() || pid_text.size() > 10 ||
        pid_text.find_first_not_of("0123456789") != std::string::npos)
      continue;
    if (file_host != host || ProcessAlive(std::stoll(pid_text))) continue;
    out.push_back(AbsolutePath(dir + "/" + name));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Best effort: a file that cannot be removed now is found again next time.
void RemoveDeadScratch(const std::string& live) {
  for (const std::string& p : DeadScratch(live)) (void)RemoveFile(p);
}

// `<stem>-YYYYMMDDTHHMMSS.mmmZ[-batch<N>][-<k>].db`, as NewBackupName makes.
bool IsBackupName(std::string_view name, std::string_view stem) {
  if (!name.starts_with(stem) || name.size() < stem.size() + 1 || name[stem.size()] != '-')
    return false;
  std::string_view rest = name.substr(stem.size() + 1);
  auto digits = [&](size_t n) {
    if (rest.size() < n) return false;
    for (size_t i = 0; i < n; ++i)
      if (rest[i] < '0' || rest[i] > '9') return false;
    rest.remove_prefix(n);
    return true;
  };
  auto lit = [&](std::string_view t) {
    if (!rest.starts_with(t)) return false;
    rest.remove_prefix(t.size());
    return true;
  };
  auto number = [&] {
    size_t n = 0;
    while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') ++n;
    return n > 0 && digits(n);
  };
  if (!(digits(8) && lit("T") && digits(6) && lit(".") && digits(3) && lit("Z"))) return false;
  if (lit("-batch") && !number()) return false;
  if (rest.starts_with("-")) {
    rest.remove_prefix(1);
    if (!number()) return false;
  }
  return rest == ".db";
}

// A backup file whose writer is gone, and the sidecar it may have been
// writing (WriteNewFile's temporary). False: the writer still holds it.
Result<bool> RemovePartialBackup(const std::string& path) {
  AM_ASSIGN_OR_RETURN(bool gone, RemoveUnlessBeingWritten(path));
  if (gone) AM_RETURN_IF_ERROR(RemoveFile(NewFileTemporary(path + ".json")));
  return gone;
}

// Backup files in `dir` named for `source` whose writer is gone: without a
// sidecar and without the writer's lock (partial).
std::vector<std::string> PartialBackups(const std::string& dir, const std::string& source) {
  std::vector<std::string> out;
  const std::string stem = source.empty() ? std::string("memory") : BaseName(source);
  Result<std::vector<DirEntry>> entries = ListDirectory(dir);
  if (!entries.ok()) return out;
  for (const DirEntry& entry : *entries) {
    const std::string& name = entry.name;
    if (!IsBackupName(name, stem) || !entry.regular) continue;
    const std::string path = AbsolutePath(dir + "/" + name);
    if (PathExists(path + ".json")) continue;
    Result<bool> busy = BeingWritten(path);
    if (busy.ok() && !*busy) out.push_back(path);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Best effort, like RemoveDeadScratch; `except` is the backup being written.
void RemovePartialBackups(const std::string& dir, const std::string& source,
                          const std::string& except) {
  for (const std::string& p : PartialBackups(dir, source))
    if (p != except) (void)RemovePartialBackup(p);
}

// Removes what a failed backup left: the file and its sidecar.
class PartialFiles {
 public:
  PartialFiles() = default;
  PartialFiles(const PartialFiles&) = delete;
  PartialFiles& operator=(const PartialFiles&) = delete;
  void Add(std::string path) { paths_.push_back(std::move(path)); }
  void Keep() { paths_.clear(); }
  ~PartialFiles() {
    for (const std::string& p : paths_) ::unlink(p.c_str());
  }

 private:
  std::vector<std::string> paths_;
};

int BusyTimeoutMs(sqlite3* db) {
  Result<int64_t> t = QueryInt(db, "PRAGMA busy_timeout", 0);
  return t.ok() ? static_cast<int>(*t) : 0;
}

// The VFS `schema` is opened with, so a second connection reads the file the
// same way (a test's fault-injecting VFS, for one).
const char* VfsName(sqlite3* db, std::string_view schema) {
  sqlite3_vfs* vfs = nullptr;
  if (sqlite3_file_control(db, std::string(schema).c_str(), SQLITE_FCNTL_VFS_POINTER, &vfs) !=
          SQLITE_OK ||
      !vfs)
    return nullptr;
  return vfs->zName;
}

// The open file behind `schema` of `conn`, read through its VFS: opening the
// database file again with open(2) and closing it would drop this
// process's POSIX locks on it (every descriptor shares them).
Result<sqlite3_file*> DatabaseFile(sqlite3* conn, const char* schema) {
  sqlite3_file* f = nullptr;
  int rc = sqlite3_file_control(conn, schema, SQLITE_FCNTL_FILE_POINTER, &f);
  if (rc != SQLITE_OK || !f || !f->pMethods)
    return Status(SQLITE_CANTOPEN, fmt::format("cannot reach the database file of \"{}\"", schema));
  return f;
}

Result<int64_t> DatabaseFileSize(sqlite3_file* f) {
  sqlite3_int64 size = 0;
  int rc = f->pMethods->xFileSize(f, &size);
  if (rc != SQLITE_OK) return Status(rc, "cannot read the database file's size");
  return static_cast<int64_t>(size);
}

ReadAt VfsReader(sqlite3_file* f) {
  return [f](char* buf, size_t n, int64_t offset) -> Status {
    int rc = f->pMethods->xRead(f, buf, static_cast<int>(n), offset);
    if (rc != SQLITE_OK) return Status(rc, fmt::format("cannot read the database file: {}", sqlite3_errstr(rc)));
    return Status::Ok();
  };
}

// Runs an online backup from (src, src_schema) into dst's main database to
// completion, retrying while a lock is in the way until `keep_going` says
// stop or the busy timeout passes.
Status RunBackupApi(sqlite3* dst, sqlite3* src, std::string_view src_schema, bool in_chunks,
                    const std::function<bool()>& keep_going, int busy_ms) {
  BackupPtr b(sqlite3_backup_init(dst, "main", src, std::string(src_schema).c_str()));
  if (!b) return Status::FromDb(dst, "cannot start the online backup");
  const auto give_up = Clock::now() + std::chrono::milliseconds(busy_ms);
  for (;;) {
    if (keep_going && !keep_going()) return Status(SQLITE_INTERRUPT, "interrupted");
    int rc = sqlite3_backup_step(b.get(), in_chunks ? 16384 : -1);
    if (rc == SQLITE_DONE) break;
    if (rc == SQLITE_OK) continue;
    if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && Clock::now() < give_up) {
      sqlite3_sleep(5);
      continue;
    }
    int code = rc;
    b.reset();
    return Status(code, fmt::format("online backup failed: {}",
                                    code == SQLITE_BUSY || code == SQLITE_LOCKED
                                        ? "database is locked"
                                        : sqlite3_errmsg(dst)));
  }
  sqlite3_backup* raw = b.release();
  int rc = sqlite3_backup_finish(raw);
  if (rc != SQLITE_OK) return Status::FromDb(dst, "online backup failed");
  return Status::Ok();
}

// Picks `<dir>/<db name>-<time>[-batch<N>].db`, with -2, -3, ... when taken.
std::string NewBackupName(const std::string& dir, const std::string& source,
                          const std::string& created_at, std::optional<int64_t> batch) {
  std::string stem = source.empty() ? std::string("memory") : BaseName(source);
  std::string base = fmt::format("{}/{}-{}{}", dir, stem, CompactTime(created_at),
                                 batch ? fmt::format("-batch{}", *batch) : std::string());
  std::string path = base + ".db";
  for (int i = 2; PathExists(path) || PathExists(path + ".json"); ++i)
    path = fmt::format("{}-{}.db", base, i);
  return path;
}

// An error reading the backup (SQLITE_IOERR_*, an errno from read(2) or
// open(2), out of memory) as opposed to what was read being wrong: the
// backup may be fine, so it is never reported as failing verification.
bool IsReadError(const Status& s) {
  const int c = s.code() & 0xff;
  return c == SQLITE_IOERR || c == SQLITE_NOMEM || c == SQLITE_CANTOPEN;
}

std::string ReadErrorText(const std::string& path, const Status& s) {
  return fmt::format("could not read {}: {} (a read error, not a verification failure: the "
                     "backup may be fine; try again)",
                     path, s.message());
}

Result<BackupRecord> ParseSidecar(const std::string& path) {
  const std::string sidecar = path + ".json";
  if (!PathExists(sidecar))
    return Status(SQLITE_NOTFOUND,
                  fmt::format("sidecar {} is missing: without it the backup cannot be verified "
                              "(it may be incomplete)",
                              sidecar));
  Result<std::string> text = ReadSmallFile(sidecar);
  if (!text.ok()) return text.status();
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  JsonScope scope(j);  // see core/json_scope.h
  auto bad = [&](std::string_view what) {
    return Status(SQLITE_CORRUPT, fmt::format("sidecar {} is not valid: {}", sidecar, what));
  };
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  // Compared as a std::string: json == "text" builds a json inside a
  // noexcept operator (out of memory there ends the process).
  if (!j.contains("format") || !j["format"].is_string() ||
      j["format"].get_ref<const std::string&>() != kSidecarFormat)
    return bad(fmt::format("\"format\" is not \"{}\"", kSidecarFormat));
  if (!j.contains("checksum") || !j["checksum"].is_string() ||
      !IsChecksumText(j["checksum"].get<std::string>()))
    return bad("\"checksum\" is not 32 hex digits");
  if (!j.contains("bytes") || !j["bytes"].is_number_integer() || j["bytes"].get<int64_t>() < 0)
    return bad("\"bytes\" is not a size");
  BackupRecord r;
  r.path = path;
  r.checksum = j["checksum"].get<std::string>();
  r.bytes = j["bytes"].get<int64_t>();
  auto str = [&](const char* key) {
    return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
  };
  r.created_at = str("created_at");
  r.source = str("source");
  r.schema_hash = str("schema_hash");
  r.method = str("method");
  if (j.contains("batch") && j["batch"].is_number_integer()) r.batch = j["batch"].get<int64_t>();
  return r;
}

BackupRecord ReadRecord(const Stmt& q) {
  BackupRecord r;
  r.id = q.Int(0);
  r.path = q.Text(1);
  r.bytes = q.Int(2);
  r.checksum = q.Text(3);
  r.created_at = q.Text(4);
  if (!q.IsNull(5)) r.batch = q.Int(5);
  r.source = q.Text(6);
  r.schema_hash = q.Text(7);
  r.method = q.Text(8);
  r.verified_at = q.OptText(9);
  r.exists = PathExists(r.path);
  return r;
}

constexpr const char* kRecordColumns =
    "id, path, bytes, checksum, created_at, batch, source, schema_hash, method, verified_at";

Result<std::vector<BackupRecord>> SelectBackups(sqlite3* db, std::string_view schema,
                                                std::string_view where,
                                                const std::function<void(Stmt&)>& bind) {
  std::vector<BackupRecord> out;
  AM_ASSIGN_OR_RETURN(bool exists, TableExists(db, schema, kBackupsTable));
  if (!exists) return out;
  Stmt q;
  AM_RETURN_IF_ERROR(q.Prepare(db, fmt::format("SELECT {} FROM {} {} ORDER BY created_at, id",
                                               kRecordColumns, T(schema, kBackupsTable), where)));
  if (bind) bind(q);
  while (q.Step()) out.push_back(ReadRecord(q));
  AM_RETURN_IF_ERROR(q.status());
  return out;
}

// Columns of `schema`.`table` as the table declares them: name -> declared
// type (lower case), leaving out generated and hidden columns.
Result<std::vector<std::pair<std::string, std::string>>> PlainColumns(sqlite3* db,
                                                                      std::string_view schema,
                                                                      std::string_view table) {
  Stmt q;
  AM_RETURN_IF_ERROR(q.Prepare(db, "SELECT name, lower(type), hidden FROM pragma_table_xinfo(?1, ?2)"));
  q.Bind(1, table);
  q.Bind(2, schema);
  std::vector<std::pair<std::string, std::string>> out;
  while (q.Step())
    if (q.Int(2) == 0) out.emplace_back(q.Text(0), q.Text(1));
  AM_RETURN_IF_ERROR(q.status());
  return out;
}

struct TableInfo {
  std::string name;
  bool without_rowid = false;
};

// The rowid alias (INTEGER PRIMARY KEY) of `schema`.`table`, or "": the one
// PRIMARY KEY column declared INTEGER, unless the key has an index of its own
// ("INTEGER PRIMARY KEY DESC" and WITHOUT ROWID tables are not aliases).
Result<std::string> RowidAliasColumn(sqlite3* db, std::string_view schema, std::string_view table) {
  return QueryText(
      db, fmt::format("SELECT CASE WHEN count(*) = 1 AND lower(max(type)) = 'integer' AND NOT "
                      "EXISTS (SELECT 1 FROM pragma_index_list({0}, {1}) WHERE origin = 'pk') "
                      "THEN max(name) ELSE '' END FROM pragma_table_xinfo({0}, {1}) WHERE pk > 0",
                      QuoteLiteral(table), QuoteLiteral(schema)));
}

// Ordinary tables of `schema` (no virtual, shadow or internal tables).
Result<std::vector<TableInfo>> UserTables(sqlite3* db, std::string_view schema) {
  Stmt q;
  AM_RETURN_IF_ERROR(q.Prepare(
      db, "SELECT name, wr FROM pragma_table_list WHERE schema = ?1 AND type = 'table' "
          "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
          "AND name NOT LIKE '\\_automigrate\\_%' ESCAPE '\\' ORDER BY name"));
  q.Bind(1, schema);
  std::vector<TableInfo> out;
  while (q.Step()) out.push_back({q.Text(0), q.Int(1) != 0});
  AM_RETURN_IF_ERROR(q.status());
  return out;
}

// Compares the live database (attached to `img` as "live") with the backup
// (img's "main"): the rows a restore would throw away.
Result<std::vector<Discarded>> CompareWithBackup(sqlite3* img, const RestoreRequest& rq) {
  const auto& renamed = rq.renamed_tables;
  AM_ASSIGN_OR_RETURN(std::vector<TableInfo> live_tables, UserTables(img, "live"));
  AM_ASSIGN_OR_RETURN(std::vector<TableInfo> backup_tables, UserTables(img, "main"));
  std::vector<Discarded> out;
  for (const TableInfo& live : live_tables) {
    std::string old_name = live.name;
    for (const auto& [to, from] : renamed)
      if (ddl::Lower(to) == ddl::Lower(live.name)) old_name = from;
    auto it = std::find_if(backup_tables.begin(), backup_tables.end(), [&](const TableInfo& t) {
      return ddl::Lower(t.name) == ddl::Lower(old_name);
    });
    Discarded d;
    d.table = live.name;
    if (it == backup_tables.end()) {
      // A table the backup does not have: every row in it goes.
      AM_ASSIGN_OR_RETURN(d.rows_added_or_changed,
                          QueryInt(img, fmt::format("SELECT count(*) FROM {}",
                                                    QualifiedName("live", live.name))));
    } else {
      AM_ASSIGN_OR_RETURN(auto live_cols, PlainColumns(img, "live", live.name));
      AM_ASSIGN_OR_RETURN(auto backup_cols, PlainColumns(img, "main", it->name));
      // Columns both sides have (under their backup names when the batch
      // renamed them). A column the batch added or dropped is the batch's
      // change. When the batch changed a column's type, its copy converted
      // the values by the new column's affinity, which no CAST undoes
      // (CAST('abc' AS REAL) is 0.0): the backup's rows are then converted
      // the same way, by inserting them into a temp table whose columns have
      // the live columns' types, and the live rows are compared with those.
      // Likewise a column the batch made NOT NULL with a DEFAULT, whose NULLs
      // the copy filled with the default (NOT NULL ON CONFLICT REPLACE does
      // the same on insert).
      AM_ASSIGN_OR_RETURN(int64_t live_strict,
                          QueryInt(img, fmt::format("SELECT strict FROM pragma_table_list "
                                                    "WHERE schema = 'live' AND name = {}",
                                                    QuoteLiteral(live.name))));
      AM_ASSIGN_OR_RETURN(int64_t backup_strict,
                          QueryInt(img, fmt::format("SELECT strict FROM pragma_table_list "
                                                    "WHERE schema = 'main' AND name = {}",
                                                    QuoteLiteral(it->name))));
      // Rowids are kept by a rebuild between rowid tables, except when the
      // new rowid alias is an existing column other than the old alias: the
      // rows then take that column's values as rowids (compared as a column).
      bool rowids_kept = true;
      std::string live_alias, backup_alias;
      if (!live.without_rowid && !it->without_rowid) {
        AM_ASSIGN_OR_RETURN(live_alias, RowidAliasColumn(img, "live", live.name));
        AM_ASSIGN_OR_RETURN(backup_alias, RowidAliasColumn(img, "main", it->name));
      }
      std::string live_cols_sql, backup_cols_sql, conv_cols_sql;
      bool convert = false;
      for (const auto& [name, type] : live_cols) {
        std::string old_col = name;
        for (const ColumnRename& c : rq.renamed_columns)
          if (ddl::Lower(c.table) == ddl::Lower(live.name) && ddl::Lower(c.to) == ddl::Lower(name))
            old_col = c.from;
        for (const auto& [bname, btype] : backup_cols) {
          if (ddl::Lower(old_col) != ddl::Lower(bname)) continue;
          if (!live_alias.empty() && ddl::Lower(name) == ddl::Lower(live_alias) &&
              ddl::Lower(bname) != ddl::Lower(backup_alias))
            rowids_kept = false;
          // ANY is a column without affinity in a STRICT table only (NUMERIC
          // otherwise): toggling STRICT converts its values.
          if (type != btype || (live_strict != backup_strict && type == "any")) convert = true;
          // ANY in a STRICT table converts nothing: a column without affinity.
          std::string conv_type = live_strict != 0 && type == "any" ? "" : type;
          AM_ASSIGN_OR_RETURN(
              std::string fill,
              QueryText(img, fmt::format(
                                 "SELECT l.dflt_value FROM pragma_table_xinfo({}, 'live') l, "
                                 "pragma_table_xinfo({}, 'main') b WHERE l.name = {} AND "
                                 "b.name = {} AND l.\"notnull\" AND NOT b.\"notnull\" AND "
                                 "l.dflt_value IS NOT NULL AND l.dflt_value <> 'NULL'",
                                 QuoteLiteral(live.name), QuoteLiteral(it->name),
                                 QuoteLiteral(name), QuoteLiteral(bname))));
          if (!fill.empty()) {
            convert = true;
            conv_type += fmt::format(" NOT NULL ON CONFLICT REPLACE DEFAULT ({})", fill);
          }
          conv_cols_sql += fmt::format("{}{} {}", conv_cols_sql.empty() ? "" : ", ",
                                       QuoteIdent(name), conv_type);
          live_cols_sql += (live_cols_sql.empty() ? "" : ", ") + QuoteIdent(name);
          backup_cols_sql += (backup_cols_sql.empty() ? "" : ", ") + QuoteIdent(bname);
        }
      }
      const bool by_rowid = !live.without_rowid && !it->without_rowid && rowids_kept;
      auto key_of = [&](const std::string& cols) {
        return by_rowid ? (cols.empty() ? std::string("_rowid_") : "_rowid_, " + cols) : cols;
      };
      std::string live_key = key_of(live_cols_sql), backup_key = key_of(backup_cols_sql);
      const std::string live_t = QualifiedName("live", live.name);
      std::string backup_t = QualifiedName("main", it->name);
      if (convert) {
        AM_RETURN_IF_ERROR(Exec(img, "DROP TABLE IF EXISTS temp._automigrate_converted"));
        AM_RETURN_IF_ERROR(Exec(
            img, fmt::format("CREATE TEMP TABLE _automigrate_converted ({}{})",
                             by_rowid ? "_am_rowid INTEGER, " : "", conv_cols_sql)));
        AM_RETURN_IF_ERROR(Exec(img, fmt::format("INSERT INTO temp._automigrate_converted "
                                                 "SELECT {} FROM {}",
                                                 backup_key, backup_t)));
        backup_t = "temp._automigrate_converted";
        backup_key = key_of(live_cols_sql);
        if (by_rowid) backup_key = "_am_rowid" + backup_key.substr(std::string("_rowid_").size());
      }
      if (live_key.empty()) {
        AM_ASSIGN_OR_RETURN(int64_t nl, QueryInt(img, "SELECT count(*) FROM " + live_t));
        AM_ASSIGN_OR_RETURN(int64_t nb, QueryInt(img, "SELECT count(*) FROM " + backup_t));
        d.rows_added_or_changed = std::max<int64_t>(0, nl - nb);
        d.rows_removed = std::max<int64_t>(0, nb - nl);
      } else {
        AM_ASSIGN_OR_RETURN(
            d.rows_added_or_changed,
            QueryInt(img, fmt::format("SELECT count(*) FROM (SELECT {} FROM {} EXCEPT SELECT "
                                      "{} FROM {})",
                                      live_key, live_t, backup_key, backup_t)));
        AM_ASSIGN_OR_RETURN(
            d.rows_removed,
            QueryInt(img, fmt::format("SELECT count(*) FROM (SELECT {} FROM {} EXCEPT SELECT "
                                      "{} FROM {})",
                                      by_rowid ? (convert ? "_am_rowid" : "_rowid_") : backup_key,
                                      backup_t, by_rowid ? "_rowid_" : live_key, live_t)));
      }
      if (convert) AM_RETURN_IF_ERROR(Exec(img, "DROP TABLE temp._automigrate_converted"));
    }
    if (d.rows_added_or_changed > 0 || d.rows_removed > 0) out.push_back(std::move(d));
  }
  return out;
}

// Replaces img's extension tables with the live database's, so a restore
// keeps the audit trail written after the backup was taken.
Status CopyAuditTrail(sqlite3* img) {
  for (const char* t : kAuditTables)
    AM_RETURN_IF_ERROR(Exec(img, fmt::format("DROP TABLE IF EXISTS main.{}", t)));
  AM_RETURN_IF_ERROR(EnsureHistoryTables(img, "main"));
  for (const char* t : kAuditTables) {
    AM_ASSIGN_OR_RETURN(bool live_has, TableExists(img, "live", t));
    if (!live_has) continue;
    AM_ASSIGN_OR_RETURN(auto live_cols, PlainColumns(img, "live", t));
    AM_ASSIGN_OR_RETURN(auto img_cols, PlainColumns(img, "main", t));
    std::string cols;
    for (const auto& [name, type] : img_cols)
      for (const auto& [lname, ltype] : live_cols)
        if (name == lname) {
          if (!cols.empty()) cols += ", ";
          cols += QuoteIdent(name);
        }
    AM_RETURN_IF_ERROR(Exec(img, fmt::format("INSERT INTO main.{0} ({1}) SELECT {1} FROM live.{0}",
                                             t, cols)));
  }
  return Status::Ok();
}

// URI parameters to open the live database read-only through its own VFS.
std::string LiveQuery(sqlite3* db, std::string_view schema) {
  const char* vfs = VfsName(db, schema);
  return vfs ? fmt::format("mode=ro&vfs={}", FileUri(vfs).substr(5)) : std::string("mode=ro");
}

// The big-endian "file change counter" at offset 24 of the database header
// (every rollback-journal commit increments it), read through the VFS.
Result<uint32_t> FileChangeCounter(sqlite3* conn, const char* schema) {
  AM_ASSIGN_OR_RETURN(sqlite3_file * f, DatabaseFile(conn, schema));
  char b[4] = {0, 0, 0, 0};
  AM_RETURN_IF_ERROR(VfsReader(f)(b, sizeof b, 24));
  auto u = [&](int i) { return static_cast<uint32_t>(static_cast<unsigned char>(b[i])); };
  return u(0) << 24 | u(1) << 16 | u(2) << 8 | u(3);
}

std::string IsoDaysAgo(double days) {
  using namespace std::chrono;
  auto t = system_clock::now() - duration_cast<system_clock::duration>(duration<double>(days * 86400));
  std::time_t secs = system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.000Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

Result<int64_t> InsertBackup(sqlite3* db, std::string_view schema, const BackupRecord& r);
Result<int64_t> CleanupRecorded(sqlite3* db, std::string_view schema, int64_t keep_last,
                                std::optional<double> max_age_days);

}  // namespace

void BackupRecord::Fill(nlohmann::ordered_json& j) const {
  j = nlohmann::ordered_json::object();  // see core/json_scope.h
  j["id"] = id;
  j["path"] = path;
  j["bytes"] = bytes;
  j["checksum"] = checksum;
  j["created_at"] = created_at;
}

std::string BackupRecord::ToJson() const {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  JsonScope scope(j);  // no allocation in its destructor
  Fill(j);
  return j.dump();
}

std::string BackupRecord::SidecarJson() const {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  JsonScope scope(j);  // no allocation in its destructor
  j["format"] = kSidecarFormat;
  j["file"] = BaseName(path);
  j["bytes"] = bytes;
  j["checksum"] = checksum;
  j["algorithm"] = "XXH3-128";
  j["created_at"] = created_at;
  j["source"] = source;
  j["batch"] = batch ? nlohmann::ordered_json(*batch) : nlohmann::ordered_json(nullptr);
  j["schema_hash"] = schema_hash;
  j["method"] = method;
  j["sqlite_version"] = sqlite3_libversion();
  return j.dump(2) + "\n";
}

std::string VerifyReport::ToJson() const {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  JsonScope scope(j);  // no allocation in its destructor
  j["ok"] = ok;
  j["checksum_ok"] = checksum_ok;
  j["integrity_ok"] = integrity_ok ? nlohmann::ordered_json(*integrity_ok)
                                   : nlohmann::ordered_json(nullptr);
  j["reason"] = reason.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(reason);
  j["path"] = path;
  j["bytes"] = bytes;
  j["checksum"] = checksum.empty() ? nlohmann::ordered_json(nullptr)
                                   : nlohmann::ordered_json(checksum);
  return j.dump();
}

std::string Discarded::ToText() const {
  std::vector<std::string> parts;
  if (rows_added_or_changed > 0)
    parts.push_back(fmt::format("{} row{} added or changed", rows_added_or_changed,
                                rows_added_or_changed == 1 ? "" : "s"));
  if (rows_removed > 0)
    parts.push_back(
        fmt::format("{} row{} removed", rows_removed, rows_removed == 1 ? "" : "s"));
  std::string out = table + ": ";
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : "") + parts[i];
  if (!note.empty()) out += " (" + note + ")";
  return out;
}

bool IsMemoryDatabase(sqlite3* db, std::string_view schema) { return DbFile(db, schema).empty(); }

Result<std::string> DefaultBackupDir(sqlite3* db, std::string_view schema) {
  std::string file = DbFile(db, schema);
  if (file.empty())
    return Status::Error(fmt::format(
        "database \"{}\" is in memory or temporary, so it has no directory for backups; give "
        "backup_dir or a path",
        schema));
  return file + ".backups";
}

Result<BackupRecord> TakeBackup(sqlite3* db, const BackupRequest& r) {
  BackupRecord rec;
  rec.created_at = NowIso8601();
  rec.batch = r.batch;
  rec.source = DbFile(db, r.schema);
  const bool memory = rec.source.empty();

  std::string dir;
  if (r.path) {
    rec.path = AbsolutePath(*r.path);
    dir = DirName(rec.path);
    if (PathExists(rec.path))
      return Status(SQLITE_CANTOPEN, fmt::format("{} already exists; a backup never overwrites a "
                                                 "file, choose another path",
                                                 rec.path));
    struct stat st;
    if (::stat(dir.c_str(), &st) != 0)
      return Status(SQLITE_CANTOPEN, fmt::format("directory {} does not exist", dir));
    if (!S_ISDIR(st.st_mode))
      return Status(SQLITE_CANTOPEN, fmt::format("{} exists and is not a directory", dir));
  } else {
    if (r.dir) {
      dir = AbsolutePath(*r.dir);
    } else {
      AM_ASSIGN_OR_RETURN(dir, DefaultBackupDir(db, r.schema));
    }
    AM_RETURN_IF_ERROR(MakeDirectories(dir));
    rec.path = NewBackupName(dir, rec.source, rec.created_at, r.batch);
  }
  if (PathExists(rec.path + ".json"))
    return Status(SQLITE_CANTOPEN,
                  fmt::format("{}.json already exists; choose another path", rec.path));

  int mode = 0600;
  if (struct stat st; !memory && ::stat(rec.source.c_str(), &st) == 0) mode = st.st_mode & 0666;
  PartialFiles partial;
  // O_EXCL reserves the name: an existing file is never replaced.
  Result<FileDescriptor> out = OpenFile(rec.path, O_WRONLY | O_CREAT | O_EXCL, mode);
  if (!out.ok()) return out.status();
  partial.Add(rec.path);
  // Held on `out` until the sidecar is written: a file without a sidecar
  // and without this lock is what a killed writer left (RemoveOrphans).
  AM_RETURN_IF_ERROR(MarkWriting(*out, rec.path));
  if (!memory) RemoveDeadScratch(rec.source);
  RemovePartialBackups(dir, rec.source, rec.path);
  const int busy_ms = BusyTimeoutMs(db);

  DbPtr src;
  bool direct = false;
  bool src_locked = false;
  if (!memory) {
    AM_ASSIGN_OR_RETURN(src, OpenDb(rec.source, SQLITE_OPEN_READWRITE, VfsName(db, r.schema)));
    sqlite3_busy_timeout(src.get(), busy_ms);
    bool locked = r.lock_held;
    if (!locked) {
      // Hold the write lock for the copy, so the file cannot change under it.
      Status s = Exec(src.get(), "BEGIN IMMEDIATE");
      if (s.ok()) {
        locked = src_locked = true;
      } else if ((s.code() & 0xff) != SQLITE_BUSY && (s.code() & 0xff) != SQLITE_READONLY) {
        return s.WithPrefix("cannot lock the database");
      }
      // Busy (this connection's own transaction holds the lock, or another
      // writer does) or a read-only file: fall back to the backup API's read
      // snapshot.
    }
    if (locked) {
      AM_ASSIGN_OR_RETURN(std::string journal, QueryText(src.get(), "PRAGMA journal_mode"));
      direct = true;
      if (journal == "wal") {
        // The file holds the committed state only once every WAL frame is in
        // it. Under the write lock no frame can be added; a reader holding an
        // older snapshot can keep the checkpoint from finishing.
        AM_ASSIGN_OR_RETURN(DbPtr ckpt,
                            OpenDb(rec.source, SQLITE_OPEN_READWRITE, VfsName(db, r.schema)));
        // A fresh connection opens the WAL on its first read; before that a
        // checkpoint reports nothing (-1, -1).
        AM_RETURN_IF_ERROR(Exec(ckpt.get(), "SELECT count(*) FROM sqlite_schema"));
        int log = -1, done = -1;
        int rc = sqlite3_wal_checkpoint_v2(ckpt.get(), "main", SQLITE_CHECKPOINT_PASSIVE, &log,
                                           &done);
        direct = rc == SQLITE_OK && log >= 0 && log == done;
      }
    }
    if (direct) {
      AM_ASSIGN_OR_RETURN(sqlite3_file * file, DatabaseFile(src.get(), "main"));
      AM_ASSIGN_OR_RETURN(int64_t size, DatabaseFileSize(file));
      Result<CopyResult> copied = CopyAndHash(VfsReader(file), size, *out, rec.path, r.keep_going);
      if (!copied.ok()) return copied.status();
      rec.bytes = copied->bytes;
      rec.checksum = copied->checksum;
      rec.method = "copy";
      AM_ASSIGN_OR_RETURN(rec.schema_hash, SchemaHash(src.get(), "main"));
    } else if (src_locked) {
      // The backup API cannot read from a connection that holds a write
      // transaction: give the lock back and copy one read snapshot.
      (void)Exec(src.get(), "ROLLBACK");
      src_locked = false;
    }
  }
  if (!direct) {
    // `out` stays open (its lock marks the file as being written); SQLite
    // writes the copy through a descriptor of its own.
    AM_ASSIGN_OR_RETURN(DbPtr dst, OpenDb(rec.path, SQLITE_OPEN_READWRITE));
    // A crash mid-copy leaves a file without a sidecar, which never verifies:
    // no journal needed; the file is synced below.
    AM_RETURN_IF_ERROR(Exec(dst.get(), "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF"));
    Status s = memory ? RunBackupApi(dst.get(), db, r.schema, false, r.keep_going, busy_ms)
                      : RunBackupApi(dst.get(), src.get(), "main", r.lock_held, r.keep_going,
                                     busy_ms);
    if (!s.ok()) return s;
    AM_ASSIGN_OR_RETURN(rec.schema_hash, SchemaHash(dst.get(), "main"));
    dst.reset();
    AM_ASSIGN_OR_RETURN(FileDescriptor f, OpenFile(rec.path, O_RDWR));
    if (::fsync(f.get()) != 0) return Status(SQLITE_IOERR_FSYNC, "cannot sync " + rec.path);
    AM_ASSIGN_OR_RETURN(rec.checksum, FileChecksum(rec.path, &rec.bytes));
    rec.method = "backup_api";
  }
  if (src_locked) (void)Exec(src.get(), "ROLLBACK");
  src.reset();

  // The sidecar last: its presence says the copy is complete.
  partial.Add(rec.path + ".json");
  AM_RETURN_IF_ERROR(WriteNewFile(rec.path + ".json", rec.SidecarJson(), mode));
  AM_RETURN_IF_ERROR(out->Close());  // releases the writer's lock
  AM_RETURN_IF_ERROR(SyncDirectory(dir));
  rec.exists = true;
  partial.Keep();
  return rec;
}

Result<int64_t> RecordBackup(sqlite3* db, std::string_view schema, const BackupRecord& r) {
  // A savepoint: its own transaction in autocommit mode, nested in apply's.
  AM_RETURN_IF_ERROR(Exec(db, "SAVEPOINT automigrate_backup"));
  Result<int64_t> id = InsertBackup(db, schema, r);
  if (!id.ok()) {
    (void)Exec(db, "ROLLBACK TO automigrate_backup");
    (void)Exec(db, "RELEASE automigrate_backup");
    return id;
  }
  AM_RETURN_IF_ERROR(Exec(db, "RELEASE automigrate_backup"));
  return id;
}

namespace {
Result<int64_t> InsertBackup(sqlite3* db, std::string_view schema, const BackupRecord& r) {
  AM_RETURN_IF_ERROR(EnsureHistoryTables(db, schema));
  Stmt q;
  AM_RETURN_IF_ERROR(q.Prepare(
      db, fmt::format("INSERT INTO {} (path, bytes, checksum, created_at, batch, source, "
                      "schema_hash, method, verified_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
                      "?9)",
                      T(schema, kBackupsTable))));
  q.Bind(1, r.path);
  q.Bind(2, r.bytes);
  q.Bind(3, r.checksum);
  q.Bind(4, r.created_at);
  q.BindOpt(5, r.batch);
  q.Bind(6, r.source);
  q.Bind(7, r.schema_hash);
  q.Bind(8, r.method);
  q.BindOpt(9, r.verified_at);
  AM_RETURN_IF_ERROR(q.Run());
  return static_cast<int64_t>(sqlite3_last_insert_rowid(db));
}
}  // namespace

Result<std::vector<BackupRecord>> ReadBackups(sqlite3* db, std::string_view schema) {
  return SelectBackups(db, schema, "", {});
}

Result<std::optional<BackupRecord>> FindBackup(sqlite3* db, std::string_view schema, int64_t id) {
  AM_ASSIGN_OR_RETURN(auto rows,
                      SelectBackups(db, schema, "WHERE id = ?1", [&](Stmt& q) { q.Bind(1, id); }));
  if (rows.empty()) return std::optional<BackupRecord>();
  return std::optional<BackupRecord>(std::move(rows.front()));
}

Result<std::optional<BackupRecord>> FindBackupByPath(sqlite3* db, std::string_view schema,
                                                     std::string_view path) {
  std::string abs = AbsolutePath(path);
  AM_ASSIGN_OR_RETURN(auto rows, SelectBackups(db, schema, "WHERE path = ?1",
                                               [&](Stmt& q) { q.Bind(1, abs); }));
  if (rows.empty()) return std::optional<BackupRecord>();
  return std::optional<BackupRecord>(std::move(rows.back()));
}

VerifyReport VerifyBackup(const std::string& path_in, const std::optional<BackupRecord>& recorded) {
  VerifyReport v;
  v.path = AbsolutePath(path_in);
  auto read_failed = [&](const Status& s) {
    v.read_error = true;
    v.read_error_code = s.code();
    v.reason = ReadErrorText(v.path, s);
    return v;
  };
  if (!PathExists(v.path)) {
    v.reason = fmt::format("backup file {} does not exist", v.path);
    return v;
  }
  Result<BackupRecord> sidecar = ParseSidecar(v.path);
  if (!sidecar.ok()) {
    if (IsReadError(sidecar.status())) return read_failed(sidecar.status());
    v.reason = sidecar.status().message();
    return v;
  }
  v.sidecar = *sidecar;
  v.checksum = sidecar->checksum;
  v.bytes = sidecar->bytes;
  if (recorded && recorded->checksum != sidecar->checksum) {
    v.reason = fmt::format(
        "the sidecar's checksum {} differs from the one recorded in _automigrate_backups ({}): "
        "the sidecar was edited or belongs to another file",
        sidecar->checksum, recorded->checksum);
    return v;
  }
  int64_t bytes = 0;
  Result<std::string> actual = FileChecksum(v.path, &bytes);
  if (!actual.ok()) return read_failed(actual.status());
  if (bytes != sidecar->bytes) {
    v.reason = fmt::format("the file has {} bytes, the sidecar says {}", bytes, sidecar->bytes);
    return v;
  }
  if (*actual != sidecar->checksum) {
    v.reason = fmt::format("checksum mismatch: the file hashes to {}, the sidecar says {}",
                           *actual, sidecar->checksum);
    return v;
  }
  v.checksum_ok = true;
  // immutable: no lock, no -wal/-shm created beside the backup.
  Result<DbPtr> copy =
      OpenDb(FileUri(v.path, "immutable=1"), SQLITE_OPEN_READONLY | SQLITE_OPEN_URI);
  Result<IntegrityReport> check = copy.ok() ? RunIntegrityCheck(copy->get(), "main", false, 1)
                                            : Result<IntegrityReport>(copy.status());
  if (!check.ok() && IsReadError(check.status())) return read_failed(check.status());
  v.integrity_ok = check.ok() && check->ok();
  if (!*v.integrity_ok) {
    v.reason = fmt::format("integrity_check failed: {}",
                           check.ok() ? check->problems.front() : check.status().message());
    return v;
  }
  v.ok = true;
  return v;
}

Status MarkVerified(sqlite3* db, std::string_view schema, std::string_view path,
                    std::string_view when) {
  AM_ASSIGN_OR_RETURN(bool exists, TableExists(db, schema, kBackupsTable));
  if (!exists) return Status::Ok();
  Stmt q;
  AM_RETURN_IF_ERROR(q.Prepare(db, fmt::format("UPDATE {} SET verified_at = ?1 WHERE path = ?2",
                                               T(schema, kBackupsTable))));
  q.Bind(1, when);
  q.Bind(2, AbsolutePath(path));
  return q.Run();
}

Result<RestoreReport> RestoreBackup(sqlite3* db, const std::string& path_in,
                                    const RestoreRequest& rq) {
  const auto t0 = Clock::now();
  const std::string started_at = NowIso8601();
  const std::string& fn = rq.function;
  auto fail = [&](int code, std::string message) {
    return Status(code, fmt::format("{}: {}", fn, message));
  };
  if (!sqlite3_get_autocommit(db))
    return fail(SQLITE_ERROR,
                "cannot run inside a transaction: a restore replaces the whole database in a "
                "transaction of its own; COMMIT or ROLLBACK first");
  if (sqlite3_txn_state(db, rq.schema.c_str()) != SQLITE_TXN_NONE)
    return fail(SQLITE_ERROR,
                fmt::format("the statement that calls it reads \"{}\" (as SELECT ... FROM "
                            "migration_backups does), and a restore cannot replace a database "
                            "that statement is reading; call {} in a statement of its own, e.g. "
                            "SELECT {}(...)",
                            rq.schema, fn, fn));
  const std::string live = DbFile(db, rq.schema);
  if (live.empty())
    return fail(SQLITE_ERROR,
                fmt::format("database \"{}\" is in memory or temporary; a restore works on a "
                            "database file (for an in-memory database use the sqlite3 shell's "
                            ".restore or sqlite3_backup_init)",
                            rq.schema));
  RestoreReport report;
  report.path = AbsolutePath(path_in);
  std::optional<BackupRecord> recorded;
  if (Result<std::optional<BackupRecord>> f = FindBackupByPath(db, rq.schema, report.path);
      f.ok() && *f)
    recorded = **f;
  if (recorded) report.backup_id = recorded->id;

  // Verify while copying to a scratch file beside the database: what gets
  // restored is exactly the bytes that were checked.
  auto refuse = [&](std::string_view reason) {
    return fail(SQLITE_CORRUPT, fmt::format("{} failed verification: {}; nothing was changed",
                                            report.path, reason));
  };
  // A read error says nothing about the backup: it is not "failed
  // verification", and the same call may well succeed again.
  auto unreadable = [&](const Status& s) {
    return fail(s.code(), ReadErrorText(report.path, s) + "; nothing was changed");
  };
  if (!PathExists(report.path)) return refuse(fmt::format("backup file {} does not exist", report.path));
  Result<BackupRecord> sidecar = ParseSidecar(report.path);
  if (!sidecar.ok() && IsReadError(sidecar.status())) return unreadable(sidecar.status());
  if (!sidecar.ok()) return refuse(sidecar.status().message());
  if (recorded && recorded->checksum != sidecar->checksum)
    return refuse("the sidecar's checksum differs from the one recorded in _automigrate_backups");
  RemoveDeadScratch(live);
  const std::string scratch = ScratchName(live);
  PartialFiles cleanup;
  cleanup.Add(scratch);
  for (const char* suffix : kScratchSuffixes) cleanup.Add(scratch + suffix);
  auto scratch_failed = [&](const Status& s) {
    return fail(s.code(), fmt::format("cannot write the scratch copy beside the database: {}; "
                                      "nothing was changed",
                                      s.message()));
  };
  {
    Result<FileDescriptor> fd = OpenFile(scratch, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (!fd.ok()) return scratch_failed(fd.status());
    Result<FileDescriptor> in = OpenFile(report.path, O_RDONLY);
    if (!in.ok()) return unreadable(in.status());
    Result<int64_t> size = FileSize(report.path);
    if (!size.ok()) return unreadable(size.status());
    // Which side failed: a read of the backup, or a write of the scratch copy.
    Status read_status;
    ReadAt reader = [&, inner = FileReader(*in, report.path)](char* buf, size_t n,
                                                              int64_t offset) -> Status {
      read_status = inner(buf, n, offset);
      return read_status;
    };
    Result<CopyResult> copied = CopyAndHash(reader, *size, *fd, scratch);
    if (!copied.ok())
      return read_status.ok() ? scratch_failed(copied.status()) : unreadable(copied.status());
    if (copied->bytes != sidecar->bytes)
      return refuse(fmt::format("the file has {} bytes, the sidecar says {}", copied->bytes,
                                sidecar->bytes));
    if (copied->checksum != sidecar->checksum)
      return refuse(fmt::format("checksum mismatch: the file hashes to {}, the sidecar says {}",
                                copied->checksum, sidecar->checksum));
  }
  Result<DbPtr> opened = OpenDb(scratch, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI);
  if (!opened.ok()) return opened.status().WithPrefix(fn);
  sqlite3* img = opened->get();
  Result<IntegrityReport> integrity = RunIntegrityCheck(img, "main", false, 1);
  if (!integrity.ok() && IsReadError(integrity.status())) return unreadable(integrity.status());
  if (!integrity.ok() || !integrity->ok())
    return refuse(fmt::format("integrity_check failed: {}", integrity.ok()
                                                                ? integrity->problems.front()
                                                                : integrity.status().message()));
  // A backup of a WAL database says so in its header; the live database
  // keeps its own journal mode (the backup API sets WAL again if it has it).
  AM_RETURN_IF_ERROR(Exec(img, "PRAGMA journal_mode=DELETE; PRAGMA synchronous=OFF").WithPrefix(fn));

  // Prepare the image under one read transaction of the live database: the
  // comparison and the audit trail (the live database's extension tables,
  // plus the batch recording this restore) see one committed state.
  AM_RETURN_IF_ERROR(
      Exec(img, fmt::format("ATTACH {} AS live", QuoteLiteral(FileUri(live, LiveQuery(db, rq.schema)))))
          .WithPrefix(fn));
  int64_t data_version = -1;
  uint32_t change_counter = 0;
  bool wal = false;
  auto prepare = [&]() -> Status {
    AM_RETURN_IF_ERROR(Exec(img, "BEGIN"));
    AM_ASSIGN_OR_RETURN(std::string journal, QueryText(img, "PRAGMA live.journal_mode"));
    wal = journal == "wal";
    AM_ASSIGN_OR_RETURN(data_version, QueryInt(img, "PRAGMA live.data_version"));
    // Read while the live file is read-locked, so no commit is half-written.
    AM_ASSIGN_OR_RETURN(change_counter, FileChangeCounter(img, "live"));
    if (rq.reverts) {
      // Another connection may have rolled back or migrated meanwhile.
      AM_ASSIGN_OR_RETURN(
          int64_t latest,
          QueryInt(img, "SELECT max(batch) FROM live._automigrate_batches WHERE status = "
                        "'applied' AND reverts IS NULL"));
      if (latest != *rq.reverts)
        return Status::Error(fmt::format("the history changed (batch {} is no longer the latest "
                                         "applied batch); call {} again",
                                         *rq.reverts, fn));
    }
    AM_ASSIGN_OR_RETURN(std::string hash_before, SchemaHash(img, "live"));
    report.schema_changed_since =
        rq.expected_schema_hash && *rq.expected_schema_hash != hash_before;
    if (rq.compare) {
      AM_ASSIGN_OR_RETURN(report.discarded, CompareWithBackup(img, rq));
    }
    if ((report.schema_changed_since || !report.discarded.empty()) && !rq.force) {
      std::string what;
      if (report.schema_changed_since)
        what = "the schema changed after the batch (another migration or tool altered it)";
      for (const Discarded& d : report.discarded)
        what += (what.empty() ? "" : "; ") + d.ToText();
      return Status(SQLITE_ABORT,
                    fmt::format("restoring {} would discard what was written after the batch: "
                                "{}. Nothing was changed; pass {{\"force\": true}} to restore "
                                "anyway",
                                report.path, what));
    }
    AM_RETURN_IF_ERROR(CopyAuditTrail(img));
    AM_ASSIGN_OR_RETURN(int64_t version, CurrentVersion(img, "main"));
    AM_ASSIGN_OR_RETURN(report.batch, NextBatch(img, "main"));
    report.version = version + 1;
    if (rq.reverts) AM_RETURN_IF_ERROR(MarkRolledBack(img, "main", *rq.reverts));
    AM_RETURN_IF_ERROR(MarkVerified(img, "main", report.path, started_at));
    AM_ASSIGN_OR_RETURN(std::string hash_after, SchemaHash(img, "main"));
    BatchRecord batch;
    batch.batch = report.batch;
    batch.version = report.version;
    batch.status = "applied";
    batch.started_at = started_at;
    batch.steps = 1;
    batch.backup_id = report.backup_id;
    batch.reverts = rq.reverts;
    batch.plan_hash = TextHash("restore_backup " + sidecar->checksum);
    batch.schema_hash_before = hash_before;
    batch.schema_hash_after = hash_after;
    StepRecord step;
    step.step = 1;
    step.op = "restore_backup";
    step.object = report.path;
    step.sql = fmt::format("SELECT backup_restore({});", QuoteLiteral(report.path));
    step.status = "applied";
    step.schema_hash = hash_after;
    step.started_at = started_at;
    step.duration_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    batch.duration_ms = step.duration_ms;
    AM_RETURN_IF_ERROR(RecordBatch(img, "main", batch, {step}));
    return Exec(img, "COMMIT");
  };
  if (Status s = prepare(); !s.ok()) {
    (void)Exec(img, "ROLLBACK");
    return s.code() == SQLITE_ABORT ? s.WithPrefix(fn) : s.WithPrefix(fn + ": restore");
  }

  // The backup object takes the live database's write lock at its first
  // step and keeps it until the copy commits. Nothing may have committed
  // since the image was prepared: a rollback-journal commit bumps the file
  // change counter, a WAL commit the data_version other connections see.
  BackupPtr b(sqlite3_backup_init(db, rq.schema.c_str(), img, "main"));
  if (!b) return Status::FromDb(db).WithPrefix(fn);
  int rc = sqlite3_backup_step(b.get(), 0);
  if (rc != SQLITE_OK && rc != SQLITE_DONE) {
    b.reset();
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
      return fail(rc, fmt::format("database is locked: another connection holds the write lock "
                                  "(busy timeout {} ms); nothing was changed",
                                  BusyTimeoutMs(db)));
    return fail(rc, fmt::format("cannot lock the database: {}", sqlite3_errstr(rc)));
  }
  Result<bool> unchanged = [&]() -> Result<bool> {
    if (wal) {
      AM_ASSIGN_OR_RETURN(int64_t now, QueryInt(img, "PRAGMA live.data_version"));
      return now == data_version;
    }
    AM_ASSIGN_OR_RETURN(uint32_t now, FileChangeCounter(img, "live"));
    return now == change_counter;
  }();
  Status detached = Exec(img, "DETACH live");
  if (!unchanged.ok() || !*unchanged || !detached.ok()) {
    b.reset();
    return fail(SQLITE_BUSY, fmt::format("the database changed while the restore was being "
                                         "prepared{}; nothing was changed, call {} again",
                                         unchanged.ok() ? detached.ok() ? "" : ": " + detached.message()
                                                        : ": " + unchanged.status().message(),
                                         fn));
  }
  // Every page into the live database, committed as one transaction.
  // An error can come after the commit point (an I/O error while the
  // journal is cleaned up): what the database now holds decides what the
  // error says, read back the way any other connection would read it (a
  // hot journal is rolled back first).
  auto failed_copy = [&](int code, std::string_view what) -> Status {
    Result<int64_t> ours = QueryInt(
        db, fmt::format("SELECT count(*) FROM {} WHERE batch = {} AND started_at = {} AND "
                        "plan_hash = {}",
                        T(rq.schema, "_automigrate_batches"), report.batch,
                        QuoteLiteral(started_at),
                        QuoteLiteral(TextHash("restore_backup " + sidecar->checksum))));
    if (!ours.ok())
      return fail(code, fmt::format("{}: {}; whether the restore was committed is not known (reading "
                                    "it back failed: {}): SELECT * FROM migration_batches WHERE "
                                    "batch = {} shows it",
                                    what, sqlite3_errstr(code), ours.status().message(),
                                    report.batch));
    if (*ours > 0)
      return fail(code, fmt::format("the restore was committed (batch {}: the database is the "
                                    "backup's), but SQLite reported an error after the commit: "
                                    "{}: {}",
                                    report.batch, what, sqlite3_errstr(code)));
    return fail(code, fmt::format("{}: {}; it was rolled back, nothing was changed", what,
                                  sqlite3_errstr(code)));
  };
  const auto give_up = Clock::now() + std::chrono::milliseconds(BusyTimeoutMs(db));
  for (;;) {
    rc = sqlite3_backup_step(b.get(), -1);
    if (rc == SQLITE_DONE) break;
    if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && Clock::now() < give_up) {
      sqlite3_sleep(5);
      continue;
    }
    b.reset();
    return failed_copy(rc, "copying the backup into the database failed");
  }
  rc = sqlite3_backup_finish(b.release());
  if (rc != SQLITE_OK) return failed_copy(rc, "finishing the copy failed");
  report.duration_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  return report;
}

Result<std::vector<OrphanFile>> FindOrphans(sqlite3* db, std::string_view schema,
                                            const std::vector<std::string>& dirs_in,
                                            double min_age_seconds) {
  std::vector<OrphanFile> out;
  const std::string source = DbFile(db, schema);
  auto add = [&](const std::string& path, const char* kind) {
    OrphanFile f{path, kind, 0};
    if (Result<int64_t> size = FileSize(path); size.ok()) f.bytes = *size;
    out.push_back(std::move(f));
  };
  if (!source.empty())
    for (const std::string& p : DeadScratch(source)) add(p, "restore_scratch");
  AM_ASSIGN_OR_RETURN(std::vector<BackupRecord> records, ReadBackups(db, schema));
  std::set<std::string> recorded, dirs;
  for (const BackupRecord& r : records) {
    recorded.insert(AbsolutePath(r.path));
    dirs.insert(DirName(AbsolutePath(r.path)));
  }
  for (const std::string& d : dirs_in) dirs.insert(AbsolutePath(d));
  const std::string stem = source.empty() ? std::string("memory") : BaseName(source);
  for (const std::string& dir : dirs) {
    Result<std::vector<DirEntry>> entries = ListDirectory(dir);
    if (!entries.ok()) continue;  // missing or unreadable: nothing of ours there
    std::vector<std::string> names;
    for (const DirEntry& entry : *entries)
      if (entry.regular && IsBackupName(entry.name, stem)) names.push_back(entry.name);
    for (const std::string& name : names) {
      const std::string path = AbsolutePath(dir + "/" + name);
      if (recorded.count(path)) continue;
      if (!PathExists(path + ".json")) {
        Result<bool> busy = BeingWritten(path);
        if (busy.ok() && !*busy) add(path, "partial_backup");
        continue;
      }
      // Complete: this database's (its sidecar says so), and old enough
      // that no migration still running can be about to record it.
      if (source.empty()) continue;
      Result<double> age = FileAgeSeconds(path);
      if (!age.ok() || *age < min_age_seconds) continue;
      Result<BackupRecord> sidecar = ParseSidecar(path);
      if (sidecar.ok() && sidecar->source == source) add(path, "unrecorded_backup");
    }
  }
  return out;
}

Result<int64_t> CleanupBackups(sqlite3* db, std::string_view schema, int64_t keep_last,
                               std::optional<double> max_age_days,
                               std::optional<std::string> backup_dir) {
  AM_ASSIGN_OR_RETURN(int64_t removed, CleanupRecorded(db, schema, keep_last, max_age_days));
  std::vector<std::string> dirs;
  if (backup_dir) {
    dirs.push_back(*backup_dir);
  } else if (Result<std::string> d = DefaultBackupDir(db, schema); d.ok()) {
    dirs.push_back(*d);
  }
  // Under the write lock no migrate_apply is between taking its backup and
  // recording it. Without the lock (another writer, a read-only file, the
  // caller's transaction) only files whose writer is known to be gone go.
  Transaction lock(db, "automigrate_cleanup");
  const bool locked = !lock.nested() && lock.Begin().ok();
  const double min_age = std::max(kOrphanBackupAgeSeconds,
                                  max_age_days ? *max_age_days * 86400 : 0.0);
  AM_ASSIGN_OR_RETURN(std::vector<OrphanFile> orphans, FindOrphans(db, schema, dirs, min_age));
  for (const OrphanFile& f : orphans) {
    if (f.kind == "partial_backup") {
      AM_ASSIGN_OR_RETURN(bool gone, RemovePartialBackup(f.path));
      removed += gone ? 1 : 0;
      continue;
    }
    if (f.kind == "unrecorded_backup") {
      if (!locked) continue;
      AM_RETURN_IF_ERROR(RemoveFile(f.path));
      AM_RETURN_IF_ERROR(RemoveFile(f.path + ".json"));
    } else {
      AM_RETURN_IF_ERROR(RemoveFile(f.path));
    }
    ++removed;
  }
  return removed;
}

namespace {
Result<int64_t> CleanupRecorded(sqlite3* db, std::string_view schema, int64_t keep_last,
                                std::optional<double> max_age_days) {
  AM_ASSIGN_OR_RETURN(std::vector<BackupRecord> all, ReadBackups(db, schema));
  std::reverse(all.begin(), all.end());  // newest first
  std::set<int64_t> keep;
  // The backup migrate_rollback would need next is never removed.
  AM_ASSIGN_OR_RETURN(std::vector<BatchRecord> batches, ReadBatches(db, schema));
  for (auto it = batches.rbegin(); it != batches.rend(); ++it) {
    if (it->status != "applied" || it->reverts) continue;
    if (it->backup_id) keep.insert(*it->backup_id);
    break;
  }
  const std::string cutoff = max_age_days ? IsoDaysAgo(*max_age_days) : std::string();
  std::vector<int64_t> removed;
  Status failure;
  for (size_t i = 0; i < all.size(); ++i) {
    const BackupRecord& b = all[i];
    if (static_cast<int64_t>(i) < keep_last || keep.count(b.id)) continue;
    if (max_age_days && !(b.created_at < cutoff)) continue;
    failure = RemoveFile(b.path);
    if (failure.ok()) failure = RemoveFile(b.path + ".json");
    if (!failure.ok()) break;
    removed.push_back(b.id);
  }
  if (!removed.empty()) {
    Transaction tx(db, "automigrate_cleanup");
    AM_RETURN_IF_ERROR(tx.Begin());
    Stmt q;
    AM_RETURN_IF_ERROR(q.Prepare(db, fmt::format("DELETE FROM {} WHERE id = ?1",
                                                 T(schema, kBackupsTable))));
    for (int64_t id : removed) {
      q.Reset();
      q.Bind(1, id);
      AM_RETURN_IF_ERROR(q.Run());
    }
    AM_RETURN_IF_ERROR(tx.Commit(Deadline(db, 0, false)));
  }
  if (!failure.ok()) return failure;
  return static_cast<int64_t>(removed.size());
}
}  // namespace

}  // namespace automigrate
