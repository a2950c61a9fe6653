#pragma once
// What a run of scenarios/etcd-faults-local.json must show in its report.json on any live
// backend that namespaces etcd's members (local, ssh): the verdict, every one of its network
// faults applied and none refused, one relay per directed pair of members, and bytes relayed,
// dropped by cuts and connections cut by the faults.

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace troupe::backends::testing {

inline void expect_every_etcd_network_fault(const nlohmann::json& report) {
  EXPECT_EQ(report["verdict"], "pass") << report["expectations"].dump(2);
  std::vector<std::string> faults;
  for (const auto& f : report["faults"])
    faults.push_back(f["action"]);
  EXPECT_EQ(faults, (std::vector<std::string>{"partition", "partition (one-way)", "set_link",
                                              "set_link", "clog"}))
    << report["faults"].dump(2);
  EXPECT_TRUE(report["refusals"].empty()) << report["refusals"].dump(2);
  const auto& fabric = report["fabric"];
  ASSERT_TRUE(fabric.is_object()) << report.dump(2).substr(0, 2000);
  EXPECT_EQ(fabric["relays"], 6) << "one relay per directed pair of members";
  EXPECT_GT(fabric["totals"]["bytes_relayed"].get<uint64_t>(), 0u);
  EXPECT_GT(fabric["totals"]["bytes_dropped"].get<uint64_t>(), 0u);
  EXPECT_GT(fabric["totals"]["connections_cut"].get<uint64_t>(), 0u);
}

} // namespace troupe::backends::testing
