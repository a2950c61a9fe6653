#pragma once
// Series selectors for scraping live node programs' /metrics (a group's `scrape` key and a
// program's `metrics` key): a Prometheus metric name, optionally with labels that a sample
// must carry, e.g. `etcd_network_peer_sent_bytes_total{To="8e9e05c52164694d"}`. Without
// labels the scraper sums the metric over all its label sets.

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace troupe {

struct series_selector {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels; ///< each must match exactly

  /// Canonical text: `name` or `name{a="x",b="y"}` (quotes and backslashes escaped).
  std::string text() const;
  bool operator==(const series_selector& o) const { return name == o.name && labels == o.labels; }
};

/// True for a Prometheus metric name: [a-zA-Z_:][a-zA-Z0-9_:]*.
bool valid_metric_name(const std::string& s);

/// True for a Prometheus label name: [a-zA-Z_][a-zA-Z0-9_]*.
bool valid_label_name(const std::string& s);

/// Reads a double-quoted label value that starts at s[i] (escapes `\\`, `\"`, `\n`); leaves `i`
/// after the closing quote. Nullopt when s[i] is no quote or the value never closes. Shared by
/// the selector parser and the exposition-format parser.
std::optional<std::string> read_label_value(const std::string& s, size_t& i);

/// Parses `name` or `name{label="value", ...}`. On failure: nullopt, and `*error` (when
/// given) says what is wrong in one phrase.
std::optional<series_selector> parse_series_selector(const std::string& text,
                                                     std::string* error = nullptr);

} // namespace troupe
