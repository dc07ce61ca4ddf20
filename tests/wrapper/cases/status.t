# status: exit 0 in sync, 1 migration needed, 2 error (a CI drift check)
$ sqlite3 app.db < v1.sql && sqlite3 app.db < seed.sql
$ automigrate status app.db v1.sql
in sync
$ automigrate status app.db v2.sql
migration needed: 4 steps, MODERATE, not destructive, est. 1.178 ms
plan_hash: 09f8a1a3460367078143dcbeb4446c3c
[exit 1]
$ automigrate status app.db v3.sql
migration needed: 3 steps, MODERATE, destructive, est. 0.759 ms
plan_hash: 1461f8bc79e4993739b80d7a3d9eb88c
warning: users.fullname is dropped and users.name is added with the same type: if name is fullname renamed, write `-- @renamed from=fullname` after its definition or pass {"rename": {"users.fullname": "name"}} to keep the data
warning: drops column users.fullname and its data (3 rows)
[exit 1]
$ automigrate status app.db v2.sql --json
{"migration_needed":true,"steps":4,"complexity":"MODERATE","destructive":false,"warnings":[],"est_ms":1.178,"plan_hash":"09f8a1a3460367078143dcbeb4446c3c"}
[exit 1]
$ automigrate status app.db v1.sql --json
{"migration_needed":false,"steps":0,"complexity":"SIMPLE","destructive":false,"warnings":[],"est_ms":0.0,"plan_hash":"afd4bb5fce514507c1ac3ed9e7072dac"}
$ automigrate status app.db broken.sql
[stderr] automigrate: migrate_status: desired schema: statement 1 (CREATE TABLE users(id INTEGER PRIMARY KEY,): incomplete input
[exit 2]
$ automigrate status app.db v2.sql --verbose
[stderr] automigrate: status: unknown option --verbose
[exit 2]
$ if automigrate status app.db v2.sql > /dev/null; then echo in sync; else echo "drift: exit $?"; fi
drift: exit 1
