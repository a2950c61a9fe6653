#pragma once
// One expectation's verdict out of a report.json, for tests that read reports.
//
//   EXPECT_TRUE(troupe::test::verdict_of(report, "convergence")["pass"].get<bool>());

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace troupe::test {

/// The verdict in `report["expectations"]` whose `field` ("name" or "kind") is `value`; a
/// test failure (and a null verdict) when there is none.
inline const nlohmann::json& verdict_of(const nlohmann::json& report, const std::string& value,
                                        const char* field = "name") {
  for (const auto& e : report["expectations"])
    if (e[field] == value)
      return e;
  static const nlohmann::json none;
  ADD_FAILURE() << "no expectation with " << field << " " << value;
  return none;
}

} // namespace troupe::test
