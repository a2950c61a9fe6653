# CAF 0.17 and cpp-httplib ship no CMake config in Debian: find them by hand and make imported
# targets (troupe_ext::caf_core, troupe_ext::caf_io, troupe_ext::httplib). Used by the build
# (cmake/Dependencies.cmake) and by the installed package (TroupeConfig.cmake), so both find
# them the same way. On failure it sets TROUPE_DEPS_MISSING to a message naming the package;
# the includer decides whether that is fatal.
set(TROUPE_DEPS_MISSING "")

if(NOT TARGET troupe_ext::caf_core)
  find_path(CAF_INCLUDE_DIR caf/all.hpp)
  find_library(CAF_CORE_LIBRARY caf_core)
  find_library(CAF_IO_LIBRARY caf_io)
  if(CAF_INCLUDE_DIR AND CAF_CORE_LIBRARY AND CAF_IO_LIBRARY)
    add_library(troupe_ext::caf_core UNKNOWN IMPORTED)
    set_target_properties(troupe_ext::caf_core PROPERTIES IMPORTED_LOCATION "${CAF_CORE_LIBRARY}"
                          INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}")
    add_library(troupe_ext::caf_io UNKNOWN IMPORTED)
    set_target_properties(troupe_ext::caf_io PROPERTIES IMPORTED_LOCATION "${CAF_IO_LIBRARY}"
                          INTERFACE_LINK_LIBRARIES troupe_ext::caf_core)
  else()
    string(APPEND TROUPE_DEPS_MISSING "CAF 0.17 not found: install the Debian package "
           "libcaf-dev (scripts/setup.sh does it). ")
  endif()
endif()

# Debian builds cpp-httplib as a shared library (httplib.h only declares most functions),
# with OpenSSL, zlib and Brotli support: its classes have the members those add, so every
# file that includes httplib.h must see the same CPPHTTPLIB_*_SUPPORT macros, or a
# httplib::Client here is smaller than the library's and its constructor writes past it.
# The macros are the ones its pkg-config file names (Debian's build, when there is none).
if(NOT TARGET troupe_ext::httplib)
  find_path(HTTPLIB_INCLUDE_DIR httplib.h)
  find_library(HTTPLIB_LIBRARY cpp-httplib)
  if(HTTPLIB_INCLUDE_DIR AND HTTPLIB_LIBRARY)
    find_package(PkgConfig QUIET)
    if(PKG_CONFIG_FOUND)
      pkg_check_modules(TROUPE_HTTPLIB_PC QUIET cpp-httplib)
    endif()
    if(TROUPE_HTTPLIB_PC_FOUND)
      set(TROUPE_HTTPLIB_FLAGS ${TROUPE_HTTPLIB_PC_CFLAGS_OTHER})
    else()
      set(TROUPE_HTTPLIB_FLAGS -DCPPHTTPLIB_OPENSSL_SUPPORT -DCPPHTTPLIB_ZLIB_SUPPORT
                               -DCPPHTTPLIB_BROTLI_SUPPORT)
    endif()
    add_library(troupe_ext::httplib UNKNOWN IMPORTED)
    set_target_properties(troupe_ext::httplib PROPERTIES IMPORTED_LOCATION "${HTTPLIB_LIBRARY}"
                          INTERFACE_INCLUDE_DIRECTORIES "${HTTPLIB_INCLUDE_DIR}"
                          INTERFACE_COMPILE_OPTIONS "${TROUPE_HTTPLIB_FLAGS}")
  else()
    string(APPEND TROUPE_DEPS_MISSING
           "cpp-httplib not found: install the Debian package libcpp-httplib-dev. ")
  endif()
endif()
# RE2 (linear-time regular expressions, for users' log patterns) ships no CMake config in
# Debian 12 either.
if(NOT TARGET troupe_ext::re2)
  find_path(RE2_INCLUDE_DIR re2/re2.h)
  find_library(RE2_LIBRARY re2)
  if(RE2_INCLUDE_DIR AND RE2_LIBRARY)
    add_library(troupe_ext::re2 UNKNOWN IMPORTED)
    set_target_properties(troupe_ext::re2 PROPERTIES IMPORTED_LOCATION "${RE2_LIBRARY}"
                          INTERFACE_INCLUDE_DIRECTORIES "${RE2_INCLUDE_DIR}")
  else()
    string(APPEND TROUPE_DEPS_MISSING "RE2 not found: install the Debian package libre2-dev "
           "(scripts/setup.sh does it). ")
  endif()
endif()
string(STRIP "${TROUPE_DEPS_MISSING}" TROUPE_DEPS_MISSING)
