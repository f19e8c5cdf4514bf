# SPDX-License-Identifier: MIT
# CMake toolchain file: cross-compile and link for macOS with zig cc (zig
# 0.11 carries the macOS libc headers and libSystem stubs and links Mach-O).
# Nothing built here runs on this machine: the point is that the library,
# tio-bench and the test programs compile and link for macOS.
#
#   cmake -S . -B build/macos/x86_64-macos/build \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/zig-macos.cmake \
#         -DTIO_ZIG_BIN=/path/to/wrappers -DTIO_ZIG_TARGET=x86_64-macos \
#         [-DTIO_MACOS_PREFIX=/path/to/deps]    # Check built for the target
#
# TIO_ZIG_BIN holds zig-cc-<target>, zig-ar and zig-ranlib (scripts/zig.sh
# writes them). scripts/macos-cross.sh does all of this.

set(CMAKE_SYSTEM_NAME Darwin)
if(NOT TIO_ZIG_TARGET MATCHES "^(x86_64|aarch64)-macos")
  message(FATAL_ERROR "TIO_ZIG_TARGET must be x86_64-macos or aarch64-macos (is '${TIO_ZIG_TARGET}')")
endif()
if(TIO_ZIG_TARGET MATCHES "^aarch64")
  set(CMAKE_SYSTEM_PROCESSOR arm64)
else()
  set(CMAKE_SYSTEM_PROCESSOR x86_64)
endif()
# try_compile projects read this file again: pass the settings on.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES TIO_ZIG_BIN TIO_ZIG_TARGET TIO_MACOS_PREFIX)

set(CMAKE_C_COMPILER "${TIO_ZIG_BIN}/zig-cc-${TIO_ZIG_TARGET}")
set(CMAKE_AR "${TIO_ZIG_BIN}/zig-ar" CACHE FILEPATH "zig ar")
set(CMAKE_RANLIB "${TIO_ZIG_BIN}/zig-ranlib" CACHE FILEPATH "zig ranlib")
# No SDK and no xcrun here: zig brings the headers and stubs; the
# deployment target is zig's default for the target (macOS 11).
set(CMAKE_OSX_SYSROOT "" CACHE PATH "" FORCE)
set(CMAKE_OSX_DEPLOYMENT_TARGET "" CACHE STRING "" FORCE)

# Libraries, headers and pkg-config files only from the cross-built prefix;
# programs from the host.
# pkg-config must not report the host's packages (Check, libuv, liburing).
set(CMAKE_FIND_ROOT_PATH "${TIO_MACOS_PREFIX}")
set(ENV{PKG_CONFIG_LIBDIR} "${TIO_MACOS_PREFIX}/lib/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
