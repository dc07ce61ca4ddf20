// core/txn.h -- the transaction machinery migrate_apply and migrate_rollback
// share: foreign keys switched off around a migration, a time limit that
// interrupts the statement overrunning it, and BEGIN IMMEDIATE / SAVEPOINT.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>

#include "core/sqlite_api.h"
#include "core/sqlite_handle.h"
#include "core/status.h"

namespace automigrate {

using Clock = std::chrono::steady_clock;

// Restores PRAGMA foreign_keys on every exit path (it must be switched
// outside a transaction, so after COMMIT/ROLLBACK).
class ForeignKeysOff {
 public:
  ForeignKeysOff() = default;
  ForeignKeysOff(const ForeignKeysOff&) = delete;
  ForeignKeysOff& operator=(const ForeignKeysOff&) = delete;
  Status Enable(sqlite3* db) {
    db_ = db;
    AM_RETURN_IF_ERROR(Exec(db, "PRAGMA foreign_keys=OFF"));
    active_ = true;
    return Status::Ok();
  }
  void Restore() noexcept {
    if (active_ && sqlite3_get_autocommit(db_)) {
      (void)Exec(db_, "PRAGMA foreign_keys=ON");
      active_ = false;
    }
  }
  bool active() const { return active_; }
  ~ForeignKeysOff() { Restore(); }

 private:
  sqlite3* db_ = nullptr;
  bool active_ = false;
};

// The progress handler that enforces max_execution_time_ms. Removed on every
// exit path (SQLite keeps one handler per connection).
//
// Inside the caller's transaction no statement is interrupted: SQLite rolls
// back the whole transaction when a write statement is interrupted, which
// would discard the caller's own work. There the limit is checked between
// steps only.
class Deadline {
 public:
  // A host built with SQLITE_OMIT_PROGRESS_CALLBACK (better-sqlite3 is) hands
  // the extension a null progress_handler: there, as inside the caller's
  // transaction, the limit is checked between steps only.
  static bool ProgressHandlerAvailable() noexcept {
#ifdef AUTOMIGRATE_LOADABLE
    return sqlite3_api->progress_handler != nullptr;
#else
    return true;
#endif
  }

  Deadline(sqlite3* db, int64_t limit_ms, bool interrupt) : db_(db) {
    if (limit_ms <= 0) return;
    limited_ = true;
    end_ = Clock::now() + std::chrono::milliseconds(limit_ms);
    if (!interrupt || !ProgressHandlerAvailable()) return;
    sqlite3_progress_handler(db_, 1000, &Deadline::Check, this);
    installed_ = true;
  }
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;
  ~Deadline() { Remove(); }
  void Remove() noexcept {
    if (installed_) sqlite3_progress_handler(db_, 0, nullptr, nullptr);
    installed_ = false;
  }
  // No limit counts as expired: nothing retries beyond the busy timeout.
  bool Expired() const { return !limited_ || Clock::now() >= end_; }
  bool fired() const { return fired_; }
  void MarkFired() { fired_ = true; }

 private:
  static int Check(void* self) noexcept {
    auto* d = static_cast<Deadline*>(self);
    if (Clock::now() < d->end_) return 0;
    d->fired_ = true;
    return 1;
  }
  sqlite3* db_;
  Clock::time_point end_{};
  bool limited_ = false;
  bool installed_ = false;
  bool fired_ = false;
};

// BEGIN IMMEDIATE in autocommit mode (takes the write lock now, waiting as
// long as the connection's busy timeout allows); a SAVEPOINT inside the
// caller's transaction, which stays open whatever happens here.
class Transaction {
 public:
  explicit Transaction(sqlite3* db, std::string name = "automigrate_apply")
      : db_(db),
        savepoint_("SAVEPOINT " + name),
        release_("RELEASE " + name),
        rollback_to_("ROLLBACK TO " + name),
        nested_(!sqlite3_get_autocommit(db)) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction() { Rollback(); }

  Status Begin() {
    Status s = Exec(db_, nested_ ? savepoint_ : std::string_view("BEGIN IMMEDIATE"));
    if (!s.ok()) return s;
    open_ = true;
    return s;
  }
  // COMMIT waits for readers to leave (rollback-journal mode) until `deadline`.
  Status Commit(const Deadline& deadline) {
    if (nested_) {
      AM_RETURN_IF_ERROR(Exec(db_, release_));
      open_ = false;
      return Status::Ok();
    }
    for (;;) {
      Status s = Exec(db_, "COMMIT");
      if (s.ok()) {
        open_ = false;
        return s;
      }
      if ((s.code() & 0xff) != SQLITE_BUSY || deadline.Expired()) return s;
      sqlite3_sleep(2);
    }
  }
  void Rollback() noexcept {
    if (!open_) return;
    open_ = false;
    if (nested_) {
      (void)Exec(db_, rollback_to_);
      (void)Exec(db_, release_);
    } else if (!sqlite3_get_autocommit(db_)) {
      // An interrupt may already have rolled the transaction back.
      (void)Exec(db_, "ROLLBACK");
    }
  }
  bool nested() const { return nested_; }

 private:
  sqlite3* db_;
  // Built up front: Rollback() runs in destructors and must not allocate.
  std::string savepoint_, release_, rollback_to_;
  bool nested_;
  bool open_ = false;
};

}  // namespace automigrate
