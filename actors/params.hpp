#pragma once
// Reads one JSON object of parameters (a scenario section, a workload's params, a node
// program), checking every key: each problem is appended to `errors` with its JSON path, what
// was found and what is allowed, and reading goes on so that all problems show at once.
// A getter returns the default when the key is absent or wrong; `finish()` reports the keys
// nobody asked for.
//
//   params_reader r{entry, "workloads[0]", errors};
//   double rate = r.rate("rate", 10.0);
//   auto users = r.integer("users", 100, 1, 1'000'000);
//   r.finish();

#include <cstdint>
#include <initializer_list>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/errors.hpp"
#include "actors/units.hpp"

namespace troupe {

/// Renders a JSON value the way error messages quote what was found: cut to a short prefix,
/// escaped, on one line (echo_json in actors/echo.hpp).
std::string describe_json(const nlohmann::json& v);

/// `base.key`, or `key` when base is empty; a key that is not a plain word is quoted
/// (`base["a b"]`, see join_key in actors/echo.hpp).
std::string join_path(const std::string& base, const std::string& key);

class params_reader {
public:
  // -- constructors -----------------------------------------------------------

  /// The reader keeps a reference to `obj`: it must outlive the reader.
  params_reader(const nlohmann::json& obj, std::string path, std::vector<validation_error>& errors);
  /// A temporary would be gone before the first getter reads it (stack-use-after-scope):
  /// name the value first.
  params_reader(const nlohmann::json&& obj, std::string path,
                std::vector<validation_error>& errors) = delete;

  // -- properties -------------------------------------------------------------

  bool has(const char* key) const;
  const std::string& path() const noexcept { return path_; }
  std::vector<validation_error>& errors() noexcept { return errors_; }
  const nlohmann::json& object() const noexcept { return obj_; }
  std::string path_of(const char* key) const { return join_path(path_, key); }
  /// Appends an error at `key` (for checks that span several keys).
  void error(const char* key, const std::string& message);

  // -- typed getters (each marks its key as known) ------------------------------

  std::string string(const char* key, const std::string& fallback, bool required = false);
  std::string one_of(const char* key, std::initializer_list<const char*> allowed,
                     const std::string& fallback, bool required = false);
  int64_t integer(const char* key, int64_t fallback, int64_t min, int64_t max,
                  bool required = false);
  double number(const char* key, double fallback, double min, double max, bool required = false);
  double probability(const char* key, double fallback);
  bool boolean(const char* key, bool fallback);
  duration dur(const char* key, duration fallback, duration min = duration::zero(),
               bool required = false);
  double rate(const char* key, double fallback, bool required = false);
  uint64_t bandwidth(const char* key, uint64_t fallback);
  std::vector<std::string> strings(const char* key);
  /// Nodes as every workload names them: one selector ("all", a group, a node id) or a list
  /// of them. The caller checks each against the topology (check_selector).
  std::vector<std::string> selectors(const char* key);
  /// The raw value (nullptr when absent); the caller checks it.
  const nlohmann::json* raw(const char* key);
  /// Marks keys as known without reading them (handled elsewhere).
  void allow(std::initializer_list<const char*> keys);

  /// Reports every key that no getter asked for. Call once, after all getters.
  void finish();
  /// Like finish(), but keys known to `other` readers of the same object count as known
  /// (a node's params are read by its model and by its program).
  void finish_with(const std::vector<const params_reader*>& others);
  const std::set<std::string>& known() const noexcept { return known_; }

private:
  const nlohmann::json* take(const char* key, bool required, const char* what);

  const nlohmann::json& obj_;
  std::string path_;
  std::vector<validation_error>& errors_;
  std::set<std::string> known_;
  bool is_object_;
};

} // namespace troupe
