# history: the batches, then one batch's steps with their SQL
$ sqlite3 app.db < v1.sql && sqlite3 app.db < seed.sql
$ automigrate history app.db
no migrations recorded
$ automigrate apply app.db v2.sql --dry-run > /dev/null
$ automigrate apply app.db v2.sql > /dev/null
$ automigrate history app.db
┌───────┬─────────┬─────────┬──────────────────────────┬───────┬────────┬─────────┬──────────┐
│ batch │ version │ status  │        started_at        │ steps │ backup │ reverts │ rollback │
├───────┼─────────┼─────────┼──────────────────────────┼───────┼────────┼─────────┼──────────┤
│ 1     │         │ dry_run │ YYYY-MM-DDTHH:MM:SS.sssZ │ 4     │        │         │          │
│ 2     │ 1       │ applied │ YYYY-MM-DDTHH:MM:SS.sssZ │ 4     │        │         │ sql      │
└───────┴─────────┴─────────┴──────────────────────────┴───────┴────────┴─────────┴──────────┘
$ automigrate history app.db --batch 2
┌──────┬───────────────┬─────────────┬─────────┬─────────────────────────────────────────────────────────┬───────┐
│ step │      op       │   object    │ status  │                           sql                           │ error │
├──────┼───────────────┼─────────────┼─────────┼─────────────────────────────────────────────────────────┼───────┤
│ 1    │ create_table  │ posts       │ applied │ CREATE TABLE "posts"(                                   │       │
│      │               │             │         │   id INTEGER PRIMARY KEY,                               │       │
│      │               │             │         │   user_id INTEGER NOT NULL REFERENCES users(id),        │       │
│      │               │             │         │   title TEXT NOT NULL                                   │       │
│      │               │             │         │ );                                                      │       │
├──────┼───────────────┼─────────────┼─────────┼─────────────────────────────────────────────────────────┼───────┤
│ 2    │ rename_column │ users.name  │ applied │ ALTER TABLE "users" RENAME COLUMN "fullname" TO "name"; │       │
├──────┼───────────────┼─────────────┼─────────┼─────────────────────────────────────────────────────────┼───────┤
│ 3    │ add_column    │ users.email │ applied │ ALTER TABLE "users" ADD COLUMN email TEXT;              │       │
├──────┼───────────────┼─────────────┼─────────┼─────────────────────────────────────────────────────────┼───────┤
│ 4    │ create_index  │ users_email │ applied │ CREATE INDEX "users_email" ON users(email);             │       │
└──────┴───────────────┴─────────────┴─────────┴─────────────────────────────────────────────────────────┴───────┘
$ automigrate history app.db --batch 7
no batch 7
$ automigrate history app.db --batch two
[stderr] automigrate: history: --batch takes a batch number
[exit 2]
$ automigrate history missing.db
[stderr] automigrate: missing.db: no such database file
[exit 2]
