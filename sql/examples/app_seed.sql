-- sql/examples/app_seed.sql -- rows for the app_v1.sql schema: 50 users,
-- 400 posts (the triggers keep users.post_count), 900 comments. Deterministic:
-- no random(), so every demo run shows the same numbers.
PRAGMA foreign_keys = ON;
BEGIN;

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50)
INSERT INTO users (email, name, created_at)
SELECT printf('user%02d@example.com', i),
       printf('%s %s',
              json_extract('["Ada","Alan","Barbara","Dennis","Edsger","Frances","Grace","Ken","Margaret","Niklaus"]', printf('$[%d]', i % 10)),
              json_extract('["Lovelace","Turing","Liskov","Ritchie","Dijkstra","Allen","Hopper","Thompson","Hamilton","Wirth"]', printf('$[%d]', (i * 3 + i / 10) % 10))),
       datetime('2024-01-01', printf('+%d hours', i * 7))
FROM n;

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400)
INSERT INTO posts (user_id, title, body, published, created_at)
SELECT 1 + (i * 37) % 50,
       printf('Post %d: notes on %s', i,
              json_extract('["indexes","triggers","views","WAL","VACUUM","foreign keys","JSON","window functions"]', printf('$[%d]', i % 8))),
       printf('Body of post %d. %s', i, replace(hex(zeroblob(8 + i % 24)), '00', 'lorem ')),
       (i % 4 != 0),
       datetime('2024-02-01', printf('+%d hours', i * 5))
FROM n;

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 900)
INSERT INTO comments (post_id, author, body, created_at)
SELECT 1 + (i * 13) % 400,
       printf('reader%d', i % 70),
       printf('Comment %d: %s', i,
              json_extract('["Thanks!","Great write-up.","What about WAL mode?","Could you share the benchmark?","+1"]', printf('$[%d]', i % 5))),
       datetime('2024-03-01', printf('+%d minutes', i * 41))
FROM n;

-- Some edits, so posts_touch has set updated_at.
UPDATE posts SET title = title || ' (updated)' WHERE id % 25 = 0;

COMMIT;
