// Counting log patterns beside the nodes (backends/agent/log_follower, log_counter): only the
// bytes written since the last read, lines cut by a read or by a rotation counted once, the
// supervisor's rotation followed (rotated and removed files read to their end), a pattern
// matched on many lines, examples bounded; and the counts equal what scanning the files gives.

#include <atomic>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "actors/log_scan.hpp"
#include "backends/agent/log_counter.hpp"
#include "backends/agent/log_follower.hpp"
#include "backends/local/supervisor.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/wait.hpp"

using namespace troupe;
using namespace troupe::backends;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

void append(const fs::path& p, const std::string& text) {
  std::ofstream{p, std::ios::binary | std::ios::app} << text;
}

/// What the supervisor does when the log reaches log_bytes_max (supervisor::write_log).
void rotate(const fs::path& log, uint32_t files_max) {
  std::error_code ec;
  if (files_max == 0) {
    fs::remove(log, ec);
  } else {
    for (uint32_t k = files_max; k > 1; --k)
      fs::rename(log.string() + "." + std::to_string(k - 1), log.string() + "." + std::to_string(k),
                 ec);
    fs::rename(log, log.string() + ".1", ec);
  }
  std::ofstream{log, std::ios::binary | std::ios::trunc};
}

agent::log_pattern_count counting(const std::string& pattern, const fs::path& log) {
  return agent::log_pattern_count{{pattern, true}, log};
}

} // namespace

TEST(log_follower, hands_over_only_new_bytes_and_joins_a_line_cut_by_a_read) {
  const auto log = troupe::test::fresh_dir("log-follower-split") / "n.log";
  auto c = counting("^error", log);
  c.scan(); // no log yet: nothing, and no failure
  EXPECT_FALSE(c.result().exists);
  append(log, "info start\nerr");
  c.scan();
  EXPECT_EQ(c.result().lines, 1u);
  EXPECT_EQ(c.result().matches, 0u);
  append(log, "or: disk full\ninfo\n");
  c.scan();
  c.scan(); // nothing new: nothing counted twice
  const auto r = c.result();
  EXPECT_EQ(r.lines, 3u);
  EXPECT_EQ(r.matches, 1u);
  ASSERT_EQ(r.examples.size(), 1u);
  EXPECT_EQ(r.examples[0].line_number, 2u);
  EXPECT_EQ(r.examples[0].text, "error: disk full");
  EXPECT_EQ(r.bytes, fs::file_size(log));
}

TEST(log_follower, follows_the_supervisors_rotation_without_counting_twice) {
  const auto log = troupe::test::fresh_dir("log-follower-rotate") / "n.log";
  append(log, "error 1\n");
  auto c = counting("error", log);
  c.scan();
  // Written before the rotation, read after it (from the file now called .1), then one more
  // rotation before the next read (.1 -> .2, a file never opened -> .1), a line cut in two
  // by the last one.
  append(log, "error 2\n");
  rotate(log, 2);
  append(log, "error 3\n");
  rotate(log, 2);
  append(log, "error 4\nerr");
  rotate(log, 2);
  append(log, "or 5\n");
  c.scan();
  c.scan();
  auto r = c.result();
  EXPECT_EQ(r.matches, 5u);
  EXPECT_EQ(r.lines, 5u);
  EXPECT_EQ(r.examples.back().text, "error 5");
  // Reading the files that are left gives less: the first file (errors 1 and 2) rotated
  // away (log_files_max 2), but the counter had it open.
  std::string why;
  EXPECT_EQ(scan_node_logs(log, compile_log_pattern("error", true, why)).matches, 3u);
}

TEST(log_follower, a_log_removed_at_rotation_is_still_read_to_its_end) {
  const auto log = troupe::test::fresh_dir("log-follower-removed") / "n.log";
  append(log, "match a\n");
  auto c = counting("match", log);
  c.scan();
  append(log, "match b\n"); // after the read, before the removal (log_files_max 0)
  rotate(log, 0);
  append(log, "match c\n");
  c.scan();
  EXPECT_EQ(c.result().matches, 3u);
}

TEST(log_follower, the_first_read_starts_at_the_oldest_rotated_file) {
  const auto log = troupe::test::fresh_dir("log-follower-history") / "n.log";
  append(log, "match old\n");
  rotate(log, 3);
  append(log, "match newer\n");
  rotate(log, 3);
  append(log, "match now\n");
  auto c = counting("match", log);
  c.scan();
  const auto r = c.result();
  EXPECT_EQ(r.matches, 3u);
  EXPECT_EQ(r.examples.front().text, "match old");
  EXPECT_EQ(r.examples.back().line_number, 3u);
}

