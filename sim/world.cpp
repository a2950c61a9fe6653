#include "sim/world.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace troupe::sim {

// -- node context -------------------------------------------------------------

/// Built on the stack for each callback: a model may only use it during that callback.
class world::context final : public node_context {
public:
  context(world& w, node_index i)
    : w_(w)
    , i_(i) {
    // nop
  }

  node_index self() const noexcept override { return i_; }
  const std::string& id() const noexcept override { return w_.ids_[i_]; }
  duration local_now() const noexcept override { return w_.local_now(i_); }
  duration true_now() const noexcept override { return w_.kernel_.now(); }
  void send(node_index to, message m) override { w_.send(i_, to, std::move(m)); }
  const std::vector<node_index>& peers() const noexcept override { return w_.peers_[i_]; }
  void set_timer(duration delay, uint64_t tag) override { w_.set_timer(i_, delay, tag); }
  troupe::rng& rng() noexcept override { return w_.nodes_[i_].rng; }
  troupe::rng stream_of(const std::string& name) const noexcept override {
    return troupe::rng::stream(w_.opts_.seed, name);
  }
  std::shared_ptr<persistent_state>& persistent() noexcept override { return w_.persistent_[i_]; }
  void emit(const block_event& ev) override {
    if (!w_.observes(i_, ev.kind))
      return;
    for (auto& f : w_.block_observers_)
      f(ev);
    for (auto& f : w_.block_takers_)
      f(block_event{ev});
  }
  void emit(block_event&& ev) override {
    if (!w_.observes(i_, ev.kind))
      return;
    for (auto& f : w_.block_observers_)
      f(ev);
    for (size_t k = 0; k < w_.block_takers_.size(); ++k)
      w_.block_takers_[k](k + 1 == w_.block_takers_.size() ? std::move(ev) : block_event{ev});
  }
  bool observed() const noexcept override { return w_.observed(i_); }
  bool observes(block_event::kind_t k) const noexcept override { return w_.observes(i_, k); }
  void count(const char* counter, uint64_t n) override { w_.count(counter, n); }

private:
  world& w_;
  node_index i_;
};

// -- constructors -------------------------------------------------------------

world::world(sim::kernel& k, options opts)
  : kernel_(k)
  , opts_(std::move(opts))
  , net_(opts_.default_link)
  , trace_(trace::options{opts_.recent_events_max, opts_.events_path, opts_.events_bytes_max,
                          opts_.trace, 1u << 20},
           [this](node_index i) { return i < ids_.size() ? ids_[i] : std::to_string(i); })
  , net_rng_(troupe::rng::stream(opts_.seed, "sim/network"))
  , has_stream_(opts_.default_link.transport == link_options::stream) {
  // nop
}

world::~world() { trace_.flush(); }

// -- topology -----------------------------------------------------------------

node_index world::add_node(std::string id, model_factory factory) {
  auto i = static_cast<node_index>(ids_.size());
  if (!by_id_.emplace(id, i).second)
    throw std::invalid_argument("world::add_node: duplicate node id '" + id + "'");
  nodes_.push_back(node_state{troupe::rng::stream(opts_.seed, id), nullptr, 0, 0});
  ids_.push_back(std::move(id));
  factories_.push_back(std::move(factory));
  persistent_.emplace_back();
  peers_.emplace_back();
  if (started_)
    boot(i);
  return i;
}

void world::connect(node_index a, node_index b) {
  if (a == b)
    return;
  auto link = [](std::vector<node_index>& xs, node_index x) {
    if (std::find(xs.begin(), xs.end(), x) == xs.end())
      xs.push_back(x);
  };
  link(peers_[a], b);
  link(peers_[b], a);
}

void world::set_link(node_index from, node_index to, const link_options& x) {
  net_.set_link(from, to, x);
  has_stream_ = has_stream_ || x.transport == link_options::stream;
  fold_fault(trace_kind::set_link, from, to,
             static_cast<uint64_t>(x.latency.count()) ^ x.bandwidth_bps);
}

void world::start() {
  started_ = true;
  for (node_index i = 0; i < ids_.size(); ++i)
    if (!(nodes_[i].flags & flag_started))
      boot(i);
}

void world::boot(node_index i) {
  nodes_[i].flags |= flag_started | flag_up;
  nodes_[i].model = factories_[i]();
  fold_fault(trace_kind::start, i, no_node, nodes_[i].incarnation);
  context ctx{*this, i};
  nodes_[i].model->on_start(ctx);
}

// -- traffic ------------------------------------------------------------------

uint32_t world::take_flight() {
  if (free_flight_ != no_flight) {
    auto slot = free_flight_;
    free_flight_ = flights_[slot].to;
    return slot;
  }
  flights_.emplace_back();
  return static_cast<uint32_t>(flights_.size() - 1);
}

