#pragma once
// The one registry of kinds a scenario can name: workloads, expectations, node models,
// node programs and backends. apps/catalog fills it (one line per kind), so the runner in
// actors/ never includes workloads/, expectations/ or backends/.

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/backend.hpp"
#include "actors/params.hpp"
#include "actors/run_observer.hpp"
#include "actors/scenario/leadership.hpp"
#include "actors/scenario/scenario.hpp"
#include "actors/scenario/topology.hpp"
#include "actors/sync_endpoint.hpp"

namespace troupe {

struct run_context;

/// A workload or an expectation kind.
struct actor_kind {
  std::string kind;
  std::string summary;
  /// Reads (and so checks) every parameter; problems go to the reader's error list. The
  /// caller reports unknown keys afterwards: validators never call `finish()`.
  std::function<void(params_reader&, const scenario&)> validate;
  /// Spawns the actor for one entry of a validated scenario.
  std::function<caf::actor(caf::actor_system&, std::shared_ptr<const run_context>,
                           const kind_entry&)>
    spawn;
  /// The controls and faults an entry may ask for (workloads that break things: steps,
  /// chaos), with node selectors resolved on `topo`; empty for the others. For
  /// `troupe validate --backend`: each is put to the backend's capability query.
  std::function<std::vector<fault_request>(params_reader&, const scenario&,
                                           const expanded_topology&)>
    faults;
  /// False for kinds that work without nodes (job campaigns, Prometheus queries): only
  /// those may appear in a scenario whose topology has no groups.
  bool needs_nodes = true;
};

/// A node model (sim) or node program (live): only its parameter check lives here; the
/// backend that realises it owns the rest.
struct node_kind {
  std::string kind;
  std::string summary;
  std::function<void(params_reader&, const group&)> validate;
  /// Whether a group's nodes lead (produce blocks) and why (actors/scenario/leadership.hpp);
  /// empty for kinds that declare no rule.
  leadership_rule leads = {};
};

struct backend_kind {
  std::string name;
  std::string summary;
  std::function<void(params_reader&)> validate;
  std::function<backend_ptr()> make;
};

class registry {
public:
  static registry& global();

  void add_workload(actor_kind k) { workloads_[k.kind] = std::move(k); }
  void add_expectation(actor_kind k) { expectations_[k.kind] = std::move(k); }
  void add_model(node_kind k) { models_[k.kind] = std::move(k); }
  void add_program(node_kind k) { programs_[k.kind] = std::move(k); }
  void add_backend(backend_kind k) { backends_[k.name] = std::move(k); }
  /// Programs may also be named by a path to a JSON definition; this checks those.
  void set_program_file_validator(
    std::function<void(params_reader&, const group&, const std::string& path)> v) {
    program_file_validator_ = std::move(v);
  }
  /// Why there are no built-in programs (their directory was not found): said with "none".
  void set_programs_missing(std::string why) { programs_missing_ = std::move(why); }
  /// And who leads for those (a program file's "blocks" section).
  void
  set_program_file_leadership(std::function<leadership(const group&, const std::string& path)> f) {
    program_file_leadership_ = std::move(f);
  }

  /// What the runner reports through (actors/run_observer.hpp); the catalog installs report/.
  void set_reporter(run_reporter r) { reporter_ = std::move(r); }
  void set_views(run_views_factory f) { views_ = std::move(f); }
  /// How a live run serves its sync service to node-side scripts (apps/catalog: HTTP).
  void set_sync_endpoint(sync_endpoint_factory f) { sync_endpoint_ = std::move(f); }
  const sync_endpoint_factory& sync_endpoint() const { return sync_endpoint_; }
  const run_reporter& reporter() const { return reporter_; }
  const run_views_factory& views() const { return views_; }

  const actor_kind* workload(const std::string& k) const { return find(workloads_, k); }
  const actor_kind* expectation(const std::string& k) const { return find(expectations_, k); }
  const node_kind* model(const std::string& k) const { return find(models_, k); }
  const node_kind* program(const std::string& k) const { return find(programs_, k); }
  const backend_kind* backend(const std::string& k) const { return find(backends_, k); }
  const auto& program_file_validator() const { return program_file_validator_; }
  const auto& program_file_leadership() const { return program_file_leadership_; }
  /// Every kind by name (the scenario schema lists them).
  const std::map<std::string, actor_kind>& workloads() const { return workloads_; }
  const std::map<std::string, actor_kind>& expectations() const { return expectations_; }
  const std::map<std::string, node_kind>& models() const { return models_; }
  const std::map<std::string, node_kind>& programs() const { return programs_; }
  const std::map<std::string, backend_kind>& backends() const { return backends_; }

  std::string workload_names() const { return names(workloads_); }
  std::string expectation_names() const { return names(expectations_); }
  std::string model_names() const { return names(models_); }
  std::string program_names() const {
    return programs_.empty() && !programs_missing_.empty() ? "none; " + programs_missing_
                                                           : names(programs_);
  }
  std::string backend_names() const { return names(backends_); }
  /// The workload and expectation kinds that run without nodes.
  std::string nodeless_names() const {
    std::string out;
    for (const auto* m : {&workloads_, &expectations_})
      for (const auto& [kind, k] : *m)
        if (!k.needs_nodes)
          out += (out.empty() ? "" : ", ") + kind;
    return out.empty() ? "none" : out;
  }

private:
  template <class M> static const typename M::mapped_type* find(const M& m, const std::string& k) {
    auto it = m.find(k);
    return it == m.end() ? nullptr : &it->second;
  }
  template <class M> static std::string names(const M& m) {
    std::string out;
    for (const auto& kv : m)
      out += (out.empty() ? "" : ", ") + kv.first;
    return out.empty() ? "none" : out;
  }
  std::map<std::string, actor_kind> workloads_;
  std::map<std::string, actor_kind> expectations_;
  std::map<std::string, node_kind> models_;
  std::map<std::string, node_kind> programs_;
  std::map<std::string, backend_kind> backends_;
  std::function<void(params_reader&, const group&, const std::string&)> program_file_validator_;
  std::string programs_missing_;
  std::function<leadership(const group&, const std::string&)> program_file_leadership_;
  run_reporter reporter_;
  run_views_factory views_;
  sync_endpoint_factory sync_endpoint_;
};

} // namespace troupe
