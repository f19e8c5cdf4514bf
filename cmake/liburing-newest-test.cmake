# SPDX-License-Identifier: MIT
# The CTest entry build.liburing_newest (see cmake/liburing.cmake):
#
#   cmake -DSOURCE_DIR= -DBINARY_DIR= -DLIBURING_DIR= -DSUITE= -DGENERATOR=
#         -DCTEST= -DC_COMPILER= -DBUILD_TYPE= -DWERROR= -P liburing-newest-test.cmake
#
# 1. scripts/build-liburing.sh: Debian SUITE's liburing source, built into
#    LIBURING_DIR/prefix (cached there; the fetch is the only network use).
# 2. A nested build of SOURCE_DIR in BINARY_DIR with only the io_uring backend,
#    against that prefix, and its conformance, unit and liburing tests.
foreach(_v SOURCE_DIR BINARY_DIR LIBURING_DIR SUITE GENERATOR CTEST)
  if(NOT ${_v})
    message(FATAL_ERROR "liburing-newest-test.cmake: -D${_v}= is required")
  endif()
endforeach()

set(_prefix ${LIBURING_DIR}/prefix)
set(ENV{TIO_LIBURING_SUITE} ${SUITE})
execute_process(
  COMMAND sh ${SOURCE_DIR}/scripts/build-liburing.sh ${_prefix} ${LIBURING_DIR}/cache
  OUTPUT_VARIABLE _version OUTPUT_STRIP_TRAILING_WHITESPACE
  RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "scripts/build-liburing.sh failed (exit ${_rc}): no liburing from Debian ${SUITE}")
endif()
string(REGEX MATCH "[^\n]*$" _version "${_version}")
message(STATUS "liburing ${_version} (Debian ${SUITE}) in ${_prefix}")

# Recorded in the cache of the nested tree: a changed prefix or liburing needs
# a fresh configure (pkg-config results are cached).
set(_stamp ${BINARY_DIR}/.tio-liburing)
if(EXISTS ${_stamp})
  file(READ ${_stamp} _old)
  if(NOT _old STREQUAL "${_prefix} ${_version}")
    file(REMOVE_RECURSE ${BINARY_DIR})
  endif()
endif()
file(MAKE_DIRECTORY ${BINARY_DIR})
file(WRITE ${_stamp} "${_prefix} ${_version}")

set(_opts
  -DTIO_BACKENDS=io_uring
  -DTIO_LIBURING_PREFIX=${_prefix}
  -DTIO_BUILD_TESTS=ON -DTIO_BUILD_BENCH=OFF -DTIO_BUILD_CONTRIB=OFF
  -DTIO_TEST_LIBURING_NEWEST=OFF -DTIO_TEST_DOWNSTREAM=OFF
  -DTIO_TEST_SANITIZERS=OFF -DTIO_TEST_THREADS_ONLY=OFF
  -DTIO_WERROR=${WERROR})
if(C_COMPILER)
  list(APPEND _opts -DCMAKE_C_COMPILER=${C_COMPILER})
endif()
if(BUILD_TYPE)
  list(APPEND _opts -DCMAKE_BUILD_TYPE=${BUILD_TYPE})
endif()
# scripts/nested-test.sh: ctest --build-and-test would build on one core.
execute_process(
  COMMAND bash ${SOURCE_DIR}/scripts/nested-test.sh ${SOURCE_DIR} ${BINARY_DIR}
      -G ${GENERATOR} ${_opts}
      -- ${CTEST} --output-on-failure -R "^(conformance|unit|liburing)\\."
  RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "the io_uring suites against liburing ${_version} failed (exit ${_rc}); "
                      "the nested tree is ${BINARY_DIR}")
endif()