TEST(log_follower, hands_over_the_stream_in_order_while_the_log_rotates_under_it) {
  // A writer rotating every 1 KiB while the follower reads as fast as it can: whatever the
  // interleaving (a rotation between the follower's stat and its open, or while it lists the
  // rotated files), the bytes handed over are the bytes written, in order, once each.
  const auto log = troupe::test::fresh_dir("log-follower-race") / "n.log";
  std::string written;
  std::atomic<bool> done{false};
  std::thread writer{[&] {
    size_t in_file = 0;
    for (int i = 0; i < 6000; ++i) {
      const auto line = "line " + std::to_string(i) + "\n";
      // Like the supervisor: a line may be cut across two files.
      const size_t room = 1024 - in_file;
      append(log, line.substr(0, std::min(room, line.size())));
      if (line.size() >= room) {
        rotate(log, 100);
        append(log, line.substr(room));
        in_file = line.size() - room;
      } else {
        in_file += line.size();
      }
      written += line;
    }
    done = true;
  }};
  std::string read;
  agent::log_follower f{log};
  const auto sink = [&](const char* d, size_t n) { read.append(d, n); };
  for (int reads = 0; !done && reads < 10'000'000; ++reads)
    f.read_new(sink);
  writer.join();
  f.read_new(sink);
  EXPECT_GT(node_log_files(log).size(), 50u) << "the log rotated";
  ASSERT_EQ(read.size(), written.size());
  EXPECT_TRUE(read == written) << "the stream came out of order";
}

TEST(log_counter, counts_every_line_of_a_node_through_the_supervisors_rotation) {
  // A real process through the supervisor: 3,000 lines of ~24 bytes in 4 KiB files, 100
  // kept, so nothing is lost; the counter reads while the node writes, and ends with what
  // scanning the files gives.
  const auto dir = troupe::test::fresh_dir("log-counter-supervised");
  local::supervisor sup;
  local::process_options o;
  o.id = "chatty";
  o.binary = "/bin/sh";
  o.args = {"-c", "i=0; while [ $i -lt 3000 ]; do echo \"line $i match\"; "
                  "[ $((i % 7)) -eq 0 ] && echo \"line $i other\"; i=$((i+1)); done"};
  o.cwd = dir / "chatty";
  o.log_path = dir / "chatty.log";
  o.pid_path = dir / "chatty.pid";
  o.log_bytes_max = 4096;
  o.log_files_max = 100;
  const auto slot = sup.add(o);
  std::mutex m;
  std::vector<nlohmann::json> events;
  agent::log_counter counter{[&](const nlohmann::json& e) {
    std::lock_guard<std::mutex> g{m};
    events.push_back(e);
  }};
  counter.set_interval(10ms);
  counter.count(slot, o.id, o.log_path, {{"match$", true}, {"OTHER", false}});
  sup.start(slot);
  ASSERT_TRUE(sup.wait_exit(slot, 60s));
  sup.wait_log_drained(slot, 5s);
  auto r = counter.report(slot, {});
  ASSERT_EQ(r["patterns"].size(), 2u);
  EXPECT_EQ(r["id"], "chatty");
  EXPECT_EQ(r["patterns"][0]["matches"], 3000);
  EXPECT_EQ(r["patterns"][1]["matches"], 0) << "case-sensitive: \"other\" is not \"OTHER\"";
  EXPECT_EQ(r["patterns"][0]["examples"].size(), log_examples_max);
  EXPECT_GT(node_log_files(o.log_path).size(), 10u) << "the log rotated";
  std::string why;
  const auto files = scan_node_logs(o.log_path, compile_log_pattern("match$", true, why));
  EXPECT_EQ(r["patterns"][0]["lines"], files.lines);
  EXPECT_EQ(r["patterns"][0]["matches"], files.matches);
  EXPECT_EQ(r["patterns"][0]["bytes"], files.bytes);
  EXPECT_EQ(r["patterns"][0]["examples"][0]["line"], files.examples[0].line_number);
  // Events went out as the count grew, each naming only what changed, examples only while
  // there were new ones.
  std::lock_guard<std::mutex> g{m};
  ASSERT_FALSE(events.empty());
  uint64_t last = 0;
  size_t with_examples = 0;
  for (const auto& e : events)
    for (const auto& p : e["patterns"]) {
      if (p["pattern"] != "match$")
        continue;
      EXPECT_GE(p["matches"].get<uint64_t>(), last);
      last = p["matches"];
      with_examples += p.contains("examples");
    }
  EXPECT_LE(with_examples, log_examples_max + 1);
}

TEST(log_counter, bad_patterns_and_unknown_slots_are_one_phrase) {
  agent::log_counter counter{[](const nlohmann::json&) {}};
  const auto log = troupe::test::fresh_dir("log-counter-bad") / "n.log";
  try {
    counter.count(0, "n", log, {{"panic(", true}});
    FAIL() << "accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("the log pattern \"panic(\" is not a valid regular "
                                         "expression"),
              std::string::npos)
      << e.what();
  }
  EXPECT_THROW(counter.report(7, {}), std::invalid_argument);
  std::vector<agent::log_pattern_spec> many;
  for (size_t i = 0; i <= agent::log_patterns_max; ++i)
    many.push_back({"p" + std::to_string(i), true});
  EXPECT_THROW(counter.count(1, "n", log, many), std::invalid_argument);
}
