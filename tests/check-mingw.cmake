# SPDX-License-Identifier: MIT
# Find the cross-built Check (scripts/build-check-mingw.sh) for a mingw-w64
# build, where pkg-config would report the host's Check. Included by
# tests/CMakeLists.txt when cross-compiling for Windows with
# cmake/mingw-w64.cmake, whose CMAKE_FIND_ROOT_PATH has TIO_MINGW_PREFIX
# (default build/windows/deps) and the mingw-w64 sysroot.
#
# Defines the imported target tio_check: link it where the native build links
# PkgConfig::CHECK.

find_path(TIO_CHECK_INCLUDE_DIR check.h
  HINTS "${TIO_MINGW_PREFIX}/include")
# Check installs both libcheck.a and the DLL's import library libcheck.dll.a,
# and find_library prefers the latter on Windows: ask for the static one.
find_library(TIO_CHECK_LIBRARY NAMES libcheck.a
  HINTS "${TIO_MINGW_PREFIX}/lib")
# Check 0.15.2 built with mingw-w64 uses winpthreads' mutexes; link them
# statically so the test programs need no libwinpthread-1.dll under Wine.
find_library(TIO_WINPTHREAD_LIBRARY NAMES libwinpthread.a)

if(NOT TIO_CHECK_INCLUDE_DIR OR NOT TIO_CHECK_LIBRARY OR NOT TIO_WINPTHREAD_LIBRARY)
  message(FATAL_ERROR
    "Check for mingw-w64 not found under TIO_MINGW_PREFIX='${TIO_MINGW_PREFIX}' "
    "(check.h: ${TIO_CHECK_INCLUDE_DIR}, libcheck.a: ${TIO_CHECK_LIBRARY}, "
    "libwinpthread.a: ${TIO_WINPTHREAD_LIBRARY}). Build it with "
    "scripts/build-check-mingw.sh [prefix], or -DTIO_BUILD_TESTS=OFF.")
endif()

add_library(tio_check STATIC IMPORTED)
set_target_properties(tio_check PROPERTIES
  IMPORTED_LOCATION "${TIO_CHECK_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${TIO_CHECK_INCLUDE_DIR}"
  INTERFACE_LINK_LIBRARIES "${TIO_WINPTHREAD_LIBRARY}")
message(STATUS "Check for mingw-w64: ${TIO_CHECK_LIBRARY}")
