# SPDX-License-Identifier: MIT
# Run PROGRAM once per backend in BACKENDS (comma-separated) with TIO_BACKEND
# set, and fail unless every output equals the first one.
string(REPLACE "," ";" _backends "${BACKENDS}")
set(_first "")
foreach(_b IN LISTS _backends)
  execute_process(COMMAND ${CMAKE_COMMAND} -E env TIO_BACKEND=${_b} ${PROGRAM} ${DIR}
                  OUTPUT_VARIABLE _out ERROR_VARIABLE _err RESULT_VARIABLE _rc)
  string(APPEND _out "exit status ${_rc}\n${_err}")
  message("--- ${_b}\n${_out}")
  if(_first STREQUAL "")
    set(_first "${_out}")
    set(_first_name ${_b})
  elseif(NOT _out STREQUAL _first)
    message(FATAL_ERROR "transcript differs: ${_b} against ${_first_name}")
  endif()
endforeach()
message("same transcript on ${BACKENDS}")
