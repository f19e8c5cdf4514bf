# SPDX-License-Identifier: MIT
# The documentation's and the version's tests, a second or two in all:
#
#   docs.man_lint       every man/*.3 and man/*.7 passes mandoc -Tlint with no
#                       warning, and its .Xr references name pages that exist
#                       (skipped, 77, where mandoc is not installed)
#   docs.man_coverage   every TIO_API function in include/taskio.h has a page
#   format.check        the C sources are formatted with .clang-format
#                       (scripts/format-check.sh; skipped, 77, without
#                       clang-format)
#   version.matches     tio_version(), TIO_VERSION_STRING, TIO_VERSION_MAJOR/
#                       MINOR/PATCH and project(VERSION) agree
#
# Included from the top-level CMakeLists.txt when tests are built.
# The checks of the sources themselves (pages, format) do not depend on
# how the tree is built: the nested builds of `make test` (sanitizers,
# threads-only) leave them to the top-level one.
option(TIO_TEST_SOURCES "Test the man pages and the sources' format" ON)
if(TIO_TEST_SOURCES AND CMAKE_HOST_UNIX AND NOT CMAKE_CROSSCOMPILING)
  add_test(NAME docs.man_lint
           COMMAND sh ${PROJECT_SOURCE_DIR}/scripts/man-lint.sh lint ${PROJECT_SOURCE_DIR}/man)
  add_test(NAME docs.man_coverage
           COMMAND sh ${PROJECT_SOURCE_DIR}/scripts/man-lint.sh coverage
                   ${PROJECT_SOURCE_DIR}/include/taskio.h ${PROJECT_SOURCE_DIR}/man)
  add_test(NAME format.check COMMAND sh ${PROJECT_SOURCE_DIR}/scripts/format-check.sh)
  set_tests_properties(docs.man_lint docs.man_coverage format.check
                       PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 60)
endif()

add_executable(version_matches ${PROJECT_SOURCE_DIR}/tests/version.c)
# The shared library where its DLL would not be found under Wine: the
# exported symbol is what a program links.
if(WIN32)
  target_link_libraries(version_matches PRIVATE taskio_static)
else()
  target_link_libraries(version_matches PRIVATE taskio)
endif()
target_compile_definitions(version_matches PRIVATE TIO_PROJECT_VERSION="${PROJECT_VERSION}")
target_compile_options(version_matches PRIVATE ${TIO_WARN})
add_test(NAME version.matches COMMAND version_matches)
set_tests_properties(version.matches PROPERTIES TIMEOUT 60)
