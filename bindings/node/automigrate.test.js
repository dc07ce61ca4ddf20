// bindings/node/automigrate.test.js -- sqlite-automigrate from Node, loaded
// into better-sqlite3 (built from source against the local Node headers).
//
// Run by ctest (bindings/node/CMakeLists.txt), which installs the driver into
// the build dir and sets AUTOMIGRATE_EXTENSION and NODE_PATH. By hand:
//   AUTOMIGRATE_EXTENSION=$PWD/build/automigrate NODE_PATH=<dir>/node_modules \
//     node --test bindings/node/automigrate.test.js
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const test = require('node:test');
const Database = require('better-sqlite3');

const extension = process.env.AUTOMIGRATE_EXTENSION;

const seedSql = `
CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT);
INSERT INTO users(name) VALUES ('ada'), ('grace'), (NULL);
`;

// users.name becomes NOT NULL with a DEFAULT (a rebuild: the NULL takes the
// default), users gains a column and an index, posts is new.
const desiredSql = `
CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT 'anon', email TEXT);
CREATE INDEX users_email ON users(email);
CREATE TABLE posts(id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id), body TEXT);
`;

// A seeded database file in a fresh directory, with the extension loaded.
function openSeeded(t) {
  assert.ok(extension, 'AUTOMIGRATE_EXTENSION is not set (path of the built automigrate.so)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'automigrate-node-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'app.db');
  const db = new Database(file);
  t.after(() => db.close());
  db.loadExtension(extension);
  db.exec(seedSql);
  return { db, file };
}

test('plans, applies and records a migration of a file database, keeping its rows', (t) => {
  const { db, file } = openSeeded(t);
  assert.match(db.prepare('SELECT automigrate_version() AS v').get().v, /^\d+\.\d+\.\d+/);

  const plan = db
    .prepare('SELECT step, op, object, complexity, destructive, sql FROM migrate_plan(?) ORDER BY step')
    .all(desiredSql);
  assert.deepEqual(
    plan.map((s) => [s.step, s.op, s.object, s.destructive]),
    [
      [1, 'create_table', 'posts', 0],
      [2, 'rebuild_table', 'users', 0],
    ],
  );
  assert.match(plan[1].sql, /coalesce\("name", \('anon'\)\)/);

  const status = JSON.parse(db.prepare('SELECT migrate_status(?) AS s').pluck().get(desiredSql));
  assert.equal(status.migration_needed, true);
  assert.equal(status.steps, 2);
  assert.equal(status.destructive, false);
  assert.match(status.plan_hash, /^[0-9a-f]{32}$/);

  // Applying the plan that was reviewed: expected_plan_hash pins it.
  const result = JSON.parse(
    db
      .prepare('SELECT migrate_apply(?, ?)')
      .pluck()
      .get(desiredSql, JSON.stringify({ expected_plan_hash: status.plan_hash })),
  );
  assert.equal(result.ok, true);
  assert.equal(result.batch, 1);
  assert.equal(result.version, 1);
  assert.equal(result.steps, 2);
  assert.equal(result.dry_run, false);
  // The rebuild took a backup (backup "auto") beside the database file.
  assert.ok(result.backup, 'a rebuild takes a backup');
  assert.equal(path.dirname(result.backup.path), `${file}.backups`);
  assert.ok(fs.existsSync(result.backup.path));

  const history = db
    .prepare('SELECT batch, step, op, object, status, backup_id FROM migration_history ORDER BY id')
    .all();
  assert.deepEqual(history, [
    { batch: 1, step: 1, op: 'create_table', object: 'posts', status: 'applied', backup_id: result.backup.id },
    { batch: 1, step: 2, op: 'rebuild_table', object: 'users', status: 'applied', backup_id: result.backup.id },
  ]);

  // The rows survived the rebuild; the NULL name took the DEFAULT.
  assert.deepEqual(db.prepare('SELECT id, name, email FROM users ORDER BY id').all(), [
    { id: 1, name: 'ada', email: null },
    { id: 2, name: 'grace', email: null },
    { id: 3, name: 'anon', email: null },
  ]);
  // better-sqlite3 turns foreign keys on: the new reference is enforced.
  db.prepare("INSERT INTO posts(user_id, body) VALUES (1, 'hello')").run();
  assert.throws(() => db.prepare("INSERT INTO posts(user_id, body) VALUES (99, 'x')").run(), {
    code: 'SQLITE_CONSTRAINT_FOREIGNKEY',
  });

  // Nothing left to do.
  const again = JSON.parse(db.prepare('SELECT migrate_apply(?)').pluck().get(desiredSql));
  assert.equal(again.batch, null);
  assert.equal(again.steps, 0);
  assert.equal(JSON.parse(db.prepare('SELECT migrate_status(?)').pluck().get(desiredSql)).migration_needed, false);
});

test('a destructive plan is refused with an error and changes nothing', (t) => {
  const { db } = openSeeded(t);
  assert.throws(() => db.prepare('SELECT migrate_apply(?)').get('CREATE TABLE posts(id INTEGER PRIMARY KEY);'), {
    name: 'SqliteError',
    message: /^migrate_apply: the plan loses data: table users \(3 rows\)/,
  });
  assert.equal(db.prepare('SELECT count(*) FROM users').pluck().get(), 3);
  assert.equal(db.prepare('SELECT count(*) FROM migration_batches').pluck().get(), 0);
});

test('a wrong argument is an SQL error naming it', (t) => {
  const { db } = openSeeded(t);
  assert.throws(() => db.prepare('SELECT migrate_apply(?, ?)').get(desiredSql, '{"no_such_key": 1}'), {
    name: 'SqliteError',
    message: /no_such_key/,
  });
});

// better-sqlite3 builds SQLite with SQLITE_OMIT_PROGRESS_CALLBACK, so the
// extension cannot interrupt a statement there (it used to crash the process,
// calling the missing progress handler): the limit is checked between steps,
// and an overrun still rolls the whole batch back and records it as failed.
test('max_execution_time_ms rolls back an overrunning migration without a progress handler', (t) => {
  const { db } = openSeeded(t);
  db.exec(`
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)
    INSERT INTO users(name) SELECT 'user' || i FROM n;
  `);
  assert.throws(
    () =>
      db
        .prepare('SELECT migrate_apply(?, ?)')
        .get(desiredSql, JSON.stringify({ max_execution_time_ms: 1, backup: 'never' })),
    { name: 'SqliteError', message: /^migrate_apply: the migration ran longer than max_execution_time_ms \(1 ms\)/ },
  );
  assert.deepEqual(db.prepare('SELECT name FROM pragma_table_info(?) ORDER BY cid').pluck().all('users'), [
    'id',
    'name',
  ]);
  assert.equal(db.prepare('SELECT count(*) FROM users WHERE name IS NULL').pluck().get(), 1);
  assert.deepEqual(db.prepare('SELECT batch, status FROM migration_batches').all(), [{ batch: 1, status: 'failed' }]);
});
