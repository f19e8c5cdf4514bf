# SPDX-License-Identifier: MIT
# The version's test, a few milliseconds:
#
#   version.matches     tio_version(), TIO_VERSION_STRING, TIO_VERSION_MAJOR/
#                       MINOR/PATCH and project(VERSION) agree
#
# Included from the top-level CMakeLists.txt when tests are built.
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
