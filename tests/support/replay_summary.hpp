#pragma once
// What the original replay-test service reports for a campaign in which every host does its
// job: computed from the slice configuration alone, so tests of the engine and of the
// scenario workload check the same promise the same way.

#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "jobs/replay/replay.hpp"

namespace troupe::test {

/// Every slice replayed, every expected hash supplied by the host of the next slice: all
/// succeed but the last (nobody reports the hash at its end block: HASH_MISMATCH).
inline void expect_complete_campaign_summary(const nlohmann::json& s,
                                             const std::vector<jobs::replay_slice>& slices) {
  int64_t total_blocks = 0, processed = 0;
  for (const auto& sl : slices) {
    if (sl.end_block_id > sl.start_block_id && sl.start_block_id > 0)
      total_blocks += sl.end_block_id - sl.start_block_id;
    processed += sl.end_block_id - sl.start_block_id;
  }
  const auto n = static_cast<int64_t>(slices.size());
  EXPECT_EQ(s["total_jobs"], n);
  EXPECT_EQ(s["total_blocks"], total_blocks);
  EXPECT_EQ(s["blocks_processed"], processed);
  EXPECT_EQ(s["jobs_succeeded"], n - 1);
  EXPECT_EQ(s["jobs_failed"], 1);
  ASSERT_EQ(s["failed_jobs"].size(), 1u);
  EXPECT_EQ(s["failed_jobs"][0]["status"], "HASH_MISMATCH");
  EXPECT_EQ(s["failed_jobs"][0]["configid"], n);
}

} // namespace troupe::test
