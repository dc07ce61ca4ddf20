// bindings/go/automigrate_test.go -- sqlite-automigrate from Go, through
// database/sql and github.com/mattn/go-sqlite3 (Debian's
// golang-github-mattn-go-sqlite3-dev, linked against the system libsqlite3).
//
// Run by ctest (bindings/go/CMakeLists.txt), which sets AUTOMIGRATE_EXTENSION
// to the built extension. By hand:
//
//	AUTOMIGRATE_EXTENSION=$PWD/build/automigrate GO111MODULE=off \
//	  GOPATH=/usr/share/gocode go test -tags libsqlite3 ./bindings/go
package automigrate

import (
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	sqlite3 "github.com/mattn/go-sqlite3"
)

const seedSQL = `
CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT);
INSERT INTO users(name) VALUES ('ada'), ('grace'), (NULL);
`

// users.name becomes NOT NULL with a DEFAULT (a rebuild: the NULL takes the
// default), users gains a column and an index, posts is new.
const desiredSQL = `
CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT 'anon', email TEXT);
CREATE INDEX users_email ON users(email);
CREATE TABLE posts(id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id), body TEXT);
`

var registerOnce sync.Once

// openDB opens path through a driver whose every connection has the extension
// loaded: database/sql pools connections, so loading it once on one
// connection is not enough.
func openDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	extension := os.Getenv("AUTOMIGRATE_EXTENSION")
	if extension == "" {
		t.Fatal("AUTOMIGRATE_EXTENSION is not set (path of the built automigrate.so)")
	}
	registerOnce.Do(func() {
		sql.Register("sqlite3_automigrate", &sqlite3.SQLiteDriver{
			ConnectHook: func(conn *sqlite3.SQLiteConn) error {
				return conn.LoadExtension(extension, "sqlite3_automigrate_init")
			},
		})
	})
	db, err := sql.Open("sqlite3_automigrate", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

type applyResult struct {
	OK      bool   `json:"ok"`
	Batch   *int64 `json:"batch"`
	Version int64  `json:"version"`
	Steps   int64  `json:"steps"`
	DryRun  bool   `json:"dry_run"`
	Backup  *struct {
		ID       int64  `json:"id"`
		Path     string `json:"path"`
		Checksum string `json:"checksum"`
	} `json:"backup"`
}

func apply(t *testing.T, db *sql.DB, desired string) applyResult {
	t.Helper()
	var text string
	if err := db.QueryRow("SELECT migrate_apply(?)", desired).Scan(&text); err != nil {
		t.Fatalf("migrate_apply: %v", err)
	}
	var result applyResult
	if err := json.Unmarshal([]byte(text), &result); err != nil {
		t.Fatalf("migrate_apply returned %q: %v", text, err)
	}
	return result
}

func TestApplyMigratesFileDatabaseAndKeepsRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.db")
	db := openDB(t, path)
	if _, err := db.Exec(seedSQL); err != nil {
		t.Fatal(err)
	}

	var version string
	if err := db.QueryRow("SELECT automigrate_version()").Scan(&version); err != nil {
		t.Fatalf("extension not loaded: %v", err)
	}

	var statusText string
	if err := db.QueryRow("SELECT migrate_status(?)", desiredSQL).Scan(&statusText); err != nil {
		t.Fatal(err)
	}
	var status struct {
		MigrationNeeded bool   `json:"migration_needed"`
		Steps           int    `json:"steps"`
		Complexity      string `json:"complexity"`
		Destructive     bool   `json:"destructive"`
	}
	if err := json.Unmarshal([]byte(statusText), &status); err != nil {
		t.Fatalf("migrate_status returned %q: %v", statusText, err)
	}
	if !status.MigrationNeeded || status.Steps != 2 || status.Destructive {
		t.Fatalf("migrate_status = %s, want a 2-step non-destructive migration", statusText)
	}

	result := apply(t, db, desiredSQL)
	if !result.OK || result.Batch == nil || *result.Batch != 1 || result.Steps != 2 || result.DryRun {
		t.Fatalf("migrate_apply = %+v, want batch 1 with 2 steps", result)
	}
	// A rebuild takes a backup (backup "auto"), beside the database file.
	if result.Backup == nil || filepath.Dir(result.Backup.Path) != path+".backups" {
		t.Fatalf("migrate_apply backup = %+v, want one in %s.backups", result.Backup, path)
	}
	if _, err := os.Stat(result.Backup.Path); err != nil {
		t.Fatalf("backup file: %v", err)
	}

	rows, err := db.Query(`SELECT batch, step, op, object, status, backup_id
	                       FROM migration_history ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	type historyRow struct {
		batch, step      int64
		op, object, stat string
		backupID         sql.NullInt64
	}
	var history []historyRow
	for rows.Next() {
		var r historyRow
		if err := rows.Scan(&r.batch, &r.step, &r.op, &r.object, &r.stat, &r.backupID); err != nil {
			t.Fatal(err)
		}
		history = append(history, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []historyRow{
		{1, 1, "create_table", "posts", "applied", sql.NullInt64{Int64: result.Backup.ID, Valid: true}},
		{1, 2, "rebuild_table", "users", "applied", sql.NullInt64{Int64: result.Backup.ID, Valid: true}},
	}
	if len(history) != len(want) {
		t.Fatalf("migration_history has %d rows %+v, want %+v", len(history), history, want)
	}
	for i := range want {
		if history[i] != want[i] {
			t.Errorf("migration_history row %d = %+v, want %+v", i+1, history[i], want[i])
		}
	}

	// The rows survived the rebuild; the NULL name took the DEFAULT.
	names := map[int64]string{}
	userRows, err := db.Query("SELECT id, name, email FROM users ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer userRows.Close()
	for userRows.Next() {
		var id int64
		var name string
		var email sql.NullString
		if err := userRows.Scan(&id, &name, &email); err != nil {
			t.Fatal(err)
		}
		if email.Valid {
			t.Errorf("users %d: email = %q, want NULL", id, email.String)
		}
		names[id] = name
	}
	if err := userRows.Err(); err != nil {
		t.Fatal(err)
	}
	wantNames := map[int64]string{1: "ada", 2: "grace", 3: "anon"}
	if len(names) != len(wantNames) {
		t.Fatalf("users = %v, want %v", names, wantNames)
	}
	for id, name := range wantNames {
		if names[id] != name {
			t.Errorf("users %d: name = %q, want %q", id, names[id], name)
		}
	}

	// The new schema is usable, and a second apply has nothing to do.
	if _, err := db.Exec("INSERT INTO posts(user_id, body) VALUES (1, 'hello')"); err != nil {
		t.Fatal(err)
	}
	again := apply(t, db, desiredSQL)
	if !again.OK || again.Batch != nil || again.Steps != 0 || again.Version != 1 {
		t.Fatalf("second migrate_apply = %+v, want no batch at version 1", again)
	}
}

func TestRefusedMigrationIsAnErrorAndChangesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.db")
	db := openDB(t, path)
	if _, err := db.Exec(seedSQL); err != nil {
		t.Fatal(err)
	}
	// Dropping the users table loses rows: refused without allow_destructive.
	_, err := db.Exec("SELECT migrate_apply(?)", "CREATE TABLE posts(id INTEGER PRIMARY KEY);")
	if err == nil {
		t.Fatal("migrate_apply of a destructive plan succeeded, want an error")
	}
	var sqliteErr sqlite3.Error
	if !errors.As(err, &sqliteErr) {
		t.Fatalf("error %v (%T) is not a sqlite3.Error", err, err)
	}
	// The refusal names what would be lost.
	if msg := err.Error(); !strings.Contains(msg, "migrate_apply: the plan loses data: table users (3 rows)") {
		t.Errorf("refusal %q does not name the users table and its rows", msg)
	}
	var count int
	if err := db.QueryRow("SELECT count(*) FROM users").Scan(&count); err != nil {
		t.Fatalf("users after a refused migration: %v", err)
	}
	if count != 3 {
		t.Errorf("users has %d rows after a refused migration, want 3", count)
	}
	var batches int
	if err := db.QueryRow("SELECT count(*) FROM migration_batches").Scan(&batches); err != nil {
		t.Fatal(err)
	}
	if batches != 0 {
		t.Errorf("migration_batches has %d rows after a refusal, want 0", batches)
	}
}
