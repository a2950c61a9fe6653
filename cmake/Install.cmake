# What `cmake --install build --prefix P` puts in P, and the Debian package CPack builds from it:
#
#   P/bin/troupe
#   P/share/troupe/programs/*.json     the built-in node programs (programs_dir() looks here:
#                                      <exe>/../share/troupe/programs)
#   P/share/troupe/scenarios/          the examples (and scenarios/data/)
#   P/include/troupe/<area>/*.hpp      the engine's headers, by their path from the root
#   P/lib/libtroupe_<area>.a           one static library per area
#   P/lib/cmake/Troupe/                the CMake package: find_package(Troupe), troupe::engine
include(CMakePackageConfigHelpers)

set(TROUPE_INSTALL_PROGRAMSDIR ${CMAKE_INSTALL_DATADIR}/troupe/programs)
set(TROUPE_INSTALL_SCENARIOSDIR ${CMAKE_INSTALL_DATADIR}/troupe/scenarios)
set(TROUPE_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/Troupe)

install(TARGETS troupe RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/backends/programs/ DESTINATION ${TROUPE_INSTALL_PROGRAMSDIR}
        FILES_MATCHING PATTERN "*.json")
install(DIRECTORY ${CMAKE_SOURCE_DIR}/scenarios/ DESTINATION ${TROUPE_INSTALL_SCENARIOSDIR})

# The engine's headers keep their paths from the root: `#include "actors/runner.hpp"`.
foreach(area actors jobs report sim backends services workloads expectations apps/catalog)
  install(DIRECTORY ${CMAKE_SOURCE_DIR}/${area}/
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/troupe/${area} FILES_MATCHING PATTERN "*.hpp"
          PATTERN programs EXCLUDE)
endforeach()

set(troupe_libraries troupe_deps troupe_core troupe_jobs troupe_sim troupe_report troupe_workloads
    troupe_expectations troupe_backends troupe_services troupe_catalog troupe_engine)
set_target_properties(troupe_deps PROPERTIES EXPORT_NAME deps)
install(TARGETS ${troupe_libraries} EXPORT TroupeTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(EXPORT TroupeTargets NAMESPACE troupe:: DESTINATION ${TROUPE_INSTALL_CMAKEDIR})

configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/TroupeConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/cmake/TroupeConfig.cmake
                              INSTALL_DESTINATION ${TROUPE_INSTALL_CMAKEDIR}
                              PATH_VARS TROUPE_INSTALL_PROGRAMSDIR TROUPE_INSTALL_SCENARIOSDIR)
# 0.x: a new minor version may change the API.
write_basic_package_version_file(${CMAKE_BINARY_DIR}/cmake/TroupeConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/cmake/TroupeConfig.cmake
              ${CMAKE_BINARY_DIR}/cmake/TroupeConfigVersion.cmake
              ${CMAKE_SOURCE_DIR}/cmake/TroupeImportedDeps.cmake
        DESTINATION ${TROUPE_INSTALL_CMAKEDIR})

# -- the Debian package: `cpack -G DEB` in build/ (or the `package` target) --------------------
# Depends is what running troupe needs, read from the one list scripts/setup.sh also installs.
file(STRINGS ${CMAKE_SOURCE_DIR}/scripts/runtime-packages.txt runtime_lines)
set(runtime_packages)
foreach(line ${runtime_lines})
  string(REGEX REPLACE "#.*" "" line "${line}")
  string(STRIP "${line}" line)
  if(line)
    list(APPEND runtime_packages ${line})
  endif()
endforeach()
list(JOIN runtime_packages ", " CPACK_DEBIAN_PACKAGE_DEPENDS)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${CMAKE_SOURCE_DIR}/scripts/runtime-packages.txt)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME troupe)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "Troupe developers <troupe@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "test networks of nodes: deterministic simulation, live nodes, job campaigns")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # troupe_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
# cpack installs the build as it is instead of building `all` first (the `package` target still
# builds everything): packaging never rebuilds the project behind a running test.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)
include(CPack)
