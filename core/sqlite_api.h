// core/sqlite_api.h -- the one place core/ includes SQLite.
//
// core/ is compiled twice: for the loadable extension (AUTOMIGRATE_LOADABLE),
// where every sqlite3_* call goes through the sqlite3_api table the host hands
// to sqlite3_automigrate_init (defined by SQLITE_EXTENSION_INIT1 in
// ext/extension.cc), and for the tests, linked against libsqlite3.
#pragma once

#ifdef AUTOMIGRATE_LOADABLE
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT3
#else
#include <sqlite3.h>
#endif
