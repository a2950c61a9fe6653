# All dependencies come from Debian 12 packages; scripts/setup.sh installs them.
find_package(Threads REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(spdlog REQUIRED)
find_package(fmt REQUIRED)
find_package(prometheus-cpp REQUIRED)
find_package(CLI11 REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(GTest REQUIRED)
find_package(benchmark REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(ZLIB REQUIRED)

# CAF 0.17 ships no CMake config in Debian: find it by hand.
find_path(CAF_INCLUDE_DIR caf/all.hpp)
find_library(CAF_CORE_LIBRARY caf_core)
find_library(CAF_IO_LIBRARY caf_io)
if(NOT CAF_INCLUDE_DIR OR NOT CAF_CORE_LIBRARY)
  message(FATAL_ERROR "CAF 0.17 not found: install the Debian package libcaf-dev "
                      "(scripts/setup.sh does it).")
endif()

# cpp-httplib ships no CMake config in Debian, and Debian builds it as a shared library
# (httplib.h only declares most functions): find both.
find_path(HTTPLIB_INCLUDE_DIR httplib.h)
find_library(HTTPLIB_LIBRARY cpp-httplib)
if(NOT HTTPLIB_INCLUDE_DIR OR NOT HTTPLIB_LIBRARY)
  message(FATAL_ERROR "cpp-httplib not found: install the Debian package libcpp-httplib-dev.")
endif()

# RE2 (linear-time regular expressions, for users' log patterns) ships no CMake config in
# Debian 12: find it by hand.
find_path(RE2_INCLUDE_DIR re2/re2.h)
find_library(RE2_LIBRARY re2)
if(NOT RE2_INCLUDE_DIR OR NOT RE2_LIBRARY)
  message(FATAL_ERROR "RE2 not found: install the Debian package libre2-dev "
                      "(scripts/setup.sh does it).")
endif()

add_library(troupe_deps INTERFACE)
target_include_directories(troupe_deps SYSTEM INTERFACE ${CAF_INCLUDE_DIR} ${HTTPLIB_INCLUDE_DIR}
  ${RE2_INCLUDE_DIR})
target_link_libraries(troupe_deps INTERFACE ${CAF_CORE_LIBRARY} ${CAF_IO_LIBRARY} ${HTTPLIB_LIBRARY}
  ${RE2_LIBRARY} nlohmann_json::nlohmann_json spdlog::spdlog fmt::fmt prometheus-cpp::pull
  prometheus-cpp::core SQLite::SQLite3 OpenSSL::SSL OpenSSL::Crypto ZLIB::ZLIB Threads::Threads)