void world::send(node_index from, node_index to, message&& m) {
  ++stats_.sent;
  auto now = kernel_.now();
  if (faults_.blocked(from, to)) {
    ++stats_.dropped_partition;
    trace_.fold(now, trace_kind::drop_partition, from, to, m.kind, m.payload_hash);
    return;
  }
  auto r = net_.send(from, to, m.bytes, now, faults_.clogged_until(from, to), net_rng_);
  if (r.lost) {
    ++stats_.dropped_loss;
    trace_.fold(now, trace_kind::drop_loss, from, to, m.kind, m.payload_hash);
    return;
  }
  stats_.retransmits += r.retransmits;
  if (r.copies == 2) {
    ++stats_.duplicated;
    trace_.fold(now, trace_kind::duplicate, from, to, m.kind, m.payload_hash);
    auto slot = take_flight();
    flights_[slot] = flight{m, from, to, nodes_[to].incarnation};
    kernel_.schedule(r.arrival[1], *this, code_deliver, to, slot);
  }
  auto slot = take_flight();
  auto& f = flights_[slot];
  f.m = std::move(m);
  f.from = from;
  f.to = to;
  f.incarnation = nodes_[to].incarnation;
  kernel_.schedule(r.arrival[0], *this, code_deliver, to, slot);
}

bool world::on_event(uint32_t code, uint32_t a, uint64_t b) {
  if ((code & 0xFF) == code_deliver) {
    deliver(static_cast<uint32_t>(b));
    return true;
  }
  return fire_timer(a, code >> 8, b);
}

void world::prefetch(uint32_t code, uint32_t a, uint64_t b) noexcept {
  // Deliveries carry the destination in `a` just for this: the node's state and the flight
  // record are the two cache misses of a delivery in a large world.
  if ((code & 0xFF) == code_deliver) {
    __builtin_prefetch(&flights_[b]);
    __builtin_prefetch(&nodes_[a]);
    net_.prefetch_sender(a); // a delivery usually makes its receiver send
  } else {
    __builtin_prefetch(&nodes_[a]);
  }
}

void world::prefetch_next(uint32_t, uint32_t a, uint64_t) noexcept {
  // The node state was hinted a few events ago: its model object (the handler's `this` and
  // vtable pointer) is the next miss of a delivery or a timer.
  if (const auto* m = nodes_[a].model.get())
    __builtin_prefetch(m);
}

void world::deliver(uint32_t slot) {
  auto& f = flights_[slot];
  auto to = f.to;
  // A delivery belongs to the incarnation it was sent to: a restarted node never sees
  // messages addressed to its previous life.
  if (!(nodes_[to].flags & flag_up) || f.incarnation != nodes_[to].incarnation) {
    ++stats_.dropped_crash;
    trace_.fold(kernel_.now(), trace_kind::drop_crash, f.from, to, f.m.kind, f.m.payload_hash);
    f.m.body.reset();
    free_flight(slot);
    return;
  }
  if (stream_cut(f.from, to)) {
    // The cut broke the connection this message was travelling on: it is gone with it.
    ++stats_.dropped_partition;
    trace_.fold(kernel_.now(), trace_kind::drop_partition, f.from, to, f.m.kind, f.m.payload_hash);
    f.m.body.reset();
    free_flight(slot);
    return;
  }
  if (nodes_[to].flags & flag_paused) {
    held_[to].push_back(held{false, slot});
    return;
  }
  ++stats_.delivered;
  stats_.bytes_delivered += f.m.bytes;
  trace_.fold(kernel_.now(), trace_kind::deliver, f.from, to, f.m.kind, f.m.payload_hash);
  // Move out before the callback: the model's sends may grow (reallocate) flights_.
  message m = std::move(f.m);
  auto from = f.from;
  free_flight(slot);
  context ctx{*this, to};
  nodes_[to].model->on_message(ctx, from, m);
}

// -- timers -------------------------------------------------------------------

void world::set_timer(node_index i, duration delay, uint64_t tag) {
  if (delay.count() < 0)
    delay = duration{0};
  if (i < skew_.size())
    delay = skew_[i].true_delay(delay);
  auto code = code_timer | (nodes_[i].incarnation << 8);
  kernel_.schedule(kernel_.now() + delay, *this, code, i, tag);
}

bool world::fire_timer(node_index i, uint32_t incarnation, uint64_t tag) {
  // Incarnations wrap at 2^24 in the event code; compare the same bits.
  if (!(nodes_[i].flags & flag_up) || incarnation != (nodes_[i].incarnation & 0xFFFFFF))
    return false; // a timer of a previous life: dead
  if (nodes_[i].flags & flag_paused) {
    held_[i].push_back(held{true, tag});
    return true;
  }
  ++stats_.timers_fired;
  context ctx{*this, i};
  nodes_[i].model->on_timer(ctx, tag);
  return true;
}

