// tests/reliability/faults/fault_vfs.h -- a shim VFS over the default (unix)
// one that, when armed, fails the Nth xRead, xWrite, xSync, xTruncate or
// xLock with the matching SQLITE_IOERR_* code, or returns SQLITE_FULL on the
// Nth xWrite. One shot: the calls after the failing one succeed again, so
// SQLite's own rollback and the extension's error paths run on a working
// disk. Counts every file the process opens through it (database, journal,
// WAL, temporary files, the backup copies the extension writes through
// SQLite).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <cstring>

namespace automigrate::reliability {

enum class FaultKind { kNone, kRead, kWrite, kSync, kTruncate, kLock, kFull };
inline constexpr FaultKind kFaultKinds[] = {FaultKind::kRead,     FaultKind::kWrite,
                                            FaultKind::kSync,     FaultKind::kTruncate,
                                            FaultKind::kLock,     FaultKind::kFull};

inline const char* FaultName(FaultKind k) {
  switch (k) {
    case FaultKind::kRead: return "read";
    case FaultKind::kWrite: return "write";
    case FaultKind::kSync: return "sync";
    case FaultKind::kTruncate: return "truncate";
    case FaultKind::kLock: return "lock";
    case FaultKind::kFull: return "full";
    default: return "none";
  }
}

struct FaultState {
  FaultKind kind = FaultKind::kNone;
  int64_t target = 0;  // fail the target-th call of `kind` (1-based); 0: never
  int64_t calls = 0;   // calls of `kind` seen since Arm
  bool hit = false;
};
inline FaultState g_fault;

inline void ArmFault(FaultKind kind, int64_t n) { g_fault = FaultState{kind, n, 0, false}; }
inline FaultState DisarmFault() {
  FaultState s = g_fault;
  g_fault = FaultState{};
  return s;
}

namespace fault_vfs_detail {

struct ShimFile {
  sqlite3_file base;
  sqlite3_file* real;  // follows this struct in the same allocation
};

inline sqlite3_vfs* g_real = nullptr;

// True when this call of `kind` is the one to fail.
inline bool Tick(FaultKind kind) {
  FaultKind counted = kind == FaultKind::kFull ? FaultKind::kWrite : kind;
  FaultKind armed = g_fault.kind == FaultKind::kFull ? FaultKind::kWrite : g_fault.kind;
  if (g_fault.kind == FaultKind::kNone || armed != counted) return false;
  if (++g_fault.calls != g_fault.target) return false;
  g_fault.hit = true;
  return true;
}

inline sqlite3_file* Real(sqlite3_file* f) { return reinterpret_cast<ShimFile*>(f)->real; }

inline int Close(sqlite3_file* f) {
  sqlite3_file* r = Real(f);
  int rc = r->pMethods ? r->pMethods->xClose(r) : SQLITE_OK;
  return rc;
}
inline int Read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  if (Tick(FaultKind::kRead)) return SQLITE_IOERR_READ;
  return Real(f)->pMethods->xRead(Real(f), buf, n, off);
}
inline int Write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  if (Tick(FaultKind::kWrite)) return g_fault.kind == FaultKind::kFull ? SQLITE_FULL : SQLITE_IOERR_WRITE;
  return Real(f)->pMethods->xWrite(Real(f), buf, n, off);
}
inline int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  if (Tick(FaultKind::kTruncate)) return SQLITE_IOERR_TRUNCATE;
  return Real(f)->pMethods->xTruncate(Real(f), size);
}
inline int Sync(sqlite3_file* f, int flags) {
  if (Tick(FaultKind::kSync)) return SQLITE_IOERR_FSYNC;
  return Real(f)->pMethods->xSync(Real(f), flags);
}
inline int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  return Real(f)->pMethods->xFileSize(Real(f), size);
}
inline int Lock(sqlite3_file* f, int level) {
  if (Tick(FaultKind::kLock)) return SQLITE_IOERR_LOCK;
  return Real(f)->pMethods->xLock(Real(f), level);
}
inline int Unlock(sqlite3_file* f, int level) { return Real(f)->pMethods->xUnlock(Real(f), level); }
inline int CheckReservedLock(sqlite3_file* f, int* out) {
  return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
}
inline int FileControl(sqlite3_file* f, int op, void* arg) {
  int rc = Real(f)->pMethods->xFileControl(Real(f), op, arg);
  // SQLITE_FCNTL_VFSNAME: say the shim is in the way.
  if (op == SQLITE_FCNTL_VFSNAME && rc == SQLITE_OK) {
    char** name = static_cast<char**>(arg);
    char* wrapped = sqlite3_mprintf("faultshim/%z", *name);
    *name = wrapped;
  }
  return rc;
}
inline int SectorSize(sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); }
inline int DeviceCharacteristics(sqlite3_file* f) {
  return Real(f)->pMethods->xDeviceCharacteristics(Real(f));
}
inline int ShmMap(sqlite3_file* f, int pg, int sz, int extend, void volatile** pp) {
  return Real(f)->pMethods->xShmMap(Real(f), pg, sz, extend, pp);
}
inline int ShmLock(sqlite3_file* f, int off, int n, int flags) {
  return Real(f)->pMethods->xShmLock(Real(f), off, n, flags);
}
inline void ShmBarrier(sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); }
inline int ShmUnmap(sqlite3_file* f, int del) { return Real(f)->pMethods->xShmUnmap(Real(f), del); }
// No memory-mapped pages: every read goes through xRead, where faults are.
inline int Fetch(sqlite3_file*, sqlite3_int64, int, void** pp) {
  *pp = nullptr;
  return SQLITE_OK;
}
inline int Unfetch(sqlite3_file*, sqlite3_int64, void*) { return SQLITE_OK; }

inline const sqlite3_io_methods kMethods = {
    3,        Close,     Read,       Write,       Truncate,    Sync,
    FileSize, Lock,      Unlock,     CheckReservedLock,        FileControl,
    SectorSize, DeviceCharacteristics, ShmMap,    ShmLock,     ShmBarrier,
    ShmUnmap, Fetch,     Unfetch};

inline int Open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  ShimFile* s = reinterpret_cast<ShimFile*>(f);
  s->real = reinterpret_cast<sqlite3_file*>(s + 1);
  std::memset(s->real, 0, g_real->szOsFile);
  int rc = g_real->xOpen(g_real, name, s->real, flags, out_flags);
  // Every method of the real file must exist: the unix VFS gives version 3.
  f->pMethods = s->real->pMethods ? &kMethods : nullptr;
  return rc;
}

inline sqlite3_vfs g_shim;

}  // namespace fault_vfs_detail

inline constexpr const char* kFaultVfsName = "faultshim";

// Registers "faultshim" over the current default VFS; as the new default
// when `make_default` (so every connection the extension opens itself goes
// through it too).
inline int RegisterFaultVfs(bool make_default) {
  using namespace fault_vfs_detail;
  g_real = sqlite3_vfs_find(nullptr);
  if (!g_real) return SQLITE_ERROR;
  g_shim = *g_real;
  g_shim.pNext = nullptr;
  g_shim.zName = kFaultVfsName;
  g_shim.szOsFile = static_cast<int>(sizeof(ShimFile)) + g_real->szOsFile;
  g_shim.xOpen = Open;
  return sqlite3_vfs_register(&g_shim, make_default ? 1 : 0);
}

// The VFS under the shim ("unix").
inline const char* RealVfsName() { return fault_vfs_detail::g_real->zName; }

}  // namespace automigrate::reliability
