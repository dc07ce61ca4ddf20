# backup: into <database>.backups/ by default, or to a path; never over a file
$ sqlite3 app.db < v1.sql && sqlite3 app.db < seed.sql
$ automigrate backup app.db
backup 1: <dir>/app.db.backups/app.db-YYYYMMDDTHHMMSS.sssZ.db
  <n> bytes, xxh128 <checksum>, YYYY-MM-DDTHH:MM:SS.sssZ
$ automigrate backup app.db copy.db
backup 2: <dir>/copy.db
  <n> bytes, xxh128 <checksum>, YYYY-MM-DDTHH:MM:SS.sssZ
$ automigrate backup app.db copy.db
[stderr] automigrate: backup_create: <dir>/copy.db already exists; a backup never overwrites a file, choose another path
[exit 2]
$ automigrate backup app.db copy2.db --json
{"id":3,"path":"<dir>/copy2.db","bytes":<n>,"checksum":"<checksum>","created_at":"YYYY-MM-DDTHH:MM:SS.sssZ"}
$ sqlite3 copy.db 'SELECT count(*) FROM users'
3
$ cat copy.db.json
{
  "format": "sqlite-automigrate-backup/1",
  "file": "copy.db",
  "bytes": <n>,
  "checksum": "<checksum>",
  "algorithm": "XXH3-128",
  "created_at": "YYYY-MM-DDTHH:MM:SS.sssZ",
  "source": "<dir>/app.db",
  "batch": null,
  "schema_hash": "81ff3d0141336d2d137d30bd368230e9",
  "method": "copy",
  "sqlite_version": "<version>"
}
$ ls app.db.backups | sed 's/[0-9]\{8\}T[0-9]\{6\}\.[0-9]\{3\}Z/TIME/'
app.db-TIME.db
app.db-TIME.db.json
