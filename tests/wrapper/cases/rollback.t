# rollback: by SQL when every step has rollback SQL, else from the backup;
# rows written after the batch are not discarded without --force
$ sqlite3 app.db < v1.sql && sqlite3 app.db < seed.sql
$ automigrate rollback app.db
[stderr] automigrate: migrate_rollback: nothing to roll back: "main" has no applied migration batch
[exit 2]
$ automigrate apply app.db v2.sql > /dev/null
$ automigrate rollback app.db
rolled back batch 1 by sql: 4 steps, now version 2, recorded as batch 2 (<ms> ms)
schema text identical to before batch 1: no
$ sqlite3 app.db 'SELECT * FROM users'
1|Ann
2|Bob
3|Cy
$ automigrate apply app.db v2.sql > /dev/null && automigrate apply app.db v3.sql --allow-destructive > /dev/null
$ sqlite3 app.db "INSERT INTO users(name) VALUES ('Dee')"
$ automigrate rollback app.db
[stderr] automigrate: migrate_rollback: restoring <dir>/app.db.backups/app.db-YYYYMMDDTHHMMSS.sssZ-batch4.db would discard what was written after the batch: users: 1 row added or changed. Nothing was changed; pass {"force": true} to restore anyway
[stderr] automigrate: (with this command: rollback --force)
[exit 2]
$ automigrate rollback app.db --method sql
[stderr] automigrate: migrate_rollback: batch 4 cannot be rolled back by SQL: step 1 (rebuild_table users) has no rollback SQL (what it removed can only come back from the backup); use {"method": "backup"}
[exit 2]
$ automigrate rollback app.db --method backup --force --json
{"ok":true,"batch":5,"reverts":4,"version":5,"method":"backup","steps":1,"backup_id":1,"schema_matches_before":true,"discarded":[{"table":"users","rows_added_or_changed":1,"rows_removed":0}],"duration_ms":<ms>}
$ sqlite3 app.db 'SELECT id, name, email FROM users'
1|Ann|
2|Bob|
3|Cy|
$ automigrate history app.db
┌───────┬─────────┬─────────────┬──────────────────────────┬───────┬────────┬─────────┬──────────┐
│ batch │ version │   status    │        started_at        │ steps │ backup │ reverts │ rollback │
├───────┼─────────┼─────────────┼──────────────────────────┼───────┼────────┼─────────┼──────────┤
│ 1     │ 1       │ rolled_back │ YYYY-MM-DDTHH:MM:SS.sssZ │ 4     │        │         │          │
│ 2     │ 2       │ applied     │ YYYY-MM-DDTHH:MM:SS.sssZ │ 4     │        │ 1       │          │
│ 3     │ 3       │ applied     │ YYYY-MM-DDTHH:MM:SS.sssZ │ 4     │        │         │ sql      │
│ 4     │ 4       │ rolled_back │ YYYY-MM-DDTHH:MM:SS.sssZ │ 1     │ 1      │         │          │
│ 5     │ 5       │ applied     │ YYYY-MM-DDTHH:MM:SS.sssZ │ 1     │ 1      │ 4       │          │
└───────┴─────────┴─────────────┴──────────────────────────┴───────┴────────┴─────────┴──────────┘
