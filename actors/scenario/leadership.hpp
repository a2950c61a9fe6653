#pragma once
// Who produces blocks. Whether a group's nodes lead (produce blocks) is decided by the node
// kind that realises them (the `chain` model, a program's "blocks" section) from the group's
// role, unless a node parameter such as `leader` decides. A role left out defaults to the
// group's name, which is how a group named "watch" used to become 100 block producers
// without a word: `troupe validate` and the first lines of a run now say, per group, whether
// it leads and why, and the scenario reader requires an explicit role where a name would
// otherwise decide (leadership_role_error).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "actors/scenario/scenario.hpp"

namespace troupe {

class registry;

/// A node kind's answer for one group.
struct leadership {
  /// False when troupe does not choose this kind's block producers (etcd makes no blocks;
  /// a program without a "blocks" section makes its own): `leads` and `by_role` mean nothing.
  bool decides = true;
  bool leads = false;
  /// True when the group's role decided (false: a node parameter such as `leader` did).
  bool by_role = true;
  /// The rule that decided, e.g. "model chain leads on every role but \"observer\"".
  std::string rule;
};

/// How a node kind answers (registered beside its validator).
using leadership_rule = std::function<leadership(const group&)>;

/// What `troupe validate` and a run's first lines say about one group.
struct group_leadership {
  std::string group;
  uint32_t count = 0;
  std::string role;
  bool role_given = true;
  std::string realised_by;          ///< "model chain", "program litecoin-regtest"
  std::optional<leadership> answer; ///< none: the kind declares no rule
};

/// Per group, for the world the run uses: the simulator realises a group by its model, live
/// backends by its program (a group with only one of them: that one).
std::vector<group_leadership> describe_leadership(const scenario& s, const std::string& backend,
                                                  const registry& reg);

/// One sentence, e.g. `group watch: 100 nodes lead (produce blocks): role "watch" defaults to
/// the group name, and model chain leads on every role but "observer"`.
std::string to_string(const group_leadership& g);

/// The message for `topology.groups[i].role` when the group leaves its role out although its
/// name is not a role ("validator" or "observer") and the role would decide whether its
/// nodes produce blocks (for its model or its program); none when the default is safe.
std::optional<std::string> leadership_role_error(const group& g, const registry& reg);

} // namespace troupe
