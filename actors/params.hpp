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
//
// Describe mode: `params_reader::describe(read)` runs the same reading code over an empty
// object, and every getter records its key (JSON type, unit pattern, bounds, enum, default,
// required); `finish()` closes the object. The result is the JSON Schema (draft 2020-12) of
// what the validator accepts, so `troupe schema` cannot drift from validation. Nested objects
// and lists are read through `section()` and `items()`, which describe them too; a key whose
// value selects which other keys apply (a `one_of` such as a step's "action") is found by
// running `read` once per value, and becomes `if "action" == X then ...` branches.

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
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
  /// True when `key` is present, or in describe mode (where the getter that follows
  /// describes it): for optional values that are read only when given.
  bool given(const char* key) const;
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

  // -- nested objects and lists -------------------------------------------------

  /// Reads the object at `key` with a reader of its own (path `key`); false when absent
  /// (an error "is required: <required>" when `required` is given). In describe mode `read`
  /// describes `key` and this returns false.
  bool section(const char* key, const std::function<void(params_reader&)>& read,
               const char* required = nullptr);
  /// Reads every element of the list at `key` (path `key[i]`) with `read`; `what` names the
  /// list in the error for a value that is not one ("must be <what>, got ..."). In describe
  /// mode `read` describes the list's items.
  void items(const char* key, const char* what, const std::function<void(params_reader&)>& read,
             const char* required = nullptr);

  // -- describe mode (JSON Schema) ------------------------------------------------

  /// The JSON Schema of the object that `read` accepts: `read` runs in describe mode over
  /// `seed` (an empty object, or one naming a variant: {"action": "partition"}); what it
  /// reports is dropped.
  static nlohmann::json describe(const std::function<void(params_reader&)>& read,
                                 const nlohmann::json& seed = nlohmann::json::object());
  /// A reader in describe mode over an empty object, for code that needs several readers
  /// of one object at once (a node's params: its model's and its program's); `schema()` is
  /// what it read so far (choices are not split into branches: use describe() for that).
  static params_reader describer();
  nlohmann::json schema() const;
  bool describing() const noexcept { return describe_ != nullptr; }
  /// Describe mode: adds `fragment` to the schema of `key`, for what a getter cannot say (a
  /// name's pattern, a length limit, a value that may take several shapes). No-op otherwise.
  void describe_key(const char* key, const nlohmann::json& fragment);
  /// Describe mode: a rule over the whole object (e.g. "at least one of these keys").
  void describe_rule(nlohmann::json rule);
  /// Describe mode: `key`'s value selects which other keys apply; `values` are (a value to
  /// read with, the JSON Schema condition that selects it). `one_of` keys are choices already.
  void describe_choices(const char* key,
                        std::vector<std::pair<nlohmann::json, nlohmann::json>> values);

private:
  struct describe_state;
  explicit params_reader(std::shared_ptr<describe_state> d);
  const nlohmann::json* take(const char* key, bool required, const char* what);
  /// Describe mode: records `schema` as `key`'s (and `key` as required).
  void note(const char* key, nlohmann::json schema, bool required);

  const nlohmann::json& obj_;
  std::string path_;
  std::vector<validation_error>& errors_;
  std::set<std::string> known_;
  bool is_object_;
  std::shared_ptr<describe_state> describe_; ///< set in describe mode only
};

/// Reads a whole section with `read(params_reader&)` (unknown keys are errors too); throws
/// validation_failed with every error found. E.g. a backend's params:
///   auto o = read_section(s.backend.params, "backend", read_options);
template <class Read>
auto read_section(const nlohmann::json& j, const std::string& path, Read&& read) {
  std::vector<validation_error> errors;
  params_reader r{j, path, errors};
  auto out = read(r);
  r.finish();
  if (!errors.empty())
    throw validation_failed(std::move(errors));
  return out;
}

} // namespace troupe
