-- The desired schema (bindings/c test). users.name becomes NOT NULL with a
-- DEFAULT (a table rebuild: the NULL takes the default), users gains a column
-- and an index, and posts is new.
CREATE TABLE users(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL DEFAULT 'anon',
  email TEXT
);
CREATE INDEX users_email ON users(email);
CREATE TABLE posts(
  id INTEGER PRIMARY KEY,
  user_id INTEGER REFERENCES users(id),
  body TEXT
);