duration world::local_now(node_index i) const {
  auto t = kernel_.now();
  return i < skew_.size() ? skew_[i].local(t) : t;
}

// -- faults -------------------------------------------------------------------

void world::fold_fault(trace_kind k, node_index a, node_index b, uint64_t arg) {
  trace_.fold(kernel_.now(), k, a, b, 0, arg);
}

void world::drop_held(node_index i) {
  auto it = held_.find(i);
  if (it == held_.end())
    return;
  for (auto& h : it->second) {
    if (h.timer)
      continue;
    auto& f = flights_[h.value];
    ++stats_.dropped_crash;
    trace_.fold(kernel_.now(), trace_kind::drop_crash, f.from, i, f.m.kind, f.m.payload_hash);
    f.m.body.reset();
    free_flight(static_cast<uint32_t>(h.value));
  }
  held_.erase(it);
}

void world::crash(node_index i) {
  if (!(nodes_[i].flags & flag_up))
    return;
  fold_fault(trace_kind::crash, i);
  nodes_[i].flags &= static_cast<uint8_t>(~(flag_up | flag_paused));
  ++nodes_[i].incarnation;
  drop_held(i);
  nodes_[i].model.reset();
}

void world::restart(node_index i) {
  if (nodes_[i].flags & flag_up)
    crash(i);
  fold_fault(trace_kind::restart, i);
  boot(i);
}

void world::pause(node_index i) {
  if (!(nodes_[i].flags & flag_up) || (nodes_[i].flags & flag_paused))
    return;
  fold_fault(trace_kind::pause, i);
  nodes_[i].flags |= flag_paused;
}

void world::resume(node_index i) {
  if (!(nodes_[i].flags & flag_paused))
    return;
  fold_fault(trace_kind::resume, i);
  nodes_[i].flags &= static_cast<uint8_t>(~flag_paused);
  auto it = held_.find(i);
  if (it == held_.end())
    return;
  // Release in the order they were held: same-time events keep FIFO by sequence number.
  auto items = std::move(it->second);
  held_.erase(it);
  auto now = kernel_.now();
  for (auto& h : items) {
    if (h.timer)
      kernel_.schedule(now, *this, code_timer | (nodes_[i].incarnation << 8), i, h.value);
    else
      kernel_.schedule(now, *this, code_deliver, i, h.value);
  }
}

void world::partition(const std::vector<node_index>& a, const std::vector<node_index>& b,
                      bool symmetric) {
  uint64_t h = symmetric ? 1 : 2;
  for (auto x : a)
    h = h * 0x100000001B3ULL ^ x;
  h = h * 0x9E3779B97F4A7C15ULL;
  for (auto x : b)
    h = h * 0x100000001B3ULL ^ x;
  fold_fault(trace_kind::partition, no_node, no_node, h);
  change_cuts([&] { faults_.partition(a, b, symmetric); });
}

void world::isolate(node_index i) {
  fold_fault(trace_kind::isolate, i);
  change_cuts([&] { faults_.isolate(i); });
}

void world::heal(node_index i) {
  fold_fault(trace_kind::heal, i);
  change_cuts([&] { faults_.heal(i); });
}

void world::heal_all() {
  fold_fault(trace_kind::heal_all, no_node);
  change_cuts([&] { faults_.heal_all(); });
}

template <class Change> void world::change_cuts(Change&& change) {
  if (!has_stream_) {
    change();
    return;
  }
  auto before = stream_connections();
  change();
  tell_stream_changes(before);
}

std::vector<uint8_t> world::stream_connections() const {
  std::vector<uint8_t> out;
  for (node_index i = 0; i < peers_.size(); ++i)
    for (node_index p : peers_[i]) {
      // A TCP connection needs both directions: a one-way cut breaks it too.
      const bool stream = net_.link(i, p).transport == link_options::stream;
      out.push_back(stream && !faults_.blocked(i, p) && !faults_.blocked(p, i) ? 1 : 0);
    }
  return out;
}

void world::tell_stream_changes(const std::vector<uint8_t>& before) {
  const auto after = stream_connections();
  size_t k = 0;
  for (node_index i = 0; i < peers_.size(); ++i)
    for (node_index p : peers_[i]) {
      const size_t at = k++;
      if (before[at] == after[at]) // never differs on a datagram link: both are 0
        continue;
      const bool up_now = after[at] != 0;
      fold_fault(up_now ? trace_kind::stream_up : trace_kind::stream_break, i, p);
      if (!up_now)
        ++stats_.stream_breaks;
      // A crashed node has no connections to tell about; its restart reconnects anyway.
      if (up(i) && nodes_[i].model) {
        context ctx{*this, i};
        nodes_[i].model->on_link(ctx, p, up_now);
      }
    }
}

