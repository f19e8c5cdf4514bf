# SPDX-License-Identifier: MIT
# The benchmark scripts' test, under a second:
#
#   bench.report    bench/compare-report.sh's verdicts (ok, MISS, the range of
#                   single rounds, the noise floor) on a made-up sweep whose
#                   ratios are known (tests/bench/report.sh)
#
# Included from the top-level CMakeLists.txt when tests are built, after
# cmake/docs-tests.cmake (TIO_TEST_SOURCES): like the checks of the sources,
# it does not depend on how the tree is built, and the nested builds of
# `make test` leave it to the top-level one.
if(TIO_TEST_SOURCES AND CMAKE_HOST_UNIX AND NOT CMAKE_CROSSCOMPILING)
  find_program(TIO_BASH bash)
  if(TIO_BASH)
    add_test(NAME bench.report COMMAND ${TIO_BASH} ${PROJECT_SOURCE_DIR}/tests/bench/report.sh
                                       ${PROJECT_SOURCE_DIR})
    set_tests_properties(bench.report PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 60)
  endif()
endif()
