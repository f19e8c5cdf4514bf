# SPDX-License-Identifier: MIT
# build.macos_x86_64, build.macos_aarch64: the library, tio-bench and the
# Check programs cross-compiled and linked for macOS with zig 0.11 from the
# npm registry (scripts/macos-cross.sh). They fail when anything does not
# compile warning-free or link, and skip (77) only when zig cannot be had.
# Caches (zig, Check for macOS, the build trees) in TIO_MACOS_DIR.
option(TIO_TEST_MACOS
       "Test build.macos_*: cross-compile and link for macOS with zig (fetched from the npm registry)"
       OFF)
set(TIO_MACOS_DIR "${PROJECT_SOURCE_DIR}/build/macos" CACHE PATH
    "Where the macOS cross builds keep zig, Check and their build trees")

if(TIO_TEST_MACOS AND CMAKE_SYSTEM_NAME STREQUAL "Linux" AND NOT CMAKE_CROSSCOMPILING)
  foreach(_arch x86_64 aarch64)
    add_test(NAME build.macos_${_arch}
             COMMAND sh ${PROJECT_SOURCE_DIR}/scripts/macos-cross.sh ${_arch}-macos
                     ${TIO_MACOS_DIR})
    # One zig download and unpack at a time.
    set_tests_properties(build.macos_${_arch} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 900
                         RESOURCE_LOCK tio_macos_zig)
  endforeach()
endif()