void world::clog(node_index i, duration d) {
  fold_fault(trace_kind::clog, i, no_node, static_cast<uint64_t>(d.count()));
  faults_.clog(i, kernel_.now() + d);
}

void world::clog_link(node_index a, node_index b, duration d) {
  fold_fault(trace_kind::clog_link, a, b, static_cast<uint64_t>(d.count()));
  faults_.clog_link(a, b, kernel_.now() + d);
}

void world::set_clock(node_index i, duration offset, double drift_ppm) {
  uint64_t drift_bits = 0;
  static_assert(sizeof(drift_bits) == sizeof(drift_ppm));
  std::memcpy(&drift_bits, &drift_ppm, sizeof(drift_bits));
  fold_fault(trace_kind::set_clock, i, no_node,
             static_cast<uint64_t>(offset.count()) * 31 ^ drift_bits);
  if (skew_.size() <= i)
    skew_.resize(static_cast<size_t>(i) + 1);
  skew_[i] = clock_skew{offset, drift_ppm};
}

// -- node protocol ------------------------------------------------------------

node_status world::status(node_index i) const {
  node_status s;
  if (nodes_[i].model != nullptr)
    s = nodes_[i].model->status();
  s.id = ids_[i];
  s.up = up(i);
  s.peers = static_cast<uint32_t>(peers_[i].size());
  return s;
}

tx_ack world::submit(node_index i, const transaction& tx) {
  fold_fault(trace_kind::submit, i, no_node, troupe::stable_hash(tx.id));
  if (!up(i))
    return tx_ack{false, "node " + ids_[i] + " is down"};
  if (paused(i))
    return tx_ack{false, "node " + ids_[i] + " is paused"};
  context ctx{*this, i};
  return nodes_[i].model->submit(ctx, tx);
}

control_ack world::control(node_index i, control_action a) {
  switch (a) {
    case control_action::stop:
    case control_action::kill:
      crash(i);
      break;
    case control_action::start:
      if (!up(i))
        restart(i);
      break;
    case control_action::restart:
      restart(i);
      break;
    case control_action::pause:
      pause(i);
      break;
    case control_action::resume:
      resume(i);
      break;
    case control_action::isolate:
      isolate(i);
      break;
    case control_action::heal:
      heal(i);
      break;
  }
  return control_ack{true, {}};
}

control_ack world::byzantine(node_index i, const byzantine_cmd& cmd) {
  node_index twin = no_node;
  if (!cmd.twin_of.empty()) {
    auto t = find(cmd.twin_of);
    if (!t)
      return {false, "twin_of names unknown node \"" + cmd.twin_of + "\""};
    if (*t == i)
      return {false, "a node cannot be its own twin"};
    twin = *t;
  }
  if (!up(i))
    return {false, "node " + ids_[i] + " is down"};
  fold_fault(trace_kind::byzantine, i, twin,
             troupe::stable_hash(cmd.behaviour + "/" + cmd.invalid));
  context ctx{*this, i};
  return nodes_[i].model->byzantine(ctx, cmd);
}

std::optional<node_index> world::find(const std::string& id) const {
  auto i = by_id_.find(id);
  if (i == by_id_.end())
    return std::nullopt;
  return i->second;
}

// -- observers and results ----------------------------------------------------

void world::on_block(std::function<void(const block_event&)> f) {
  block_observers_.push_back(std::move(f));
}

void world::on_block_take(std::function<void(block_event&&)> f) {
  block_takers_.push_back(std::move(f));
}

void world::set_observed(node_index i, bool on) { set_observed_kinds(i, on ? 0xFF : 0); }

void world::set_observed_kinds(node_index i, uint8_t kinds) {
  observe_filter_ = true;
  if (observed_.size() <= i)
    observed_.resize(std::max<size_t>(ids_.size(), static_cast<size_t>(i) + 1), 0);
  observed_[i] = kinds;
}

void world::count(const char* name, uint64_t n) { model_counters_[name] += n; }

std::map<std::string, uint64_t> world::counters() const {
  auto result = model_counters_;
  result["net.sent"] = stats_.sent;
  result["net.delivered"] = stats_.delivered;
  result["net.bytes_delivered"] = stats_.bytes_delivered;
  result["net.dropped_loss"] = stats_.dropped_loss;
  result["net.dropped_partition"] = stats_.dropped_partition;
  if (has_stream_) {
    result["net.stream_breaks"] = stats_.stream_breaks;
    result["net.retransmits"] = stats_.retransmits;
  }
  result["net.dropped_crash"] = stats_.dropped_crash;
  result["net.duplicated"] = stats_.duplicated;
  result["node.timers_fired"] = stats_.timers_fired;
  result["trace.events"] = trace_.events();
  return result;
}

} // namespace troupe::sim
