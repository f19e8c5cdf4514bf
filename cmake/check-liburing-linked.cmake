# SPDX-License-Identifier: MIT
# cmake -DPREFIX=dir -DFILES="a;b" -P check-liburing-linked.cmake
#
# Fails unless every file in FILES (an executable or shared library) loads
# liburing.so from PREFIX/lib at run time, as ldd resolves it.
foreach(_f IN LISTS FILES)
  execute_process(COMMAND ldd ${_f} OUTPUT_VARIABLE _out RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "ldd ${_f} failed:\n${_out}")
  endif()
  string(REGEX MATCH "liburing\\.so[^\n]*" _line "${_out}")
  string(FIND "${_line}" "=> ${PREFIX}/lib/" _at)
  if(_at EQUAL -1)
    message(FATAL_ERROR "${_f} does not load liburing from ${PREFIX}/lib:\n${_out}")
  endif()
  message(STATUS "${_f}: ${_line}")
endforeach()
