# All dependencies come from Debian 12 packages; scripts/setup.sh installs them. These are
# what the engine and the `troupe` binary need; GoogleTest and Google Benchmark are found in
# CMakeLists.txt, for the tests and benchmarks only (the quick start installs neither).
find_package(Threads REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(spdlog REQUIRED)
find_package(fmt REQUIRED)
find_package(prometheus-cpp REQUIRED)
find_package(CLI11 REQUIRED)
find_package(SQLite3 REQUIRED)
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

add_library(troupe_deps INTERFACE)
target_include_directories(troupe_deps SYSTEM INTERFACE ${CAF_INCLUDE_DIR} ${HTTPLIB_INCLUDE_DIR})
target_link_libraries(troupe_deps INTERFACE ${CAF_CORE_LIBRARY} ${CAF_IO_LIBRARY} ${HTTPLIB_LIBRARY}
  nlohmann_json::nlohmann_json spdlog::spdlog fmt::fmt prometheus-cpp::pull
  prometheus-cpp::core SQLite::SQLite3 OpenSSL::SSL OpenSSL::Crypto ZLIB::ZLIB Threads::Threads)
