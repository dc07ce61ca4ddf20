-- sql/examples/app_v1.sql -- version 1 of a small blogging app's schema.
-- scripts/demo.sh creates build/demo/app.db from it, fills it with
-- app_seed.sql and then plans the migration to app_v2.sql.

CREATE TABLE users (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  email      TEXT NOT NULL UNIQUE COLLATE NOCASE,
  name       TEXT NOT NULL,
  post_count INTEGER NOT NULL DEFAULT 0,   -- kept by the posts_count_* triggers
  created_at TEXT NOT NULL DEFAULT (datetime('now'))
);

CREATE TABLE posts (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  title      TEXT NOT NULL,
  body       TEXT,
  published  INTEGER NOT NULL DEFAULT 0 CHECK (published IN (0, 1)),
  created_at TEXT NOT NULL DEFAULT (datetime('now')),
  updated_at TEXT
);

CREATE INDEX posts_user ON posts(user_id);
CREATE INDEX posts_title ON posts(title);

CREATE TABLE comments (
  id         INTEGER PRIMARY KEY,
  post_id    INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
  author     TEXT NOT NULL,
  body       TEXT NOT NULL,
  created_at TEXT NOT NULL DEFAULT (datetime('now'))
);

CREATE INDEX comments_post ON comments(post_id);
CREATE INDEX comments_author ON comments(author);

-- What the front page lists.
CREATE VIEW post_summary AS
  SELECT p.id, p.title, u.name AS author, p.published, p.created_at,
         (SELECT count(*) FROM comments c WHERE c.post_id = p.id) AS comments
  FROM posts p JOIN users u ON u.id = p.user_id;

-- users.post_count follows the posts table.
CREATE TRIGGER posts_count_insert AFTER INSERT ON posts BEGIN
  UPDATE users SET post_count = post_count + 1 WHERE id = NEW.user_id;
END;

CREATE TRIGGER posts_count_delete AFTER DELETE ON posts BEGIN
  UPDATE users SET post_count = post_count - 1 WHERE id = OLD.user_id;
END;

-- posts.updated_at follows edits.
CREATE TRIGGER posts_touch AFTER UPDATE OF title, body ON posts BEGIN
  UPDATE posts SET updated_at = datetime('now') WHERE id = NEW.id;
END;
