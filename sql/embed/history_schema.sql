-- The extension's own tables, created on the first applied, failed or dry-run
-- batch (never on a no-op apply). "$S" is replaced by the quoted schema name.
-- They are internal (_automigrate_%): never diffed, never dropped by a plan.
CREATE TABLE IF NOT EXISTS $S._automigrate_batches(
  batch INTEGER PRIMARY KEY,
  version INTEGER,             -- per-database version after this batch; NULL unless applied/rolled back
  status TEXT NOT NULL CHECK (status IN ('applied', 'failed', 'dry_run', 'rolled_back')),
  started_at TEXT NOT NULL,    -- UTC, ISO-8601 with milliseconds
  duration_ms REAL NOT NULL,
  steps INTEGER NOT NULL,
  backup_id INTEGER,
  reverts INTEGER,             -- the batch a rollback batch undid
  error TEXT,
  plan_hash TEXT NOT NULL,
  desired_hash TEXT,           -- XXH3-128 of the desired DDL text (prefixed with the
                               -- column_order/rename options when they are not the defaults)
  schema_hash_before TEXT NOT NULL,
  schema_hash_after TEXT NOT NULL,
  schema_version_after INTEGER -- PRAGMA schema_version when the batch was recorded: the
                               -- start-up check compares it before hashing the schema
);
CREATE TABLE IF NOT EXISTS $S._automigrate_history(
  id INTEGER PRIMARY KEY,
  batch INTEGER NOT NULL,
  step INTEGER NOT NULL,
  op TEXT NOT NULL,
  object TEXT NOT NULL,
  sql TEXT NOT NULL,
  rollback_sql TEXT,
  status TEXT NOT NULL CHECK (status IN ('applied', 'failed', 'dry_run', 'rolled_back', 'skipped')),
  error TEXT,
  schema_hash TEXT,            -- of the schema after this step (NULL if it did not run)
  started_at TEXT NOT NULL,
  duration_ms REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS $S._automigrate_history_batch ON _automigrate_history(batch, step);
CREATE TABLE IF NOT EXISTS $S._automigrate_config(
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL          -- JSON value
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS $S._automigrate_backups(
  id INTEGER PRIMARY KEY,
  path TEXT NOT NULL,          -- absolute; the sidecar is path || '.json'
  bytes INTEGER NOT NULL,
  checksum TEXT NOT NULL,      -- XXH3-128 of the file, as xxh128sum prints it
  created_at TEXT NOT NULL,    -- UTC, ISO-8601 with milliseconds
  batch INTEGER,               -- the migration batch it was taken for (NULL: backup_create)
  source TEXT NOT NULL,        -- the database file it copies ('' for an in-memory database)
  schema_hash TEXT NOT NULL,   -- SchemaHash of the copy
  method TEXT NOT NULL,        -- 'copy' (file copy under the write lock) or 'backup_api'
  verified_at TEXT             -- the last backup_verify/restore that found it intact
);
