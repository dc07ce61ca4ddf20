# --help, --version, and how a wrong invocation is reported
$ automigrate --help
Usage:
  automigrate plan DB SCHEMA [--sql] [--options JSON]
  automigrate status DB SCHEMA [--json] [--options JSON]
  automigrate apply DB SCHEMA [--dry-run] [--allow-destructive]
                             [--backup auto|always|never] [--json] [--options JSON]
  automigrate history DB [--batch N]
  automigrate backup DB [PATH] [--json]
  automigrate rollback DB [--method auto|sql|backup] [--force] [--json]
  automigrate --help | --version

Exit status: 0 success (status: in sync), 1 status: a migration is needed,
2 an error (message on stderr). Full reference: docs/CLI.md.

Environment: AUTOMIGRATE_EXT (the extension's path), AUTOMIGRATE_SQLITE3
(the sqlite3 shell, default: sqlite3 on PATH), AUTOMIGRATE_PROGRESS
(auto: show apply progress when stderr is a terminal; always; never).
$ automigrate --version
automigrate 0.1.0
extension: <ext>
sqlite: <version>
$ automigrate
[stderr] Usage:
[stderr]   automigrate plan DB SCHEMA [--sql] [--options JSON]
[stderr]   automigrate status DB SCHEMA [--json] [--options JSON]
[stderr]   automigrate apply DB SCHEMA [--dry-run] [--allow-destructive]
[stderr]                              [--backup auto|always|never] [--json] [--options JSON]
[stderr]   automigrate history DB [--batch N]
[stderr]   automigrate backup DB [PATH] [--json]
[stderr]   automigrate rollback DB [--method auto|sql|backup] [--force] [--json]
[stderr]   automigrate --help | --version
[stderr] 
[stderr] Exit status: 0 success (status: in sync), 1 status: a migration is needed,
[stderr] 2 an error (message on stderr). Full reference: docs/CLI.md.
[stderr] 
[stderr] Environment: AUTOMIGRATE_EXT (the extension's path), AUTOMIGRATE_SQLITE3
[stderr] (the sqlite3 shell, default: sqlite3 on PATH), AUTOMIGRATE_PROGRESS
[stderr] (auto: show apply progress when stderr is a terminal; always; never).
[exit 2]
$ automigrate frobnicate app.db
[stderr] automigrate: unknown command 'frobnicate' (try: automigrate --help)
[exit 2]
$ automigrate plan
[stderr] automigrate: usage: automigrate plan DB SCHEMA [--sql] [--options JSON]
[exit 2]
$ automigrate apply app.db v2.sql --backup sometimes
[stderr] automigrate: apply: --backup takes auto, always or never
[exit 2]
$ automigrate rollback app.db --method undo
[stderr] automigrate: rollback: --method takes auto, sql or backup
[exit 2]
