#include "actors/units.hpp"

#include <regex>

#include <gtest/gtest.h>

using namespace troupe;
using namespace std::chrono_literals;

TEST(units, durations_parse_as_written) {
  EXPECT_EQ(parse_duration("250ms"), duration{250ms});
  EXPECT_EQ(parse_duration("2s"), duration{2s});
  EXPECT_EQ(parse_duration("10m"), duration{10min});
  EXPECT_EQ(parse_duration("1h"), duration{1h});
  EXPECT_EQ(parse_duration("1m30s"), duration{90s});
  EXPECT_EQ(parse_duration("1.5s"), duration{1500ms});
  EXPECT_EQ(parse_duration("100us"), duration{100us});
  EXPECT_EQ(parse_duration("0s"), duration{0});
}

TEST(units, malformed_durations_are_rejected) {
  for (const char* bad : {"", "10", "ms", "10 s", "10x", "-5s", "1e3s", "five seconds", "1s2"})
    EXPECT_FALSE(parse_duration(bad)) << bad;
}

TEST(units, durations_print_canonically_and_round_trip) {
  EXPECT_EQ(format_duration(250ms), "250ms");
  EXPECT_EQ(format_duration(10min), "10m");
  EXPECT_EQ(format_duration(90s), "1m30s");
  EXPECT_EQ(format_duration(1500ms), "1s500ms");
  EXPECT_EQ(format_duration(1h), "1h");
  EXPECT_EQ(format_duration(duration{0}), "0s");
  for (auto d : {duration{1}, duration{999}, duration{1234567}, duration{3723000000000},
                 duration{50ms}, duration{1h + 1ms}})
    EXPECT_EQ(parse_duration(format_duration(d)), d) << format_duration(d);
}

TEST(units, rates_parse_and_round_trip) {
  EXPECT_DOUBLE_EQ(*parse_rate("10/s"), 10.0);
  EXPECT_DOUBLE_EQ(*parse_rate("600/m"), 10.0);
  EXPECT_DOUBLE_EQ(*parse_rate("2/h"), 2.0 / 3600);
  EXPECT_FALSE(parse_rate("10"));
  EXPECT_FALSE(parse_rate("10/d"));
  EXPECT_EQ(format_rate(10.0), "10/s");
  EXPECT_EQ(format_rate(0.5), "30/m");
  EXPECT_EQ(format_rate(2.0 / 3600), "2/h");
  for (double r : {10.0, 0.5, 2.0 / 3600, 1234.0})
    EXPECT_NEAR(*parse_rate(format_rate(r)), r, 1e-12);
}

TEST(units, bandwidth_parses_decimal_bits) {
  EXPECT_EQ(parse_bandwidth("10Mbps"), 10'000'000u);
  EXPECT_EQ(parse_bandwidth("1Gbps"), 1'000'000'000u);
  EXPECT_EQ(parse_bandwidth("500kbps"), 500'000u);
  EXPECT_EQ(parse_bandwidth("64bps"), 64u);
  EXPECT_FALSE(parse_bandwidth("10MB"));
  EXPECT_FALSE(parse_bandwidth("fast"));
  EXPECT_EQ(format_bandwidth(10'000'000), "10Mbps");
  EXPECT_EQ(format_bandwidth(1'500'000'000), "1.5Gbps");
  for (uint64_t b : {64ull, 500'000ull, 10'000'000ull, 1'500'000'000ull, 1234ull})
    EXPECT_EQ(parse_bandwidth(format_bandwidth(b)), b);
}

// The JSON Schema patterns (units.hpp) say what the parsers accept: editors and
// `troupe schema` users see the same rule validation applies.
TEST(units, patterns_accept_what_the_parsers_accept) {
  const std::regex duration{duration_pattern}, rate{rate_pattern}, bandwidth{bandwidth_pattern};
  for (const char* text :
       {"250ms",   "2s",    "10m",          "1h",      "1m30s",  "1.5s",    ".5s",   "5.s",
        "100us",   "10ns",  "0s",           "",        "10",     "ms",      "10 s",  "10x",
        "-5s",     "1e3s",  "five seconds", "1s2",     "1.5.5s", "1mss",    "1sm",   "10/s",
        "600/m",   "2/h",   "1.5/s",        "10/x",    "/s",     "10Mbps",  "1Gbps", "500kbps",
        "500Kbps", "64bps", "10MB",         "10 Mbps", "Mbps",   "1.5Gbps", "10mbps"}) {
    const std::string t = text;
    EXPECT_EQ(std::regex_search(t, duration), parse_duration(t).has_value()) << t;
    EXPECT_EQ(std::regex_search(t, rate), parse_rate(t).has_value()) << t;
    EXPECT_EQ(std::regex_search(t, bandwidth), parse_bandwidth(t).has_value()) << t;
  }
}
