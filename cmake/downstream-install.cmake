# SPDX-License-Identifier: MIT
# downstream.install (cmake/downstream.cmake):
#
#   cmake -DBUILD_DIR= -DWORK= -DLIBDIR= -DINCLUDEDIR= -P downstream-install.cmake
#
# Installs BUILD_DIR into WORK/prefix for the downstream.* consumers, and
# once more with DESTDIR=WORK/stage and prefix /opt/taskio, checking that a
# staged install lands under DESTDIR and that taskio.pc names the final prefix.
foreach(_v BUILD_DIR WORK LIBDIR INCLUDEDIR)
  if(NOT ${_v})
    message(FATAL_ERROR "downstream-install.cmake: -D${_v}= is required")
  endif()
endforeach()

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "failed (${_rc}): ${ARGN}")
  endif()
endfunction()

set(_prefix ${WORK}/prefix)
file(REMOVE_RECURSE ${_prefix} ${WORK}/stage)
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${_prefix})

set(_expect
  ${INCLUDEDIR}/taskio.h
  ${LIBDIR}/pkgconfig/taskio.pc
  ${LIBDIR}/cmake/taskio/taskioConfig.cmake
  ${LIBDIR}/cmake/taskio/taskioConfigVersion.cmake
  ${LIBDIR}/cmake/taskio/taskioTargets.cmake)
if(WIN32)
  list(APPEND _expect ${LIBDIR}/libtaskio.a)
else()
  list(APPEND _expect ${LIBDIR}/libtaskio.a ${LIBDIR}/libtaskio.so ${LIBDIR}/libtaskio.so.0)
endif()
foreach(_f IN LISTS _expect)
  if(NOT EXISTS ${_prefix}/${_f})
    message(FATAL_ERROR "cmake --install did not install ${_f}")
  endif()
endforeach()
file(STRINGS ${_prefix}/${LIBDIR}/pkgconfig/taskio.pc _pc_prefix REGEX "^prefix=")
if(NOT _pc_prefix STREQUAL "prefix=${_prefix}")
  message(FATAL_ERROR "taskio.pc says ${_pc_prefix}, installed to ${_prefix}")
endif()
message(STATUS "installed to ${_prefix}")

# DESTDIR: staged under WORK/stage/opt/taskio, taskio.pc saying /opt/taskio.
set(ENV{DESTDIR} ${WORK}/stage)
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix /opt/taskio)
unset(ENV{DESTDIR})
set(_staged ${WORK}/stage/opt/taskio)
foreach(_f IN LISTS _expect)
  if(NOT EXISTS ${_staged}/${_f})
    message(FATAL_ERROR "DESTDIR install did not put ${_f} under ${WORK}/stage/opt/taskio")
  endif()
endforeach()
file(STRINGS ${_staged}/${LIBDIR}/pkgconfig/taskio.pc _pc_prefix REGEX "^prefix=")
if(NOT _pc_prefix STREQUAL "prefix=/opt/taskio")
  message(FATAL_ERROR "staged taskio.pc says ${_pc_prefix}, not prefix=/opt/taskio")
endif()
file(GLOB_RECURSE _all RELATIVE ${WORK}/stage ${WORK}/stage/*)
list(LENGTH _all _n)
message(STATUS "DESTDIR install: ${_n} files under ${WORK}/stage/opt/taskio")
