# SPDX-License-Identifier: MIT
# downstream.* (-DTIO_TEST_DOWNSTREAM=ON; `make test` sets it): taskio as its
# users get it. tests/downstream/consumer.c, a small program, is built and run
#
#   downstream.pkgconfig_shared   with pkg-config against an installed tree
#   downstream.pkgconfig_static   the same, linked -static (taskio.pc's
#                                 Requires.private/Libs.private complete)
#   downstream.find_package_shared  find_package(taskio), taskio::taskio
#   downstream.find_package_static  find_package(taskio), taskio::taskio_static
#   downstream.add_subdirectory   add_subdirectory(<source tree>), static
#   downstream.fetchcontent       FetchContent from the local source tree, shared
#
# The installed tree comes from downstream.install, which runs this build's
# install into build/.../downstream/prefix (and a DESTDIR install, checked).
# Nothing here uses the network.
if(NOT TIO_TEST_DOWNSTREAM OR CMAKE_CROSSCOMPILING OR NOT TIO_INSTALL)
  return()
endif()

set(_tio_ds ${CMAKE_BINARY_DIR}/downstream)
set(_tio_ds_prefix ${_tio_ds}/prefix)
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  message(STATUS "downstream.*: CMAKE_INSTALL_LIBDIR is absolute; the tests are not added")
  return()
endif()
set(_tio_ds_libdir ${_tio_ds_prefix}/${CMAKE_INSTALL_LIBDIR})

add_test(NAME downstream.install
  COMMAND ${CMAKE_COMMAND} -DBUILD_DIR=${CMAKE_BINARY_DIR} -DWORK=${_tio_ds}
          -DLIBDIR=${CMAKE_INSTALL_LIBDIR} -DINCLUDEDIR=${CMAKE_INSTALL_INCLUDEDIR}
          -P ${PROJECT_SOURCE_DIR}/cmake/downstream-install.cmake)
set_tests_properties(downstream.install PROPERTIES TIMEOUT 120
                     FIXTURES_SETUP tio_downstream_prefix)

if(UNIX AND NOT APPLE)
  foreach(_link shared static)
    add_test(NAME downstream.pkgconfig_${_link}
      COMMAND sh ${PROJECT_SOURCE_DIR}/tests/downstream/pkgconfig.sh ${_link}
              ${_tio_ds_prefix} ${_tio_ds_libdir} ${_tio_ds}/pkgconfig_${_link} ${CMAKE_C_COMPILER})
    set_tests_properties(downstream.pkgconfig_${_link} PROPERTIES TIMEOUT 120
                         FIXTURES_REQUIRED tio_downstream_prefix)
  endforeach()
endif()

# scripts/nested-test.sh: ctest --build-and-test would build on one core.
function(tio_downstream_cmake name from link)
  add_test(NAME downstream.${name}
    COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/nested-test.sh ${PROJECT_SOURCE_DIR}/tests/downstream
      ${_tio_ds}/${name} -G ${CMAKE_GENERATOR}
      -DCMAKE_C_COMPILER=${CMAKE_C_COMPILER} -DCMAKE_BUILD_TYPE=Release
      -DTASKIO_FROM=${from} -DTASKIO_LINK=${link} ${ARGN}
      -- ${CMAKE_CTEST_COMMAND} --output-on-failure)
  set_tests_properties(downstream.${name} PROPERTIES TIMEOUT 300)
endfunction()
tio_downstream_cmake(find_package_shared find_package shared -DCMAKE_PREFIX_PATH=${_tio_ds_prefix})
tio_downstream_cmake(find_package_static find_package static -DCMAKE_PREFIX_PATH=${_tio_ds_prefix})
set_tests_properties(downstream.find_package_shared downstream.find_package_static
                     PROPERTIES FIXTURES_REQUIRED tio_downstream_prefix)
tio_downstream_cmake(add_subdirectory add_subdirectory static -DTASKIO_SOURCE_DIR=${PROJECT_SOURCE_DIR})
tio_downstream_cmake(fetchcontent fetchcontent shared -DTASKIO_SOURCE_DIR=${PROJECT_SOURCE_DIR})
