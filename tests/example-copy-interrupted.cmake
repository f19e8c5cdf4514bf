# SPDX-License-Identifier: MIT
# example.copy_interrupted: the copy raises SIGINT itself after a few chunks
# (examples/copy.c --interrupt-after-chunks), so the Ctrl-C path runs at a
# known point. It must exit 130, say how far it got, and leave no destination.
#
#   cmake -DPROGRAM=example-copy -DBACKEND=NAME -DDIR=scratch [-DEMULATOR=/bin/sh,wine-run.sh]
#         -P example-copy-interrupted.cmake
string(REPLACE "," ";" _emulator "${EMULATOR}")
set(_src ${DIR}/example-copy-interrupted.${BACKEND}.src)
set(_dst ${DIR}/example-copy-interrupted.${BACKEND}.dst)
file(REMOVE ${_dst})
execute_process(COMMAND ${_emulator} ${PROGRAM} --backend ${BACKEND} --make-source 5000003
                        --chunk-kib 64 --interrupt-after-chunks 3 ${_src} ${_dst}
                OUTPUT_VARIABLE _out ERROR_VARIABLE _err RESULT_VARIABLE _rc)
message("${_out}${_err}exit status ${_rc}")
if(NOT _rc EQUAL 130)
  message(FATAL_ERROR "exit status ${_rc}, expected 130 (interrupted)")
endif()
if(EXISTS ${_dst})
  message(FATAL_ERROR "the partial destination ${_dst} is still there")
endif()
if(NOT _err MATCHES "interrupted: [0-9]+ of 5000003 bytes copied; partial destination removed")
  message(FATAL_ERROR "no 'interrupted: N of M bytes copied; partial destination removed' message")
endif()
file(REMOVE ${_src})
