-- The database before the migration (bindings/c test): one table with rows.
CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT);
INSERT INTO users(name) VALUES ('ada'), ('grace'), (NULL);
