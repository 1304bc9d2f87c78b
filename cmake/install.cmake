# SPDX-License-Identifier: MIT
# What `cmake --install` puts under the prefix: the command, both libraries, the headers, the
# data the command looks up (share/minicnn), the man page, bash completion, minicnn.pc and the
# CMake package (find_package(minicnn) -> minicnn::minicnn, minicnn::minicnn_static).
include(CMakePackageConfigHelpers)

set(MC_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/minicnn)

install(TARGETS minicnn minicnn_shared EXPORT minicnnTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} NAMELINK_COMPONENT Development
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/minicnn
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
install(FILES ${PROJECT_BINARY_DIR}/include/minicnn/version.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/minicnn)

install(EXPORT minicnnTargets NAMESPACE minicnn:: DESTINATION ${MC_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/minicnnConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/minicnnConfig.cmake
                              INSTALL_DESTINATION ${MC_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/minicnnConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/minicnnConfig.cmake
              ${PROJECT_BINARY_DIR}/minicnnConfigVersion.cmake DESTINATION ${MC_CMAKE_DIR})

# pkg-config: relative to the .pc file's own place, so the prefix may move.
file(RELATIVE_PATH MC_PC_TO_PREFIX ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
configure_file(${PROJECT_SOURCE_DIR}/cmake/minicnn.pc.in ${PROJECT_BINARY_DIR}/minicnn.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/minicnn.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

if(MC_BUILD_APPS)
  install(TARGETS minicnn-cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/data/networks
          DESTINATION ${CMAKE_INSTALL_DATADIR}/minicnn)
  # The MNIST digits (data/prepare-mnist), when prepared before configuring.
  if(EXISTS ${PROJECT_SOURCE_DIR}/data/mnist/t10k-labels-idx1-ubyte)
    install(DIRECTORY ${PROJECT_SOURCE_DIR}/data/mnist DESTINATION ${CMAKE_INSTALL_DATADIR}/minicnn
            FILES_MATCHING PATTERN "*-ubyte")
  endif()
  install(FILES ${PROJECT_SOURCE_DIR}/docs/minicnn.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
  install(FILES ${PROJECT_SOURCE_DIR}/scripts/completion/minicnn.bash
          DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME minicnn)
endif()
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE ${PROJECT_SOURCE_DIR}/CHANGELOG.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
