# apply: a new database, a dry run, a migration with its steps, nothing to do,
# a refused destructive plan, then allowed with a backup
$ automigrate apply app.db v1.sql
applied: batch 1, 1 step, now version 1 (<ms> ms)
┌──────┬──────────────┬────────┬─────────┐
│ step │      op      │ object │ status  │
├──────┼──────────────┼────────┼─────────┤
│ 1    │ create_table │ users  │ applied │
└──────┴──────────────┴────────┴─────────┘
$ sqlite3 app.db < seed.sql
$ automigrate apply app.db v2.sql --dry-run
dry run: batch 2 ran 4 steps and rolled back (<ms> ms)
┌──────┬───────────────┬─────────────┬─────────┐
│ step │      op       │   object    │ status  │
├──────┼───────────────┼─────────────┼─────────┤
│ 1    │ create_table  │ posts       │ dry_run │
│ 2    │ rename_column │ users.name  │ dry_run │
│ 3    │ add_column    │ users.email │ dry_run │
│ 4    │ create_index  │ users_email │ dry_run │
└──────┴───────────────┴─────────────┴─────────┘
$ automigrate apply app.db v2.sql
applied: batch 3, 4 steps, now version 2 (<ms> ms)
┌──────┬───────────────┬─────────────┬─────────┐
│ step │      op       │   object    │ status  │
├──────┼───────────────┼─────────────┼─────────┤
│ 1    │ create_table  │ posts       │ applied │
│ 2    │ rename_column │ users.name  │ applied │
│ 3    │ add_column    │ users.email │ applied │
│ 4    │ create_index  │ users_email │ applied │
└──────┴───────────────┴─────────────┴─────────┘
$ automigrate apply app.db v2.sql
nothing to do: the database is at version 2
$ sqlite3 app.db 'SELECT id, name, email FROM users'
1|Ann|
2|Bob|
3|Cy|
$ automigrate apply app.db v3.sql
[stderr] automigrate: migrate_apply: the plan loses data: column users.email; nothing was changed. Review it with migrate_plan, then pass {"allow_destructive": true} (or add rename hints if these are renames)
[stderr] automigrate: (with this command: apply --allow-destructive)
[exit 2]
$ automigrate apply app.db v3.sql --allow-destructive
applied: batch 4, 1 step, now version 3 (<ms> ms)
backup: <dir>/app.db.backups/app.db-YYYYMMDDTHHMMSS.sssZ-batch4.db (<n> bytes, xxh128 <checksum>)
┌──────┬───────────────┬────────┬─────────┐
│ step │      op       │ object │ status  │
├──────┼───────────────┼────────┼─────────┤
│ 1    │ rebuild_table │ users  │ applied │
└──────┴───────────────┴────────┴─────────┘
$ sqlite3 app.db 'SELECT id, quote(name) FROM users; PRAGMA integrity_check'
1|'Ann'
2|'Bob'
3|'Cy'
ok
$ ls app.db.backups
app.db-YYYYMMDDTHHMMSS.sssZ-batch4.db
app.db-YYYYMMDDTHHMMSS.sssZ-batch4.db.json
# --backup always and --json; --backup never
$ automigrate apply other.db v1.sql --backup always --json
{"ok":true,"batch":1,"version":1,"steps":1,"duration_ms":<ms>,"backup":{"id":1,"path":"<dir>/other.db.backups/other.db-YYYYMMDDTHHMMSS.sssZ-batch1.db","bytes":<n>,"checksum":"<checksum>","created_at":"YYYY-MM-DDTHH:MM:SS.sssZ"},"dry_run":false}
$ automigrate apply other.db v2.sql --backup never --json
{"ok":true,"batch":2,"version":2,"steps":4,"duration_ms":<ms>,"backup":null,"dry_run":false}
$ ls other.db.backups | wc -l
2
# the plan reviewed earlier, pinned: a different plan is refused
$ automigrate apply other.db v3.sql --allow-destructive --options '{"expected_plan_hash": "00000000000000000000000000000000"}'
[stderr] automigrate: migrate_apply: the plan differs from the one reviewed (expected_plan_hash 00000000000000000000000000000000, the plan is now 7c9c74eed390524a38c79029e7e8b3ce): the database or the desired schema changed; review migrate_plan again
[exit 2]
$ automigrate apply other.db broken.sql
[stderr] automigrate: migrate_apply: desired schema: statement 1 (CREATE TABLE users(id INTEGER PRIMARY KEY,): incomplete input
[exit 2]
$ mkdir adir && automigrate apply adir v1.sql
[stderr] automigrate: adir: not a database file
[exit 2]
