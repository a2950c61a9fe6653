#pragma once
// The stores a parametrised test runs against: "sqlite" (a file in a fresh directory) and
// "postgresql" (a fresh database in this process's throwaway cluster,
// tests/support/postgres_cluster.hpp). A test that cannot start PostgreSQL skips with why.
//
//   class MyTest : public testing::TestWithParam<std::string> {};
//   TEST_P(MyTest, X) { auto where = store_location(GetParam(), "x"); if (where.empty()) ... }
//   INSTANTIATE_TEST_SUITE_P(Stores, MyTest, troupe::test::both_stores(), store_name);

#include "tests/support/paths.hpp"
#include "tests/support/postgres_cluster.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <string>

namespace troupe::test {

inline auto both_stores() {
  return testing::Values(std::string("sqlite"), std::string("postgresql"));
}

inline std::string store_name(const testing::TestParamInfo<std::string>& i) { return i.param; }

/// Where the test's store lives: a SQLite path under a fresh directory named `name`, or the
/// URL of a fresh PostgreSQL database named after `name`; "" (with `why` set) when
/// PostgreSQL cannot run here.
inline std::string store_location(const std::string& kind, const std::string& name,
                                  std::string* why = nullptr) {
  if (kind == "sqlite")
    return (fresh_dir(name) / "jobs.db").string();
  auto& pg = postgres_cluster::shared();
  if (!pg.ok()) {
    if (why)
      *why = pg.why();
    return "";
  }
  std::string db;
  for (char c : name)
    db += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '_';
  const auto url = pg.create_database(db);
  if (url.empty() && why)
    *why = "cannot create database " + db + " in the test cluster";
  return url;
}

} // namespace troupe::test

/// Skips the test when its store cannot be had; else `var` is its location.
#define TROUPE_STORE_OR_SKIP(var, kind, name)                                                      \
  std::string var##_why;                                                                           \
  const std::string var = troupe::test::store_location(kind, name, &var##_why);                    \
  if (var.empty())                                                                                 \
  GTEST_SKIP() << var##_why
