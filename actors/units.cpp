#include "actors/units.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace troupe {

namespace {

// Reads a non-negative decimal number at `pos`; advances `pos`. No sign, no exponent: unit
// strings are written by people, and "1e3s" is more likely a typo than an intent.
std::optional<double> read_number(const std::string& s, size_t& pos) {
  size_t start = pos;
  bool digits = false, dot = false;
  while (pos < s.size()) {
    char c = s[pos];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      digits = true;
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      break;
    }
    ++pos;
  }
  if (!digits)
    return std::nullopt;
  return std::strtod(s.substr(start, pos - start).c_str(), nullptr);
}

std::string read_unit(const std::string& s, size_t& pos) {
  size_t start = pos;
  while (pos < s.size() && (std::isalpha(static_cast<unsigned char>(s[pos])) || s[pos] == '/'))
    ++pos;
  return s.substr(start, pos - start);
}

std::string trim_number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

} // namespace

std::optional<duration> parse_duration(const std::string& text) {
  static constexpr struct {
    const char* unit;
    int64_t ns;
  } units[] = {{"ns", 1},
               {"us", 1'000},
               {"ms", 1'000'000},
               {"s", 1'000'000'000},
               {"m", 60'000'000'000},
               {"h", 3'600'000'000'000}};
  if (text.empty())
    return std::nullopt;
  size_t pos = 0;
  double total = 0;
  while (pos < text.size()) {
    auto n = read_number(text, pos);
    if (!n)
      return std::nullopt;
    auto unit = read_unit(text, pos);
    bool found = false;
    for (auto& u : units)
      if (unit == u.unit) {
        total += *n * static_cast<double>(u.ns);
        found = true;
      }
    if (!found)
      return std::nullopt;
  }
  if (total > 9.2e18)
    return std::nullopt;
  return duration{static_cast<int64_t>(std::llround(total))};
}

std::string format_duration(duration d) {
  int64_t ns = d.count();
  if (ns == 0)
    return "0s";
  std::string out;
  if (ns < 0) {
    out = "-";
    ns = -ns;
  }
  // Whole hours/minutes/seconds as a compound ("1m30s"); a sub-second rest in the single
  // unit that prints it exactly ("1s250ms", "250ms", "100us").
  static constexpr struct {
    const char* unit;
    int64_t ns;
  } units[] = {{"h", 3'600'000'000'000}, {"m", 60'000'000'000}, {"s", 1'000'000'000},
               {"ms", 1'000'000},        {"us", 1'000},         {"ns", 1}};
  for (auto& u : units) {
    if (ns >= u.ns) {
      // Below one second, one unit only: the finest that divides the rest exactly.
      if (u.ns < 1'000'000'000) {
        int64_t unit = u.ns;
        while (ns % unit != 0)
          unit /= 1000;
        const char* name = unit == 1'000'000 ? "ms" : unit == 1'000 ? "us" : "ns";
        out += std::to_string(ns / unit) + name;
        return out;
      }
      out += std::to_string(ns / u.ns) + u.unit;
      ns %= u.ns;
      if (ns == 0)
        return out;
    }
  }
  return out;
}

std::string format_seconds(duration d) {
  const double s = std::chrono::duration<double>(d).count();
  char buf[32];
  if (s < 1.0 && s > -1.0)
    std::snprintf(buf, sizeof buf, "%.0fms", s * 1e3);
  else if (s < 60.0)
    std::snprintf(buf, sizeof buf, "%.2fs", s);
  else
    return format_duration(std::chrono::duration_cast<std::chrono::seconds>(d));
  return buf;
}

std::optional<double> parse_rate(const std::string& text) {
  size_t pos = 0;
  auto n = read_number(text, pos);
  if (!n)
    return std::nullopt;
  auto unit = text.substr(pos);
  if (unit == "/s")
    return *n;
  if (unit == "/m")
    return *n / 60.0;
  if (unit == "/h")
    return *n / 3600.0;
  return std::nullopt;
}

std::string format_rate(double per_second) {
  // Prefer the unit that prints a whole number, so "600/m" stays "600/m"... but the value
  // is stored per second; "10/s" is the canonical form when it is whole.
  if (per_second == std::floor(per_second))
    return trim_number(per_second) + "/s";
  double per_minute = per_second * 60.0;
  if (std::fabs(per_minute - std::round(per_minute)) < 1e-9)
    return trim_number(std::round(per_minute)) + "/m";
  double per_hour = per_second * 3600.0;
  if (std::fabs(per_hour - std::round(per_hour)) < 1e-9)
    return trim_number(std::round(per_hour)) + "/h";
  return trim_number(per_second) + "/s";
}

std::optional<uint64_t> parse_bandwidth(const std::string& text) {
  size_t pos = 0;
  auto n = read_number(text, pos);
  if (!n)
    return std::nullopt;
  auto unit = text.substr(pos);
  double mult = 0;
  if (unit == "bps")
    mult = 1;
  else if (unit == "kbps" || unit == "Kbps")
    mult = 1e3;
  else if (unit == "Mbps")
    mult = 1e6;
  else if (unit == "Gbps")
    mult = 1e9;
  else
    return std::nullopt;
  double v = *n * mult;
  if (v > 1.8e19)
    return std::nullopt;
  return static_cast<uint64_t>(std::llround(v));
}

std::string format_bandwidth(uint64_t bps) {
  if (bps >= 1'000'000'000 && bps % 1'000'000 == 0)
    return trim_number(static_cast<double>(bps) / 1e9) + "Gbps";
  if (bps >= 1'000'000 && bps % 1'000 == 0)
    return trim_number(static_cast<double>(bps) / 1e6) + "Mbps";
  if (bps >= 1'000 && bps % 1'000 == 0)
    return trim_number(static_cast<double>(bps) / 1e3) + "kbps";
  return std::to_string(bps) + "bps";
}

} // namespace troupe
