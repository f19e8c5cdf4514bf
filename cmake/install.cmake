# SPDX-License-Identifier: MIT
# What `cmake --install` (and `make install`) puts under the prefix:
#
#   include/taskio.h
#   lib/libtaskio.so.0 (SONAME) and libtaskio.so, libtaskio.a
#   lib/pkgconfig/taskio.pc              pkg-config --cflags --libs [--static] taskio
#   lib/cmake/taskio/taskioConfig*.cmake  find_package(taskio): taskio::taskio (shared),
#                                        taskio::taskio_static
#   share/man/man3/*.3, man7/taskio.7    man/'s pages, and links for the other names
#                                        a page documents (cmake/man.cmake)
#
# Included from the top-level CMakeLists.txt, after the library targets.

include(CMakePackageConfigHelpers)

install(TARGETS taskio taskio_static EXPORT taskioTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_SOURCE_DIR}/include/taskio.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

include(${CMAKE_CURRENT_LIST_DIR}/man.cmake)

# ------------------------------------------------------------- pkg-config
# Libs.private and Requires.private are what a static link needs on top of
# -ltaskio: the backends' libraries.
set(TIO_PC_REQUIRES_PRIVATE "")
set(TIO_PC_LIBS_PRIVATE "")
if(TIO_HAVE_LIBURING)
  set(TIO_PC_REQUIRES_PRIVATE "liburing")
endif()
if(UNIX)
  set(TIO_PC_LIBS_PRIVATE "-lpthread")
endif()
# No -DTIO_SHARED (dllimport) on Windows: the header exports functions only,
# which link through the import library without it, and the same flags then
# serve the static library too. The CMake target taskio::taskio has it.
foreach(_dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${_dir}}")
    set(TIO_PC_${_dir} "${CMAKE_INSTALL_${_dir}}")
  else()
    set(TIO_PC_${_dir} "\${prefix}/${CMAKE_INSTALL_${_dir}}")
  endif()
endforeach()
# Two steps, so `cmake --install --prefix DIR` writes DIR into the file: the
# build tree gets taskio.pc.in with everything but the prefix; the install
# script substitutes the prefix it installs to.
set(TIO_PC_PREFIX "@CMAKE_INSTALL_PREFIX@")
configure_file(${CMAKE_CURRENT_LIST_DIR}/taskio.pc.in ${PROJECT_BINARY_DIR}/taskio.pc.in @ONLY)
install(CODE "configure_file(\"${PROJECT_BINARY_DIR}/taskio.pc.in\" \"${PROJECT_BINARY_DIR}/taskio.pc\" @ONLY)")
install(FILES ${PROJECT_BINARY_DIR}/taskio.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# ------------------------------------------------------------- CMake package
set(TIO_NEEDS_THREADS OFF)
if(UNIX)
  set(TIO_NEEDS_THREADS ON)
endif()
set(TIO_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/taskio)
install(EXPORT taskioTargets NAMESPACE taskio:: DESTINATION ${TIO_CMAKE_DIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/taskioConfig.cmake.in
  ${PROJECT_BINARY_DIR}/taskioConfig.cmake INSTALL_DESTINATION ${TIO_CMAKE_DIR})
# 0.x: a new minor version may change the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/taskioConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/taskioConfig.cmake
              ${PROJECT_BINARY_DIR}/taskioConfigVersion.cmake
        DESTINATION ${TIO_CMAKE_DIR})
