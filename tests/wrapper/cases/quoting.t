# paths with spaces, quotes, a leading dash and a file: prefix reach SQLite as they are
$ mkdir "it's a dir" && cp v1.sql "it's a dir/schema \"1\".sql"
$ automigrate apply "it's a dir/my app's.db" "it's a dir/schema \"1\".sql"
applied: batch 1, 1 step, now version 1 (<ms> ms)
┌──────┬──────────────┬────────┬─────────┐
│ step │      op      │ object │ status  │
├──────┼──────────────┼────────┼─────────┤
│ 1    │ create_table │ users  │ applied │
└──────┴──────────────┴────────┴─────────┘
$ automigrate status "it's a dir/my app's.db" "it's a dir/schema \"1\".sql"
in sync
$ automigrate backup "it's a dir/my app's.db" "it's a dir/copy 'one'.db"
backup 1: <dir>/it's a dir/copy 'one'.db
  <n> bytes, xxh128 <checksum>, YYYY-MM-DDTHH:MM:SS.sssZ
$ ls "it's a dir"
copy 'one'.db
copy 'one'.db.json
my app's.db
schema "1".sql
$ automigrate apply -dash.db v1.sql
[stderr] automigrate: apply: unknown option -dash.db
[exit 2]
$ automigrate apply ./-dash.db v1.sql && ls -- -dash.db
applied: batch 1, 1 step, now version 1 (<ms> ms)
┌──────┬──────────────┬────────┬─────────┐
│ step │      op      │ object │ status  │
├──────┼──────────────┼────────┼─────────┤
│ 1    │ create_table │ users  │ applied │
└──────┴──────────────┴────────┴─────────┘
-dash.db
$ automigrate apply file:uri.db v1.sql && ls file:uri.db
applied: batch 1, 1 step, now version 1 (<ms> ms)
┌──────┬──────────────┬────────┬─────────┐
│ step │      op      │ object │ status  │
├──────┼──────────────┼────────┼─────────┤
│ 1    │ create_table │ users  │ applied │
└──────┴──────────────┴────────┴─────────┘
file:uri.db
$ automigrate plan uri.db v1.sql
[stderr] automigrate: uri.db: no such database file
[exit 2]
