# apply progress goes to stderr only on a terminal (script(1) gives the command one);
# piped, as in every other case here, stderr stays empty
$ sqlite3 app.db < v1.sql && sqlite3 app.db < seed.sql && cp app.db app2.db
$ script -qec 'automigrate apply app.db v2.sql' /dev/null | tr '\r' '\n' | grep -a 'Kstep ' | tail -n 1 | sed -E 's/[0-9]+\.[0-9] s/<s> s/; s/\x1b\[K//g'
step 4/4 create_index users_email  <s> s
$ AUTOMIGRATE_PROGRESS=always automigrate apply app2.db v2.sql 2>&1 >/dev/null | tr '\r' '\n' | grep -a 'Kstep ' | tail -n 1 | sed -E 's/[0-9]+\.[0-9] s/<s> s/; s/\x1b\[K//g'
step 4/4 create_index users_email  <s> s
$ automigrate apply app.db v3.sql --allow-destructive 2>&1 >/dev/null | wc -c
0
# the progress file and every other temporary file are removed afterwards
$ mkdir tmp && TMPDIR=$PWD/tmp AUTOMIGRATE_PROGRESS=always automigrate apply app2.db v3.sql --allow-destructive 2>/dev/null && ls -A tmp | wc -l
applied: batch 2, 1 step, now version 2 (<ms> ms)
backup: <dir>/app2.db.backups/app2.db-YYYYMMDDTHHMMSS.sssZ-batch2.db (<n> bytes, xxh128 <checksum>)
┌──────┬───────────────┬────────┬─────────┐
│ step │      op       │ object │ status  │
├──────┼───────────────┼────────┼─────────┤
│ 1    │ rebuild_table │ users  │ applied │
└──────┴───────────────┴────────┴─────────┘
0
