#include "actors/scenario/leadership.hpp"

#include "actors/registry.hpp"

namespace troupe {

namespace {

std::optional<leadership> model_answer(const group& g, const registry& reg) {
  const node_kind* k = reg.model(g.node.model);
  if (!k || !k->leads)
    return std::nullopt;
  return k->leads(g);
}

std::optional<leadership> program_answer(const group& g, const registry& reg) {
  const std::string& ref = g.node.program;
  if (is_program_file(ref)) {
    if (!reg.program_file_leadership())
      return std::nullopt;
    return reg.program_file_leadership()(g, ref);
  }
  const node_kind* k = reg.program(ref);
  if (!k || !k->leads)
    return std::nullopt;
  return k->leads(g);
}

} // namespace

std::vector<group_leadership> describe_leadership(const scenario& s, const std::string& backend,
                                                  const registry& reg) {
  std::vector<group_leadership> out;
  for (const auto& g : s.topology.groups) {
    group_leadership gl;
    gl.group = g.name;
    gl.count = g.count;
    gl.role = g.role;
    gl.role_given = g.role_given;
    const bool by_model = g.node.program.empty() || (!g.node.model.empty() && backend == "sim");
    if (by_model) {
      gl.realised_by = "model " + g.node.model;
      gl.answer = model_answer(g, reg);
    } else {
      gl.realised_by = "program " + g.node.program;
      gl.answer = program_answer(g, reg);
    }
    out.push_back(std::move(gl));
  }
  return out;
}

std::string to_string(const group_leadership& g) {
  const bool one = g.count == 1;
  std::string out =
    "group " + g.group + ": " + std::to_string(g.count) + (one ? " node" : " nodes");
  if (!g.answer)
    return out + "; " + g.realised_by + " declares no rule for who produces blocks";
  const auto& a = *g.answer;
  if (!a.decides)
    return out + "; " + a.rule;
  out += a.leads ? (one ? " leads (produces blocks)" : " lead (produce blocks)")
                 : (one ? " follows (produces no blocks)" : " follow (produce no blocks)");
  if (!a.by_role)
    return out + ": " + a.rule;
  out += ": role \"" + g.role + "\"" +
         (g.role_given ? " is given" : " defaults to the group name") + ", and " + a.rule;
  return out;
}

std::optional<std::string> leadership_role_error(const group& g, const registry& reg) {
  // A name that is itself a role says what the group is; any other name deciding whether
  // its nodes produce blocks is the trap this check closes.
  if (g.role_given || g.name == "validator" || g.name == "observer")
    return std::nullopt;
  std::optional<leadership> answers[] = {g.node.model.empty() ? std::nullopt : model_answer(g, reg),
                                         g.node.program.empty() ? std::nullopt
                                                                : program_answer(g, reg)};
  const char* by[] = {"model ", "program "};
  const std::string* what[] = {&g.node.model, &g.node.program};
  for (size_t i = 0; i < 2; ++i) {
    const auto& a = answers[i];
    if (!a || !a->decides || !a->by_role)
      continue;
    return "is required for group \"" + g.name + "\": " + by[i] + *what[i] +
           " produces blocks and decides by role, so without one the group's name would decide "
           "whether its " +
           std::to_string(g.count) + (g.count == 1 ? " node leads" : " nodes lead") +
           "; add \"role\": \"validator\" (produces blocks) or \"role\": \"observer\" (follows)";
  }
  return std::nullopt;
}

} // namespace troupe
