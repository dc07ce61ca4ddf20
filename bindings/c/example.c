/* bindings/c/example.c -- using sqlite-automigrate from a C program.
**
** Usage: example EXTENSION DATABASE SCHEMA_FILE
**   EXTENSION    path of the built extension (build/automigrate.so; the
**                suffix may be left out, as with the shell's .load)
**   DATABASE     the database file to migrate
**   SCHEMA_FILE  the desired schema: plain CREATE statements
**
** Loads the extension into a connection of its own, migrates DATABASE to the
** schema in SCHEMA_FILE with migrate_apply(), prints the JSON result, then
** every row of migration_history. Exits 1 on any error, with SQLite's message
** on stderr: a refused migration (destructive steps, a failed data pre-check)
** is an SQL error like any other, and nothing has been changed.
*/
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

/* Reads the whole of `path` into a NUL-terminated buffer the caller frees. */
static char *ReadFile(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  char *text = NULL;
  long size = -1;
  if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
  if (size >= 0 && fseek(f, 0, SEEK_SET) == 0) {
    text = malloc((size_t)size + 1);
    if (text != NULL) {
      if (fread(text, 1, (size_t)size, f) == (size_t)size) {
        text[size] = '\0';
      } else {
        free(text);
        text = NULL;
      }
    }
  }
  fclose(f);
  return text;
}

/* SELECT migrate_apply(?1): binds the schema text, prints the JSON result. */
static int ApplySchema(sqlite3 *db, const char *desired) {
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2(db, "SELECT migrate_apply(?1)", -1, &stmt, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_bind_text(stmt, 1, desired, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
      printf("migrate_apply: %s\n", (const char *)sqlite3_column_text(stmt, 0));
      rc = SQLITE_OK;
    }
  }
  if (rc != SQLITE_OK) fprintf(stderr, "migrate_apply failed: %s\n", sqlite3_errmsg(db));
  sqlite3_finalize(stmt);
  return rc;
}

/* Prints one line per step of every batch, oldest first. */
static int PrintHistory(sqlite3 *db) {
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2(db,
                              "SELECT batch, step, version, op, object, status, started_at,"
                              " duration_ms, rollback_sql IS NOT NULL, backup_id"
                              " FROM migration_history ORDER BY id",
                              -1, &stmt, NULL);
  while (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    printf("history: batch=%d step=%d version=%d op=%s object=%s status=%s started_at=%s"
           " duration_ms=%.3f rollback_sql=%s backup_id=%s\n",
           sqlite3_column_int(stmt, 0), sqlite3_column_int(stmt, 1),
           sqlite3_column_int(stmt, 2), (const char *)sqlite3_column_text(stmt, 3),
           (const char *)sqlite3_column_text(stmt, 4),
           (const char *)sqlite3_column_text(stmt, 5),
           (const char *)sqlite3_column_text(stmt, 6), sqlite3_column_double(stmt, 7),
           sqlite3_column_int(stmt, 8) ? "yes" : "no",
           sqlite3_column_type(stmt, 9) == SQLITE_NULL
               ? "NULL"
               : (const char *)sqlite3_column_text(stmt, 9));
    rc = SQLITE_OK;
  }
  if (rc == SQLITE_DONE) rc = SQLITE_OK;
  if (rc != SQLITE_OK) fprintf(stderr, "migration_history failed: %s\n", sqlite3_errmsg(db));
  sqlite3_finalize(stmt);
  return rc;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s EXTENSION DATABASE SCHEMA_FILE\n", argv[0]);
    return 2;
  }
  char *desired = ReadFile(argv[3]);
  if (desired == NULL) {
    perror(argv[3]);
    return 1;
  }

  sqlite3 *db = NULL;
  char *error = NULL;
  int rc = sqlite3_open_v2(argv[2], &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
  if (rc != SQLITE_OK) {
    fprintf(stderr, "open %s: %s\n", argv[2], db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  }
  /* Extension loading is off by default; this enables the C API only
  ** (SQL's load_extension() stays off). */
  if (rc == SQLITE_OK) {
    rc = sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 1, (int *)NULL);
  }
  /* NULL entry point: SQLite derives sqlite3_automigrate_init from the name. */
  if (rc == SQLITE_OK) {
    rc = sqlite3_load_extension(db, argv[1], NULL, &error);
    if (rc != SQLITE_OK) fprintf(stderr, "load %s: %s\n", argv[1], error ? error : "?");
    sqlite3_free(error);
  }
  if (rc == SQLITE_OK) rc = ApplySchema(db, desired);
  if (rc == SQLITE_OK) rc = PrintHistory(db);

  if (sqlite3_close(db) != SQLITE_OK) rc = SQLITE_ERROR;
  free(desired);
  return rc == SQLITE_OK ? 0 : 1;
}
