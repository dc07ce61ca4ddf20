# how the extension is found: $AUTOMIGRATE_EXT, <script>/../build/, <script>/../lib/<multiarch>/sqlite3/, /usr/lib/<multiarch>/sqlite3/
$ AUTOMIGRATE_EXT=/nonexistent/automigrate.so automigrate --version
[stderr] automigrate: AUTOMIGRATE_EXT=/nonexistent/automigrate.so: no such file
[exit 2]
$ mkdir -p tree/bin && cp "$AUTOMIGRATE_SCRIPT" tree/bin/automigrate && env -u AUTOMIGRATE_EXT tree/bin/automigrate --version
[stderr] automigrate: the automigrate extension was not found; searched:
[stderr]   $AUTOMIGRATE_EXT (not set)
[stderr]   <dir>/tree/bin/../build/automigrate.so
[stderr]   <dir>/tree/bin/../lib/<multiarch>/sqlite3/automigrate.so
[stderr]   /usr/lib/<multiarch>/sqlite3/automigrate.so
[stderr] build it (./scripts/build.sh), install the package, or set AUTOMIGRATE_EXT
[exit 2]
$ mkdir -p tree/build && ln -s "$AUTOMIGRATE_EXT" tree/build/automigrate.so && env -u AUTOMIGRATE_EXT tree/bin/automigrate --version
automigrate 0.1.0
extension: <dir>/tree/build/automigrate.so
sqlite: <version>
$ rm tree/build/automigrate.so && mkdir -p "tree/lib/$(gcc -print-multiarch)/sqlite3" && ln -s "$AUTOMIGRATE_EXT" "tree/lib/$(gcc -print-multiarch)/sqlite3/automigrate.so" && env -u AUTOMIGRATE_EXT tree/bin/automigrate --version
automigrate 0.1.0
extension: <dir>/tree/lib/<multiarch>/sqlite3/automigrate.so
sqlite: <version>
$ ln -s ../tree/bin/automigrate .bin/am && env -u AUTOMIGRATE_EXT am --version
automigrate 0.1.0
extension: <dir>/tree/lib/<multiarch>/sqlite3/automigrate.so
sqlite: <version>
