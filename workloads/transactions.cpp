#include "workloads/transactions.hpp"

#include <caf/all.hpp>

#include "actors/random.hpp"
#include "actors/run_context.hpp"
#include "actors/scenario/scenario_json.hpp"

namespace troupe::workloads {

namespace transactions_detail {

struct params {
  double rate = 10.0;
  uint32_t users = 100;
  std::string target = "all";
  uint32_t tx_bytes = 250;
  duration start_after{};
  duration stop_before{};
};

params read(params_reader& r, const scenario& s) {
  params p;
  p.rate = r.rate("rate", p.rate, true);
  if (p.rate <= 0 || p.rate > 1e6)
    r.error("rate", "must be a rate above 0/s and at most 1000000/s");
  p.users = static_cast<uint32_t>(r.integer("users", p.users, 1, 10'000'000));
  p.target = r.string("target", p.target);
  check_selector(r, "target", p.target, s);
  p.tx_bytes = static_cast<uint32_t>(r.integer("tx_bytes", p.tx_bytes, 1, 10'000'000));
  p.start_after = r.dur("start_after", p.start_after);
  p.stop_before = r.dur("stop_before", p.stop_before);
  return p;
}

struct state {
  run_context_ptr ctx;
  params p;
  std::string entry_name;
  troupe::rng gen;
  std::vector<node_handle> targets;
  uint64_t next_id = 0;
  bool running = false;
  duration interval{};
  caf::actor_clock::time_point stop_at{};
};

using actor_t = caf::stateful_actor<state>;

caf::behavior behavior(actor_t* self, run_context_ptr ctx, kind_entry entry) {
  auto& st = self->state;
  st.p = read_validated(read, entry, *ctx->scenario);
  st.ctx = ctx;
  st.entry_name = entry.name;
  st.gen = rng::stream(ctx->seed, "workload/" + entry.name);
  st.targets = ctx->select(st.p.target);
  st.interval = duration{static_cast<int64_t>(1e9 / st.p.rate)};
  return {
    [=](start_atom) {
      auto& st = self->state;
      st.running = !st.targets.empty();
      st.stop_at = st.ctx->origin + st.ctx->run_duration - st.p.stop_before;
      self->delayed_send(self, st.p.start_after, tick_atom::value);
    },
    [=](stop_atom) { self->state.running = false; },
    [=](tick_atom) {
      auto& st = self->state;
      if (!st.running || self->clock().now() >= st.stop_at)
        return;
      transaction tx;
      tx.id = st.entry_name + "-" + std::to_string(st.next_id++);
      tx.from = "user-" + std::to_string(st.gen.below(st.p.users));
      tx.to = "user-" + std::to_string(st.gen.below(st.p.users));
      tx.amount = 1 + st.gen.below(1000);
      tx.bytes = st.p.tx_bytes;
      const auto& node = st.targets[st.gen.below(st.targets.size())];
      const int64_t sent_ns = st.ctx->since_start(self->clock().now()).count();
      auto runner = st.ctx->runner;
      auto report = [self, runner, sent_ns, id = tx.id, node = node.id](bool ok, std::string why) {
        run_event ev;
        ev.time_ns = sent_ns;
        ev.kind = "tx";
        ev.action = ok ? "submitted" : "rejected";
        ev.nodes = {node};
        ev.detail = ok ? id : id + ": " + why;
        self->send(runner, event_atom::value, std::move(ev));
      };
      self->request(node.actor, std::chrono::seconds(30), submit_tx_atom::value, tx)
        .then([=](const tx_ack& ack) { report(ack.accepted, ack.reason); },
              [=](caf::error& err) { report(false, to_string(err)); });
      self->delayed_send(self, st.interval, tick_atom::value);
    },
  };
}

} // namespace transactions_detail

actor_kind transactions_kind() {
  return make_actor_kind("transactions",
                         "submits transactions at a steady rate to the target nodes",
                         transactions_detail::read, transactions_detail::behavior);
}

} // namespace troupe::workloads
