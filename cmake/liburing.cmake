# SPDX-License-Identifier: MIT
# The io_uring backend against more than one liburing (DESIGN.md: "built and
# tested against the oldest supported liburing (Debian bookworm's 2.3) and the
# newest one Debian ships"). Included from the top-level CMakeLists.txt when
# tests are built.
#
# build.liburing_newest (-DTIO_TEST_LIBURING_NEWEST=ON; `make test` sets it):
#   scripts/build-liburing.sh fetches the liburing source package of Debian
#   sid (TIO_LIBURING_SUITE) and builds it into TIO_LIBURING_NEWEST_DIR, then
#   a nested build of this project with -DTIO_BACKENDS=io_uring
#   -DTIO_LIBURING_PREFIX=<that prefix> runs its conformance.*, unit.* and
#   liburing.* tests. Nothing is fetched at configure time: the test does it.
#
# liburing.version, liburing.linked (in a build with TIO_LIBURING_PREFIX):
#   the headers, the library a program loads at run time, and the one
#   libtaskio.so and the conformance program load are all the prefix's, at
#   the version its liburing.pc says (RPATH: CMake links the prefix's
#   liburing.so by its full path).

if(TIO_HAVE_LIBURING AND TIO_LIBURING_PREFIX AND NOT CMAKE_CROSSCOMPILING)
  set(_h ${TIO_LIBURING_PREFIX}/include/liburing/io_uring_version.h)
  if(NOT EXISTS ${_h})
    message(FATAL_ERROR "${_h} is missing: TIO_LIBURING_PREFIX needs liburing 2.4 or later")
  endif()
  file(STRINGS ${_h} _v REGEX "define IO_URING_VERSION_(MAJOR|MINOR)")
  string(REGEX REPLACE ".*MAJOR ([0-9]+).*MINOR ([0-9]+).*" "\\1.\\2" _v "${_v}")
  message(STATUS "taskio: liburing headers in ${TIO_LIBURING_PREFIX} say IO_URING_VERSION ${_v}")
  if(NOT _v STREQUAL LIBURING_VERSION)
    message(FATAL_ERROR "liburing.pc says ${LIBURING_VERSION}, its headers ${_v}")
  endif()

  add_executable(liburing-version ${PROJECT_SOURCE_DIR}/tests/liburing/version.c)
  target_link_libraries(liburing-version PRIVATE taskio_static)
  target_compile_options(liburing-version PRIVATE ${TIO_WARN})
  target_compile_definitions(liburing-version PRIVATE _GNU_SOURCE) # liburing.h needs it
  add_test(NAME liburing.version COMMAND liburing-version ${LIBURING_VERSION})
  set_tests_properties(liburing.version PROPERTIES TIMEOUT 30)
  set(_files "$<TARGET_FILE:taskio>;$<TARGET_FILE:liburing-version>")
  if(TARGET conformance)
    string(APPEND _files ";$<TARGET_FILE:conformance>")
  endif()
  add_test(NAME liburing.linked
    COMMAND ${CMAKE_COMMAND} -DPREFIX=${TIO_LIBURING_PREFIX} "-DFILES=${_files}"
            -P ${PROJECT_SOURCE_DIR}/cmake/check-liburing-linked.cmake)
  set_tests_properties(liburing.linked PROPERTIES TIMEOUT 30)
endif()

if(TIO_TEST_LIBURING_NEWEST AND TIO_HAVE_LIBURING AND NOT CMAKE_CROSSCOMPILING)
  set(TIO_LIBURING_NEWEST_DIR ${CMAKE_BINARY_DIR}/liburing-newest CACHE PATH
      "Where build.liburing_newest builds liburing (prefix/, and its cache/)")
  set(TIO_LIBURING_SUITE sid CACHE STRING
      "Debian suite whose liburing source build.liburing_newest builds")
  add_test(NAME build.liburing_newest
    COMMAND ${CMAKE_COMMAND}
      -DSOURCE_DIR=${PROJECT_SOURCE_DIR}
      -DBINARY_DIR=${CMAKE_BINARY_DIR}/liburing-newest-build
      -DLIBURING_DIR=${TIO_LIBURING_NEWEST_DIR}
      -DSUITE=${TIO_LIBURING_SUITE}
      "-DGENERATOR=${CMAKE_GENERATOR}"
      -DCTEST=${CMAKE_CTEST_COMMAND}
      -DC_COMPILER=${CMAKE_C_COMPILER}
      -DBUILD_TYPE=${CMAKE_BUILD_TYPE}
      -DWERROR=${TIO_WERROR}
      -P ${PROJECT_SOURCE_DIR}/cmake/liburing-newest-test.cmake)
  set_tests_properties(build.liburing_newest PROPERTIES TIMEOUT 900)
endif()
