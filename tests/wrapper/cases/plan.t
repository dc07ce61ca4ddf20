# plan: the steps as a table, then a summary; --sql prints the script migrate_apply would run
$ sqlite3 app.db < v1.sql && sqlite3 app.db < seed.sql
$ automigrate plan app.db v2.sql
┌──────┬───────────────┬─────────────┬────────────┬─────────────┬────────┬─────────┐
│ step │      op       │   object    │ complexity │ destructive │ est_ms │ warning │
├──────┼───────────────┼─────────────┼────────────┼─────────────┼────────┼─────────┤
│ 1    │ create_table  │ posts       │ SIMPLE     │ no          │ 0.201  │         │
│ 2    │ rename_column │ users.name  │ SIMPLE     │ no          │ 0.55   │         │
│ 3    │ add_column    │ users.email │ SIMPLE     │ no          │ 0.225  │         │
│ 4    │ create_index  │ users_email │ MODERATE   │ no          │ 0.202  │         │
└──────┴───────────────┴─────────────┴────────────┴─────────────┴────────┴─────────┘
4 steps, MODERATE, not destructive, est. 1.178 ms; plan_hash 09f8a1a3460367078143dcbeb4446c3c
$ automigrate plan app.db v2.sql --sql
-- sqlite-automigrate migration script. Run it with: sqlite3 -bail DATABASE < script.sql
-- 4 step(s); plan_hash 09f8a1a3460367078143dcbeb4446c3c
BEGIN IMMEDIATE;
-- step 1: create_table posts (new table)
CREATE TABLE "posts"(
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  title TEXT NOT NULL
);
-- step 2: rename_column users.name (renamed from fullname (hint))
ALTER TABLE "users" RENAME COLUMN "fullname" TO "name";
-- step 3: add_column users.email (new column)
ALTER TABLE "users" ADD COLUMN email TEXT;
-- step 4: create_index users_email (new index)
CREATE INDEX "users_email" ON users(email);
COMMIT;

# a plan never writes (the database is opened read-only)
$ md5sum app.db > before.md5 && automigrate plan app.db v3.sql && md5sum -c before.md5
┌──────┬──────────────┬────────────────┬────────────┬─────────────┬────────┬───────────────────────────────────────────────────┐
│ step │      op      │     object     │ complexity │ destructive │ est_ms │                      warning                      │
├──────┼──────────────┼────────────────┼────────────┼─────────────┼────────┼───────────────────────────────────────────────────┤
│ 1    │ create_table │ posts          │ SIMPLE     │ no          │ 0.201  │                                                   │
│ 2    │ add_column   │ users.name     │ SIMPLE     │ no          │ 0.225  │                                                   │
│ 3    │ drop_column  │ users.fullname │ MODERATE   │ yes         │ 0.333  │ drops column users.fullname and its data (3 rows) │
└──────┴──────────────┴────────────────┴────────────┴─────────────┴────────┴───────────────────────────────────────────────────┘
3 steps, MODERATE, destructive, est. 0.759 ms; plan_hash 1461f8bc79e4993739b80d7a3d9eb88c
app.db: OK
$ automigrate plan app.db v1.sql
in sync: nothing to do
# a rename given as an option instead of a hint in the schema
$ sed 's/ -- @renamed from=fullname//' v2.sql > v2-nohint.sql && automigrate plan app.db v2-nohint.sql --options '{"rename": {"users.fullname": "name"}}'
┌──────┬───────────────┬─────────────┬────────────┬─────────────┬────────┬─────────┐
│ step │      op       │   object    │ complexity │ destructive │ est_ms │ warning │
├──────┼───────────────┼─────────────┼────────────┼─────────────┼────────┼─────────┤
│ 1    │ create_table  │ posts       │ SIMPLE     │ no          │ 0.201  │         │
│ 2    │ rename_column │ users.name  │ SIMPLE     │ no          │ 0.55   │         │
│ 3    │ add_column    │ users.email │ SIMPLE     │ no          │ 0.225  │         │
│ 4    │ create_index  │ users_email │ MODERATE   │ no          │ 0.202  │         │
└──────┴───────────────┴─────────────┴────────────┴─────────────┴────────┴─────────┘
4 steps, MODERATE, not destructive, est. 1.178 ms; plan_hash 09f8a1a3460367078143dcbeb4446c3c
$ automigrate plan app.db v2.sql --options '{"column_order": "sideways"}'
[stderr] automigrate: migrate_plan: options: "column_order" must be one of "ignore", "strict"
[exit 2]
$ automigrate plan app.db v2.sql --options 'not json'
[stderr] automigrate: --options must be a JSON object, e.g. '{"rename": {"users.fullname": "name"}}'
[exit 2]
$ automigrate plan app.db v2.sql --options '{"rename": }'
[stderr] automigrate: --options: malformed JSON
[exit 2]
$ automigrate plan app.db broken.sql
[stderr] automigrate: migrate_plan: desired schema: statement 1 (CREATE TABLE users(id INTEGER PRIMARY KEY,): incomplete input
[exit 2]
$ automigrate plan app.db missing.sql
[stderr] automigrate: missing.sql: no such schema file
[exit 2]
$ automigrate plan missing.db v2.sql
[stderr] automigrate: missing.db: no such database file
[exit 2]
$ ls
app.db
before.md5
broken.sql
seed.sql
v1.sql
v2-nohint.sql
v2.sql
v3.sql
