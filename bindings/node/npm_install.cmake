# bindings/node/npm_install.cmake -- installs the Node driver (better-sqlite3,
# pinned by package-lock.json) into the build dir, built from source against
# the local Node headers; a later run with the same lock file, Node version
# and headers does nothing.
#   cmake -DNPM=... -DNODE=... -DNODE_DIR=/usr -DSOURCE_DIR=... -DDEST=... -P npm_install.cmake
# better-sqlite3's install script tries a prebuilt binary first
# (prebuild-install); --build-from-source skips that download, and
# --nodedir keeps node-gyp from downloading headers: only the npm registry is
# used.
foreach(var NPM NODE NODE_DIR SOURCE_DIR DEST)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "npm_install.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT EXISTS ${NODE_DIR}/include/node/node_api.h)
  message(FATAL_ERROR "no Node headers in ${NODE_DIR}/include/node (node-gyp needs them)")
endif()

execute_process(COMMAND ${NODE} --version OUTPUT_VARIABLE node_version
                OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)
file(SHA256 ${SOURCE_DIR}/package-lock.json lock_hash)
file(SHA256 ${NODE_DIR}/include/node/node_version.h headers_hash)
set(stamp_text "${lock_hash} ${node_version} ${headers_hash}\n")
set(stamp ${DEST}/install.stamp)
set(addon ${DEST}/node_modules/better-sqlite3/build/Release/better_sqlite3.node)

if(EXISTS ${stamp} AND EXISTS ${addon})
  file(READ ${stamp} old_stamp)
  if(old_stamp STREQUAL stamp_text)
    message(STATUS "better-sqlite3 already installed in ${DEST} (node ${node_version})")
    return()
  endif()
endif()

file(MAKE_DIRECTORY ${DEST})
file(REMOVE ${stamp})
file(COPY ${SOURCE_DIR}/package.json ${SOURCE_DIR}/package-lock.json DESTINATION ${DEST})
cmake_host_system_information(RESULT cores QUERY NUMBER_OF_LOGICAL_CORES)
string(TIMESTAMP t0 "%s")
execute_process(
  COMMAND ${CMAKE_COMMAND} -E env npm_config_nodedir=${NODE_DIR}
          npm_config_build_from_source=true JOBS=${cores}
          ${NPM} ci --build-from-source --nodedir=${NODE_DIR} --foreground-scripts
          --no-audit --no-fund
  WORKING_DIRECTORY ${DEST}
  RESULT_VARIABLE rc)
string(TIMESTAMP t1 "%s")
math(EXPR seconds "${t1} - ${t0}")
if(NOT rc EQUAL 0 OR NOT EXISTS ${addon})
  message(FATAL_ERROR "npm ci in ${DEST} failed (${rc}) after ${seconds} s")
endif()
file(WRITE ${stamp} "${stamp_text}")
message(STATUS "better-sqlite3 built from source in ${DEST} in ${seconds} s")
