#pragma once
// Small node models for the kernel tests: each shows one behaviour.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sim/node_model.hpp"

namespace troupe::sim::testing {

/// A model whose callbacks are lambdas (state lives in the test).
class lambda_model : public node_model {
public:
  std::function<void(node_context&)> start;
  std::function<void(node_context&, node_index, const message&)> receive;
  std::function<void(node_context&, uint64_t)> timer;
  std::function<void(node_context&, node_index, bool)> link;

  void on_link(node_context& ctx, node_index peer, bool up) override {
    if (link)
      link(ctx, peer, up);
  }
  void on_start(node_context& ctx) override {
    if (start)
      start(ctx);
  }
  void on_message(node_context& ctx, node_index from, const message& m) override {
    if (receive)
      receive(ctx, from, m);
  }
  void on_timer(node_context& ctx, uint64_t tag) override {
    if (timer)
      timer(ctx, tag);
  }
  node_status status() const override { return {}; }
  tx_ack submit(node_context&, const transaction&) override { return {true, {}}; }
};

/// What a scripted node saw: (true arrival time, its local clock then, sender, message a).
struct arrival {
  duration at;
  duration local;
  node_index from;
  uint64_t a;
};

/// A node driven from the test through the node protocol: `submit` with `tx.to` = a node
/// index sends one message (`tx.bytes` bytes, a = `tx.amount`) there. Arrivals go to `log`.
class scripted_model : public node_model {
public:
  explicit scripted_model(std::vector<arrival>* log)
    : log_(log) {}

  void on_start(node_context&) override {}
  void on_message(node_context& ctx, node_index from, const message& m) override {
    log_->push_back(arrival{ctx.true_now(), ctx.local_now(), from, m.a});
  }
  void on_timer(node_context&, uint64_t) override {}
  node_status status() const override { return {}; }
  tx_ack submit(node_context& ctx, const transaction& tx) override {
    message m;
    m.kind = 7;
    m.bytes = tx.bytes;
    m.a = tx.amount;
    m.payload_hash = tx.amount;
    ctx.send(static_cast<node_index>(std::stoul(tx.to)), m);
    return {true, {}};
  }

private:
  std::vector<arrival>* log_;
};

/// Random-hop ping chains: each node starts one token with `hops`; a receiver forwards a
/// token with hops > 0 to a uniformly random node. Optionally lets the wall clock leak in.
class hop_model : public node_model {
public:
  hop_model(uint32_t nodes, uint64_t hops, bool leak_wall_clock = false)
    : nodes_(nodes)
    , hops_(hops)
    , leak_(leak_wall_clock) {}

  void on_start(node_context& ctx) override {
    if (hops_ > 0)
      forward(ctx, hops_);
  }
  void on_message(node_context& ctx, node_index, const message& m) override {
    if (m.a > 0)
      forward(ctx, m.a);
  }
  void on_timer(node_context&, uint64_t) override {}
  node_status status() const override { return {}; }
  tx_ack submit(node_context&, const transaction&) override { return {true, {}}; }

private:
  void forward(node_context& ctx, uint64_t hops);

  uint32_t nodes_;
  uint64_t hops_;
  bool leak_;
};

} // namespace troupe::sim::testing
