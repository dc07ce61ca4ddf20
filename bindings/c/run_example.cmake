# bindings/c/run_example.cmake -- the ctest driver of example.c:
#   cmake -DEXAMPLE=... -DEXTENSION=... -DSQLITE3=... -DWORK_DIR=... -DSOURCE_DIR=... -P run_example.cmake
# Seeds a database file with rows (sqlite3 shell), runs the example twice (the
# migration, then a no-op), dumps the migrated rows, masks what varies between
# runs (timestamps, durations, checksums, the work directory) and compares the
# whole output with expected_output.txt.
foreach(var EXAMPLE EXTENSION SQLITE3 WORK_DIR SOURCE_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_example.cmake: -D${var}=... is required")
  endif()
endforeach()

file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
set(db ${WORK_DIR}/app.db)

execute_process(COMMAND ${SQLITE3} -bail ${db} INPUT_FILE ${SOURCE_DIR}/seed.sql
                RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "seeding ${db} failed (${rc}): ${err}")
endif()

set(output "")
foreach(run first second)
  execute_process(COMMAND ${EXAMPLE} ${EXTENSION} ${db} ${SOURCE_DIR}/schema.sql
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "example (${run} run) exited ${rc}\nstdout:\n${out}\nstderr:\n${err}")
  endif()
  string(APPEND output "== ${run} run\n${out}")
endforeach()

execute_process(COMMAND ${SQLITE3} -bail ${db}
                        "SELECT id, name, quote(email) FROM users ORDER BY id"
                RESULT_VARIABLE rc OUTPUT_VARIABLE rows ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "reading users failed (${rc}): ${err}")
endif()
string(APPEND output "== users after\n${rows}")

set(masked "${output}")
string(REPLACE "${WORK_DIR}" "<dir>" masked "${masked}")
string(REGEX REPLACE "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9:.]+Z" "<time>" masked "${masked}")
string(REGEX REPLACE "[0-9]+T[0-9]+\\.[0-9]+Z" "<stamp>" masked "${masked}")
string(REGEX REPLACE "duration_ms(\":|=)[0-9.e+-]+" "duration_ms\\1<ms>" masked "${masked}")
string(REGEX REPLACE "\"checksum\":\"[0-9a-f]+\"" "\"checksum\":\"<xxh128>\"" masked "${masked}")

file(READ ${SOURCE_DIR}/expected_output.txt expected)
if(NOT masked STREQUAL expected)
  file(WRITE ${WORK_DIR}/actual_output.txt "${masked}")
  message(FATAL_ERROR "example output differs from ${SOURCE_DIR}/expected_output.txt "
                      "(actual: ${WORK_DIR}/actual_output.txt)\n--- actual\n${masked}--- expected\n${expected}")
endif()
message(STATUS "example output matches expected_output.txt")
