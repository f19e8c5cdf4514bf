# SPDX-License-Identifier: MIT
# CMake toolchain file: cross-compile for 64-bit Windows with Debian's mingw-w64
# (apt-get install gcc-mingw-w64-x86-64 wine) and run the results under Wine.
#
#   cmake -S . -B build/windows \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64.cmake \
#         [-DTIO_MINGW_PREFIX=/path/to/deps]      # default: build/windows/deps
#
# TIO_MINGW_PREFIX is where cross-built dependencies (libcheck, from
# scripts/build-check-mingw.sh) are installed. Test executables are run through
# cmake/wine-run.sh (CMAKE_CROSSCOMPILING_EMULATOR), which ctest uses too.

set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(TIO_MINGW_TRIPLET x86_64-w64-mingw32)
# The plain name follows Debian's alternative (the win32 thread model by
# default); taskio uses Win32 threads directly, so either variant works.
set(CMAKE_C_COMPILER   ${TIO_MINGW_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${TIO_MINGW_TRIPLET}-g++)
set(CMAKE_RC_COMPILER  ${TIO_MINGW_TRIPLET}-windres)

get_filename_component(_tio_repo "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)

# Where cross-built dependencies live. A cache variable, so -D sets it; it is
# passed on to try_compile projects as well.
if(NOT DEFINED TIO_MINGW_PREFIX)
  set(TIO_MINGW_PREFIX "${_tio_repo}/build/windows/deps" CACHE PATH
      "Install prefix of cross-built dependencies (Check) for mingw-w64")
endif()
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES TIO_MINGW_PREFIX)

set(CMAKE_FIND_ROOT_PATH /usr/${TIO_MINGW_TRIPLET})
if(TIO_MINGW_PREFIX)
  list(APPEND CMAKE_FIND_ROOT_PATH "${TIO_MINGW_PREFIX}")
endif()
# Programs (compilers, code generators) come from the host; libraries, headers
# and CMake package files only from the target roots above.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Run target executables (ctest, add_custom_command on targets, try_run) under
# Wine. Through sh so the script's executable bit does not matter.
set(CMAKE_CROSSCOMPILING_EMULATOR /bin/sh "${CMAKE_CURRENT_LIST_DIR}/wine-run.sh")
