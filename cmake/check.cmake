# SPDX-License-Identifier: MIT
# Find Check, the unit-test framework of the suites, and set TIO_CHECK_TARGET
# to the target a test links. Included from the top-level CMakeLists.txt, so
# that tests/ and tests/reliability/ see the same imported target. In order:
#
#   cross-compiling for Windows   tests/check-mingw.cmake (Check cross-built by
#                                 scripts/build-check-mingw.sh): tio_check
#   a CMake package               find_package(check CONFIG): vcpkg's `check`
#                                 port (MSVC) gives Check::check (static
#                                 triplets) or Check::checkShared (x64-windows)
#   pkg-config                    Debian, Homebrew, MSYS2, FreeBSD: PkgConfig::CHECK
if(DEFINED TIO_CHECK_TARGET)
  return()
endif()

if(CMAKE_CROSSCOMPILING AND WIN32)
  include(${PROJECT_SOURCE_DIR}/tests/check-mingw.cmake)
  set(TIO_CHECK_TARGET tio_check)
  return()
endif()

find_package(check CONFIG QUIET)
if(TARGET Check::check)
  set(TIO_CHECK_TARGET Check::check)
elseif(TARGET Check::checkShared)
  set(TIO_CHECK_TARGET Check::checkShared)
else()
  find_package(PkgConfig QUIET)
  if(PkgConfig_FOUND)
    pkg_check_modules(CHECK QUIET IMPORTED_TARGET check)
  endif()
  if(NOT TARGET PkgConfig::CHECK)
    message(FATAL_ERROR "The tests need Check: apt-get install check libsubunit-dev "
                        "(`make deps` does it), `vcpkg install check` with the vcpkg "
                        "toolchain file (MSVC), or -DTIO_BUILD_TESTS=OFF for the library alone")
  endif()
  set(TIO_CHECK_TARGET PkgConfig::CHECK)
endif()
message(STATUS "taskio: Check from ${TIO_CHECK_TARGET}")
