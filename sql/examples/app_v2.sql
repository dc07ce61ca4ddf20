-- sql/examples/app_v2.sql -- version 2 of the app_v1.sql schema. Against a
-- database at version 1 the planner should find:
--   users.name renamed to display_name (the hint below; data kept),
--   users.bio added with a constant default (ALTER TABLE ADD COLUMN),
--   posts.body now NOT NULL: a rebuild of posts, which the post_summary view,
--     three triggers and the comments foreign key depend on (the rebuild also
--     creates the new posts_published_recent index for the front page),
--   comments_author dropped (nothing searches comments by author any more),
--   users_created added for the newest-members page.

CREATE TABLE users (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  email        TEXT NOT NULL UNIQUE COLLATE NOCASE,
  display_name TEXT NOT NULL,  -- @renamed from=name
  bio          TEXT NOT NULL DEFAULT '',
  post_count   INTEGER NOT NULL DEFAULT 0,   -- kept by the posts_count_* triggers
  created_at   TEXT NOT NULL DEFAULT (datetime('now'))
);

CREATE INDEX users_created ON users(created_at);

CREATE TABLE posts (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  title      TEXT NOT NULL,
  body       TEXT NOT NULL DEFAULT '',
  published  INTEGER NOT NULL DEFAULT 0 CHECK (published IN (0, 1)),
  created_at TEXT NOT NULL DEFAULT (datetime('now')),
  updated_at TEXT
);

CREATE INDEX posts_user ON posts(user_id);
CREATE INDEX posts_title ON posts(title);
CREATE INDEX posts_published_recent ON posts(created_at DESC) WHERE published = 1;

CREATE TABLE comments (
  id         INTEGER PRIMARY KEY,
  post_id    INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
  author     TEXT NOT NULL,
  body       TEXT NOT NULL,
  created_at TEXT NOT NULL DEFAULT (datetime('now'))
);

CREATE INDEX comments_post ON comments(post_id);

-- What the front page lists.
CREATE VIEW post_summary AS
  SELECT p.id, p.title, u.display_name AS author, p.published, p.created_at,
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
