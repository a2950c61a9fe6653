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
# libpq (libpq-dev) for the PostgreSQL job store (jobs/pg_store.*).
find_package(PostgreSQL REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(ZLIB REQUIRED)

# CAF and cpp-httplib: found by hand, the same way the installed package finds them.
include(${CMAKE_CURRENT_LIST_DIR}/TroupeImportedDeps.cmake)
if(TROUPE_DEPS_MISSING)
  message(FATAL_ERROR "${TROUPE_DEPS_MISSING}")
endif()

# What the engine's headers and libraries need; installed and exported with the engine
# (troupe::deps), so the link line of an outside project is the same.
add_library(troupe_deps INTERFACE)
target_link_libraries(troupe_deps INTERFACE troupe_ext::caf_core troupe_ext::caf_io troupe_ext::httplib
  troupe_ext::re2
  nlohmann_json::nlohmann_json spdlog::spdlog fmt::fmt prometheus-cpp::pull
  prometheus-cpp::core SQLite::SQLite3 PostgreSQL::PostgreSQL OpenSSL::SSL OpenSSL::Crypto ZLIB::ZLIB Threads::Threads)
