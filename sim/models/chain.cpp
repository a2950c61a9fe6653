#include "sim/models/chain.hpp"

#include "actors/params.hpp"

#include <algorithm>
#include <array>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "actors/units.hpp"

namespace troupe::sim::models {

namespace {

// -- hashing ------------------------------------------------------------------

/// SplitMix64's finaliser: a bijective 64-bit mix.
constexpr uint64_t mix64(uint64_t x) noexcept {
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

constexpr uint64_t combine(uint64_t h, uint64_t v) noexcept {
  return mix64(h ^ (v + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2)));
}

std::string to_hex(uint64_t h) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4)
    s[static_cast<size_t>(i)] = digits[h & 0xF];
  return s;
}

const uint64_t genesis_hash_value = stable_hash("troupe.chain.genesis");

// -- chain values (immutable once built, shared by every node that holds them) ---------

struct tx_ref {
  uint64_t key = 0; ///< stable hash of the id: what dedup and the indexes use
  std::string id;
  uint32_t bytes = 0;
};
using tx_ptr = std::shared_ptr<const tx_ref>;
/// The body of a `chain_tx` message: one batch per relay flush, shared by every peer it goes
/// to. A transaction that a peer sent us is not echoed back to it (see note_sender): rather
/// than a batch per peer without those (measured: a make_shared plus two vectors per peer
/// per flush, ~8,000 batches per simulated second at 1,000 nodes, ~15% of a run in malloc,
/// free and the batches' disposal), each entry carries the mask of the sender's peers that
/// already have it, and the message's `b` names the receiver's bit: the receiver skips those
/// entries, so what it sees is exactly what a per-peer batch held. The message's `bytes`,
/// `a` (count) and payload hash are those of the per-peer subset (computed per peer without
/// an allocation), so bandwidth and the trace digest are unchanged.
struct tx_batch {
  struct entry {
    uint64_t key;   ///< inline: most arrivals are duplicates, and checking one must not
                    ///< chase a pointer per transaction (a cache miss at 1,000 nodes)
    uint64_t known; ///< sender's peers (by position) that have it: not for them
    tx_ptr tx;
    uint64_t bytes; ///< tx->bytes, inline for the per-peer sums in flush_txs
  };
  std::vector<entry> entries;
  uint64_t bytes = 0; ///< wire size of the whole batch
  uint64_t hash = 0;  ///< payload hash of the whole batch
  void push_back(const tx_ptr& t, uint64_t known) {
    entries.push_back(entry{t->key, known, t, t->bytes});
    bytes += t->bytes;
    hash = combine(hash, t->key);
  }
  bool empty() const noexcept { return entries.empty(); }
  size_t size() const noexcept { return entries.size(); }
};

/// The transactions on a chain up to some block, as a persistent (immutable, structurally
/// shared) set: a hash array mapped trie over the 64-bit tx keys, five bits per level.
/// Adding a block's transactions copies only the paths to them (built once, by the block's
/// producer); every node that holds the block shares its set.
///
/// Why: "is this transaction already on my chain?" is asked for every gossiped
/// transaction, and every node used to keep its own flat index of every transaction on its
/// chain (6,000 entries per node after 10 minutes at 10 tx/s: ~130 KB per node, a cache
/// miss per probe and per insert, ~17% of a 1,000-node run). The set is a pure function of
/// the block's ancestry, so sharing it is memoisation, not shared mutable state: nodes on
/// the same tip probe the same few hot trie nodes, adopting a block is O(1), and a rollback
/// is taking the fork point's set.
class tx_set {
public:
  bool contains(uint64_t key) const noexcept {
    const node* n = root_.get();
    for (unsigned shift = 0; n != nullptr; shift += bits) {
      const uint32_t bit = 1u << ((key >> shift) & mask);
      if (n->key_map & bit)
        return n->keys[rank(n->key_map, bit)] == key;
      if (!(n->child_map & bit))
        return false;
      n = n->children[rank(n->child_map, bit)].get();
    }
    return false;
  }

  /// This set plus `keys`. One pass per block: each trie node on the way to a new key is
  /// copied once (not once per key), so a block of 50 transactions costs a few KB however
  /// long the chain is; everything else is shared with this set.
  tx_set with_all(std::vector<uint64_t> keys) const {
    keys.erase(std::remove_if(keys.begin(), keys.end(), [this](uint64_t k) { return contains(k); }),
               keys.end());
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    if (keys.empty())
      return *this;
    tx_set r;
    r.root_ = insert_all(root_.get(), keys, 0);
    r.size_ = size_ + keys.size();
    return r;
  }

  size_t size() const noexcept { return size_; }

private:
  static constexpr unsigned bits = 5;
  static constexpr uint64_t mask = 31;

  struct node;
  using node_ptr = std::shared_ptr<const node>;
  struct node {
    uint32_t key_map = 0;           ///< slots that hold a key
    uint32_t child_map = 0;         ///< slots that hold a subtrie
    std::vector<uint64_t> keys;     ///< in slot order
    std::vector<node_ptr> children; ///< in slot order
  };

  /// Set bits of `map` below `bit`. Counted inline: without -mpopcnt (the build targets any
  /// x86-64) __builtin_popcount is a call into libgcc, ~3% of a 30-node run.
  static unsigned rank(uint32_t map, uint32_t bit) noexcept {
    uint32_t x = map & (bit - 1);
    x = x - ((x >> 1) & 0x55555555u);
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    x = (x + (x >> 4)) & 0x0F0F0F0Fu;
    return (x * 0x01010101u) >> 24;
  }

  static unsigned slot_of(uint64_t key, unsigned shift) noexcept {
    return static_cast<unsigned>((key >> shift) & mask);
  }

  /// `keys`: distinct, none in the subtrie `n`. Two distinct 64-bit keys part within 13
  /// levels (shift <= 60), so the recursion ends.
  static node_ptr insert_all(const node* n, std::vector<uint64_t> keys, unsigned shift) {
    auto copy = n != nullptr ? std::make_shared<node>(*n) : std::make_shared<node>();
    std::sort(keys.begin(), keys.end(), [shift](uint64_t x, uint64_t y) {
      const unsigned sx = slot_of(x, shift), sy = slot_of(y, shift);
      return sx < sy || (sx == sy && x < y);
    });
    for (size_t i = 0; i < keys.size();) {
      const unsigned slot = slot_of(keys[i], shift);
      size_t j = i + 1;
      while (j < keys.size() && slot_of(keys[j], shift) == slot)
        ++j;
      std::vector<uint64_t> run(keys.begin() + static_cast<std::ptrdiff_t>(i),
                                keys.begin() + static_cast<std::ptrdiff_t>(j));
      i = j;
      const uint32_t bit = 1u << slot;
      if (copy->child_map & bit) {
        auto& child = copy->children[rank(copy->child_map, bit)];
        child = insert_all(child.get(), std::move(run), shift + bits);
        continue;
      }
      if (copy->key_map & bit) {
        // The slot's key and the new ones go one level down together.
        const unsigned k = rank(copy->key_map, bit);
        run.push_back(copy->keys[k]);
        copy->keys.erase(copy->keys.begin() + k);
        copy->key_map &= ~bit;
      } else if (run.size() == 1) {
        copy->keys.insert(copy->keys.begin() + rank(copy->key_map, bit), run.front());
        copy->key_map |= bit;
        continue;
      }
      copy->children.insert(copy->children.begin() + rank(copy->child_map, bit),
                            insert_all(nullptr, std::move(run), shift + bits));
      copy->child_map |= bit;
    }
    return copy;
  }

  node_ptr root_;
  size_t size_ = 0;
};

struct block {
  uint64_t hash = 0;
  uint64_t parent = 0;
  uint64_t height = 0;
  uint64_t slot = 0;
  uint64_t producer = 0;   ///< stable hash of the producer's id
  std::string producer_id; ///< that id (for block events: who is behind a conflict)
  uint32_t bytes = 0;
  std::vector<tx_ptr> txs;
  /// Every transaction on the chain ending here (see tx_set). Not on the wire: a node
  /// would compute the same set when connecting the block.
  tx_set chain_txs;
};
using block_ptr = std::shared_ptr<const block>;

block_ptr make_genesis() {
  auto g = std::make_shared<block>();
  g->hash = genesis_hash_value;
  return g;
}

const block_ptr& genesis() {
  static const block_ptr g = make_genesis();
  return g;
}

// -- a compact map from 64-bit keys -------------------------------------------------

/// Open addressing with linear probing and backward-shift deletion, keys and values in two
/// flat arrays (load <= 1/2). Every node indexes every transaction on its chain and probes
/// its mempool for every gossiped transaction, so with 1,000 nodes these lookups dominate:
/// std::unordered_map costs ~3x the memory and a pointer chase (a cache miss) per probe.
/// Lookup only; never iterated, so its layout cannot reach any output.
template <class V> class key_map {
public:
  const V* find(uint64_t key) const noexcept {
    if (keys_.empty())
      return nullptr;
    key = encode(key);
    for (size_t i = home(key);; i = (i + 1) & mask_) {
      if (keys_[i] == key)
        return &vals_[i];
      if (keys_[i] == 0)
        return nullptr;
    }
  }

  bool contains(uint64_t key) const noexcept { return find(key) != nullptr; }

  /// Hints the cache line where a lookup of `key` starts. A node checks a whole batch of
  /// gossiped keys against its tables; each first probe is a cache miss at 1,000 nodes
  /// (measured: ~40% of on_message, one miss after the other), and hinting them all before
  /// the first lookup lets the misses overlap.
  void prefetch(uint64_t key) const noexcept {
    if (!keys_.empty())
      __builtin_prefetch(&keys_[home(encode(key))]);
  }

  /// Inserts or overwrites.
  void put(uint64_t key, V value) {
    if ((size_ + 1) * 2 > keys_.size())
      grow();
    key = encode(key);
    size_t i = home(key);
    for (; keys_[i] != 0; i = (i + 1) & mask_)
      if (keys_[i] == key) {
        vals_[i] = value;
        return;
      }
    keys_[i] = key;
    vals_[i] = value;
    ++size_;
  }

  bool erase(uint64_t key) noexcept {
    if (keys_.empty())
      return false;
    key = encode(key);
    size_t i = home(key);
    for (; keys_[i] != key; i = (i + 1) & mask_)
      if (keys_[i] == 0)
        return false;
    // Shift later members of the probe run back so that no lookup stops early at a hole.
    for (size_t j = (i + 1) & mask_; keys_[j] != 0; j = (j + 1) & mask_) {
      const size_t h = home(keys_[j]);
      const bool movable = i <= j ? (h <= i || h > j) : (h <= i && h > j);
      if (movable) {
        keys_[i] = keys_[j];
        vals_[i] = vals_[j];
        i = j;
      }
    }
    keys_[i] = 0;
    --size_;
    return true;
  }

  size_t size() const noexcept { return size_; }

  /// Empties the map, keeping its capacity (the outbox is refilled every relay interval).
  void clear() noexcept {
    if (size_ == 0)
      return;
    if (keys_.size() > 4096 && keys_.size() > 16 * size_) {
      *this = key_map{}; // a burst grew it: do not sweep the big table every interval
      return;
    }
    std::fill(keys_.begin(), keys_.end(), 0);
    size_ = 0;
  }

private:
  // 0 marks an empty slot; the one key that would encode to 0 is moved (a 2^-64 event).
  static uint64_t encode(uint64_t key) noexcept { return key == 0 ? 0x5bd1e995ULL : key; }
  size_t home(uint64_t key) const noexcept {
    return static_cast<size_t>((key * 0x9E3779B97F4A7C15ULL) >> shift_);
  }
  void grow() {
    std::vector<uint64_t> old_keys = std::move(keys_);
    std::vector<V> old_vals = std::move(vals_);
    const size_t n = old_keys.empty() ? 16 : old_keys.size() * 2;
    keys_.assign(n, 0);
    vals_.assign(n, V{});
    mask_ = n - 1;
    shift_ = 64;
    for (size_t m = n; m > 1; m >>= 1)
      --shift_;
    size_ = 0;
    for (size_t k = 0; k < old_keys.size(); ++k)
      if (old_keys[k] != 0) {
        size_t i = home(old_keys[k]);
        while (keys_[i] != 0)
          i = (i + 1) & mask_;
        keys_[i] = old_keys[k];
        vals_[i] = old_vals[k];
        ++size_;
      }
  }

  std::vector<uint64_t> keys_;
  std::vector<V> vals_;
  size_t size_ = 0;
  size_t mask_ = 0;
  unsigned shift_ = 64;
};

// -- the mempool ---------------------------------------------------------------------

/// Transactions waiting for a block, in arrival order (block building order), with an
/// index by key. A deque with holes instead of a std::map: a block takes most of the
/// mempool at once, and a tree paid a node allocation and a rebalance per transaction.
/// Rolled-back transactions go back to the front, ahead of everything that waited less.
class mempool_queue {
public:
  size_t size() const noexcept { return index_.size(); }
  bool contains(uint64_t key) const noexcept { return index_.contains(key); }
  void prefetch(uint64_t key) const noexcept { index_.prefetch(key); }

  void push_back(const tx_ptr& t) {
    index_.put(t->key, base_ + static_cast<int64_t>(q_.size()));
    q_.push_back(t);
  }

  void push_front(const tx_ptr& t) {
    --base_;
    q_.push_front(t);
    index_.put(t->key, base_);
  }

  void erase(uint64_t key) {
    const int64_t* seq = index_.find(key);
    if (seq == nullptr)
      return;
    q_[static_cast<size_t>(*seq - base_)] = nullptr;
    index_.erase(key);
    ++holes_;
    while (!q_.empty() && !q_.front()) {
      q_.pop_front();
      ++base_;
      --holes_;
    }
    while (!q_.empty() && !q_.back()) {
      q_.pop_back();
      --holes_;
    }
    if (holes_ > 64 && holes_ > q_.size() / 2)
      compact();
  }

  /// erase() for each of a block's transactions. Every node does this for every block it
  /// adopts, and at 1,000 nodes each lookup (the index slot, then the queue slot) was a
  /// cache miss in turn (~6% of a run): hint all index slots, then all queue slots, then
  /// erase in order (same result as erasing one by one).
  void erase_all(const std::vector<tx_ptr>& txs) {
    for (const tx_ptr& t : txs)
      index_.prefetch(t->key);
    for (const tx_ptr& t : txs)
      if (const int64_t* seq = index_.find(t->key))
        __builtin_prefetch(&q_[static_cast<size_t>(*seq - base_)]);
    for (const tx_ptr& t : txs)
      erase(t->key);
  }

  /// Calls `f(tx)` for the first `n` transactions in order.
  template <class F> void for_first(size_t n, F&& f) const {
    for (auto it = q_.begin(); n > 0 && it != q_.end(); ++it)
      if (*it) {
        f(*it);
        --n;
      }
  }

private:
  void compact() {
    std::deque<tx_ptr> kept;
    for (auto& t : q_)
      if (t) {
        index_.put(t->key, base_ + static_cast<int64_t>(kept.size()));
        kept.push_back(std::move(t));
      }
    q_.swap(kept);
    holes_ = 0;
  }

  std::deque<tx_ptr> q_;   ///< q_[i] has sequence number base_ + i; nullptr: a hole
  key_map<int64_t> index_; ///< key -> sequence number
  int64_t base_ = 0;
  size_t holes_ = 0;
};

// -- persistent state ("disk") ---------------------------------------------------------

struct block_entry {
  block_ptr blk;
  uint32_t children = 0;
  /// Forks below this node's final height (or descends from a block that does): never
  /// adopted. Final heights only grow, so the mark stays true.
  bool refused = false;
};

/// What a Byzantine node keeps (on "disk": it stays Byzantine across a restart).
struct byzantine_state {
  enum mode_t : uint8_t { honest, equivocate, withhold, invalid, twin };
  enum invalid_t : uint8_t { bad_parent, oversized, bad_tx };
  mode_t mode = honest;
  invalid_t invalid_kind = bad_parent;
  std::string identity; ///< twin: the id whose producer key and lottery it holds
  /// equivocate: the tip each half of the peers follows (peers at even positions: 0, odd:
  /// 1); 0 = this node's own tip.
  uint64_t side_tip[2] = {0, 0};
  std::vector<block_ptr> withheld; ///< withhold: private blocks, oldest first
  uint64_t public_height = 0;      ///< withhold: the best height heard from peers
};

struct chain_store final : persistent_state {
  std::unordered_map<uint64_t, block_entry> blocks; ///< every connected block; lookup only
  std::vector<block_ptr> best;                      ///< best chain, best[h] at height h
  uint64_t final_height = 0;
  uint64_t lottery_key = 0;
  uint64_t last_slot = 0; ///< highest slot whose lottery ran: no second block after a restart
  std::unique_ptr<byzantine_state> byz; ///< null for an honest node (every node until told)
};

// -- the node ----------------------------------------------------------------

enum timer_tag : uint64_t { slot_tick = 1, tx_flush = 2 };

constexpr uint32_t request_bytes = 64;
constexpr uint32_t tip_bytes = 48;

class chain_node final : public node_model {
public:
  explicit chain_node(chain_params p)
    : p_(p) {}

  // -- lifecycle --------------------------------------------------------------

  void on_start(node_context& ctx) override {
    auto& slot = ctx.persistent();
    if (!slot) {
      auto s = std::make_shared<chain_store>();
      s->blocks.emplace(genesis()->hash, block_entry{genesis(), 0, false});
      s->best.push_back(genesis());
      s->lottery_key = ctx.rng()();
      slot = s;
    }
    store_ = std::static_pointer_cast<chain_store>(slot);
    identity_ = store_->byz && !store_->byz->identity.empty() ? store_->byz->identity : ctx.id();
    self_key_ = stable_hash(identity_);
    // A fresh node learns nothing from this (every peer is at genesis too); a restarted
    // one learns where the network went while it was down.
    for (node_index peer : ctx.peers())
      ask_tip(ctx, peer);
    schedule_slot(ctx);
  }

  void on_link(node_context& ctx, node_index peer, bool up) override {
    // Stream links: a reconnect is a handshake, as a real node's version/headers exchange:
    // each end asks the other where its chain is, and catches up from the answer.
    if (up)
      ask_tip(ctx, peer);
    else
      ctx.count("connections_broken");
  }

  void on_timer(node_context& ctx, uint64_t tag) override {
    if (tag == tx_flush) {
      flush_txs(ctx);
      return;
    }
    if (tag != slot_tick)
      return;
    const int64_t slot_signed = ctx.local_now().count() / p_.slot.count();
    const auto slot = static_cast<uint64_t>(std::max<int64_t>(slot_signed, 0));
    // A clock set back, or a restart within a slot, must not run a slot's lottery twice.
    if (slot > store_->last_slot) {
      store_->last_slot = slot;
      if (p_.leader && wins(slot))
        produce_as_configured(ctx, slot);
      if ((slot + ctx.self()) % chain_announce_every_slots == 0)
        announce(ctx);
    }
    retry_requests(ctx);
    schedule_slot(ctx);
  }

  void on_message(node_context& ctx, node_index from, const message& m) override {
    switch (m.kind) {
      case chain_tx:
        if (m.body) {
          const auto& batch = *static_cast<const tx_batch*>(m.body.get());
          const uint64_t skip = m.b; // our bit among the sender's peers (see tx_batch)
          // Hint every probe first (see key_map::prefetch); lookups follow in order.
          const bool relaying = !outbox_.empty();
          for (const tx_batch::entry& e : batch.entries)
            if (!(e.known & skip)) {
              mempool_.prefetch(e.key);
              if (relaying)
                outbox_index_.prefetch(e.key);
            }
          for (const tx_batch::entry& e : batch.entries) {
            if (e.known & skip)
              continue; // we sent it: a per-peer batch would not have held it
            if (in_mempool(e.key)) {
              if (!outbox_.empty())
                note_sender(ctx, e.key, from);
            } else if (!on_chain(e.key)) {
              on_tx(ctx, from, e.tx);
            }
          }
        }
        break;
      case chain_block:
        if (m.body)
          on_block(ctx, from, std::static_pointer_cast<const block>(m.body), m);
        break;
      case chain_get_blocks:
        on_get_blocks(ctx, from, m.a, m.b);
        break;
      case chain_get_tip:
        send_tip(ctx, from);
        break;
      case chain_tip:
        on_tip(ctx, from, m.a, m.b);
        break;
      default:
        break; // another model's traffic: not ours to interpret
    }
  }

  // -- node protocol ----------------------------------------------------------

  node_status status() const override {
    node_status s;
    if (!store_) {
      s.tip = s.final_tip = chain_genesis_hash();
      return s;
    }
    s.height = tip()->height;
    s.tip = to_hex(tip()->hash);
    s.final_height = store_->final_height;
    s.final_tip = to_hex(store_->best[store_->final_height]->hash);
    s.mempool = static_cast<uint32_t>(mempool_.size());
    return s;
  }

  tx_ack submit(node_context& ctx, const transaction& tx) override {
    if (!store_)
      return {false, "node has not started"};
    if (tx.id.empty())
      return {false, "transaction id is empty"};
    const uint64_t key = stable_hash(tx.id);
    if (in_mempool(key) || on_chain(key))
      return {false, "duplicate transaction id '" + tx.id + "'"};
    if (mempool_.size() >= p_.mempool_max)
      return {false, "mempool full (" + std::to_string(p_.mempool_max) + " transactions)"};
    auto t = std::make_shared<tx_ref>();
    t->key = key;
    t->id = tx.id;
    t->bytes = tx.bytes != 0 ? tx.bytes : p_.tx_bytes;
    tx_ptr shared = std::move(t);
    mempool_push_back(shared);
    relay_tx(ctx, shared, ctx.self());
    return {true, {}};
  }

private:
  // -- slots and production ---------------------------------------------------

  void schedule_slot(node_context& ctx) {
    const int64_t slot_ns = p_.slot.count();
    const int64_t now = ctx.local_now().count();
    const int64_t next = (now / slot_ns + 1) * slot_ns;
    ctx.set_timer(duration{next - now}, slot_tick);
  }

  bool wins(uint64_t slot) const noexcept {
    const uint64_t draw = mix64(store_->lottery_key ^ mix64(slot + 0x51ED));
    return static_cast<double>(draw >> 11) * 0x1.0p-53 < p_.active_slot_coeff;
  }

  /// A block on `parent` for `slot` from the head of the mempool. `salt` (nonzero) makes a
  /// second, different block for the same slot and parent (equivocation); honest blocks
  /// have none, so their hashes are what they always were.
  std::shared_ptr<block> build_block(const block_ptr& parent, uint64_t slot,
                                     uint64_t salt = 0) const {
    auto b = std::make_shared<block>();
    b->parent = parent->hash;
    b->height = parent->height + 1;
    b->slot = slot;
    b->producer = self_key_;
    b->producer_id = identity_;
    uint64_t bytes = p_.block_header_bytes;
    uint64_t h = combine(combine(combine(b->parent, b->height), slot), self_key_);
    const size_t n = std::min<size_t>(p_.max_block_txs, mempool_.size());
    b->txs.reserve(n);
    mempool_.for_first(n, [&](const tx_ptr& t) {
      b->txs.push_back(t);
      bytes += t->bytes;
      h = combine(h, t->key);
    });
    if (salt != 0)
      h = combine(h, salt);
    b->bytes = static_cast<uint32_t>(std::min<uint64_t>(bytes, UINT32_MAX));
    b->hash = h;
    b->chain_txs = parent->chain_txs.with_all(keys_of(b->txs));
    return b;
  }

  static std::vector<uint64_t> keys_of(const std::vector<tx_ptr>& txs) {
    std::vector<uint64_t> keys;
    keys.reserve(txs.size());
    for (const tx_ptr& t : txs)
      keys.push_back(t->key);
    return keys;
  }

  void produce(node_context& ctx, uint64_t slot) {
    block_ptr blk = build_block(tip(), slot);
    ctx.count("blocks_produced");
    const uint64_t tip_before = tip()->hash;
    connect(ctx, blk);
    if (tip()->hash != tip_before)
      relay_block(ctx, tip(), ctx.self());
  }

  void produce_as_configured(node_context& ctx, uint64_t slot) {
    const auto mode = store_->byz ? store_->byz->mode : byzantine_state::honest;
    switch (mode) {
      case byzantine_state::equivocate:
        produce_equivocating(ctx, slot);
        break;
      case byzantine_state::withhold:
        produce_withheld(ctx, slot);
        break;
      case byzantine_state::invalid:
        produce_invalid(ctx, slot);
        break;
      default: // honest, and a twin: an honest node that happens to share an identity
        produce(ctx, slot);
        break;
    }
  }

  // -- Byzantine behaviours (the `byzantine` workload) -------------------------------
  //
  // A Byzantine node runs the same code as an honest one except where it lies:
  // - equivocate: each slot it leads gives two blocks, one to each half of its peers (by
  //   position), and it keeps each half on its own branch: what one half tells it is relayed
  //   only within that half. Where the halves also meet elsewhere the honest fork choice
  //   heals the split; where this node is their only bridge (a star's hub) they finalize
  //   different chains.
  // - withhold (selfish mining): its blocks stay private, each on the last; when a block
  //   from the network brings the public chain within one block of its private one, it
  //   releases them all to win the race.
  // - invalid: each slot it leads gives an invalid block to every peer instead of a valid
  //   one: a height that does not follow its parent (bad_parent), more transactions than a
  //   block may hold (oversized), or a transaction already on the chain (bad_tx). Honest
  //   nodes reject it, count it (`invalid_blocks_rejected` and `invalid.<kind>`) and never
  //   relay or build on it.
  // - twin: it takes another node's identity (producer key and lottery key), so both lead
  //   the same slots with blocks of their own.

  control_ack byzantine(node_context& ctx, const byzantine_cmd& cmd) override {
    if (!store_)
      return {false, "node has not started"};
    auto bz = std::make_unique<byzantine_state>();
    if (cmd.behaviour == "equivocate") {
      bz->mode = byzantine_state::equivocate;
    } else if (cmd.behaviour == "withhold") {
      bz->mode = byzantine_state::withhold;
      bz->public_height = tip()->height;
    } else if (cmd.behaviour == "invalid") {
      bz->mode = byzantine_state::invalid;
      if (cmd.invalid == "bad_parent" || cmd.invalid.empty())
        bz->invalid_kind = byzantine_state::bad_parent;
      else if (cmd.invalid == "oversized")
        bz->invalid_kind = byzantine_state::oversized;
      else if (cmd.invalid == "bad_tx")
        bz->invalid_kind = byzantine_state::bad_tx;
      else
        return {false, "unknown invalid block kind \"" + cmd.invalid +
                         "\" (bad_parent, oversized or bad_tx)"};
    } else if (cmd.behaviour == "twin") {
      if (cmd.twin_of.empty())
        return {false, "a twin needs twin_of: the node whose identity it takes"};
      bz->mode = byzantine_state::twin;
      bz->identity = cmd.twin_of;
      // The other node's lottery key is the first draw of its stream (see on_start).
      store_->lottery_key = ctx.stream_of(cmd.twin_of)();
      identity_ = cmd.twin_of;
      self_key_ = stable_hash(identity_);
    } else {
      return {false, "the chain model has no Byzantine behaviour \"" + cmd.behaviour +
                       "\" (equivocate, withhold, invalid or twin)"};
    }
    store_->byz = std::move(bz);
    return {true, {}};
  }

  bool equivocating() const noexcept {
    return store_->byz && store_->byz->mode == byzantine_state::equivocate;
  }
  bool withholding() const noexcept {
    return store_->byz && store_->byz->mode == byzantine_state::withhold;
  }

  /// Which half of this node's peers `peer` is in (equivocation): its position's parity.
  static int side_of(node_context& ctx, node_index peer) {
    const auto& peers = ctx.peers();
    auto pos = std::find(peers.begin(), peers.end(), peer);
    return static_cast<int>((pos - peers.begin()) % 2);
  }

  const block_ptr& side_tip(int side) const {
    const uint64_t h = store_->byz->side_tip[side];
    if (h == 0)
      return tip();
    auto it = store_->blocks.find(h);
    return it == store_->blocks.end() ? tip() : it->second.blk;
  }

  static bool better(const block& x, const block& y) noexcept {
    return x.height > y.height || (x.height == y.height && x.hash < y.hash);
  }

  void produce_equivocating(node_context& ctx, uint64_t slot) {
    block_ptr two[2] = {build_block(side_tip(0), slot), build_block(side_tip(1), slot, 0xE0)};
    ctx.count("blocks_produced", 2);
    ctx.count("equivocations");
    for (int side = 0; side < 2; ++side) {
      connect(ctx, two[side]);
      store_->byz->side_tip[side] = two[side]->hash;
      relay_to_side(ctx, two[side], side, ctx.self());
    }
  }

  /// Equivocation: a block that `from` sent (now connected) moves its half's tip and is
  /// relayed only within that half.
  void equivocator_heard(node_context& ctx, node_index from, const block_ptr& b) {
    auto it = store_->blocks.find(b->hash);
    if (it == store_->blocks.end() || it->second.refused)
      return;
    const int side = side_of(ctx, from);
    if (!better(*b, *side_tip(side)))
      return;
    store_->byz->side_tip[side] = b->hash;
    relay_to_side(ctx, b, side, from);
  }

  void relay_to_side(node_context& ctx, const block_ptr& b, int side, node_index except) {
    message m;
    m.kind = chain_block;
    m.bytes = b->bytes;
    m.payload_hash = b->hash;
    m.body = b;
    const auto& peers = ctx.peers();
    for (size_t i = static_cast<size_t>(side); i < peers.size(); i += 2)
      if (peers[i] != except)
        ctx.send(peers[i], m);
  }

  void produce_withheld(node_context& ctx, uint64_t slot) {
    block_ptr blk = build_block(tip(), slot);
    ctx.count("blocks_produced");
    ctx.count("blocks_withheld");
    connect(ctx, blk);
    if (tip()->hash == blk->hash)
      store_->byz->withheld.push_back(blk);
  }

  /// Selfish mining: a block from the network raised the public height; once the private
  /// lead is one block or less, everything withheld goes out (oldest first) to win the race.
  void withholder_heard(node_context& ctx, const block& b) {
    auto& bz = *store_->byz;
    if (b.height <= bz.public_height)
      return;
    bz.public_height = b.height;
    if (bz.withheld.empty())
      return;
    if (bz.withheld.back()->height > bz.public_height + 1)
      return; // still two or more ahead: keep them
    ctx.count("withheld_released", bz.withheld.size());
    for (const block_ptr& w : bz.withheld)
      relay_block(ctx, w, ctx.self());
    bz.withheld.clear();
  }

  /// The public tip a withholder admits to (announcements): below its private blocks.
  std::pair<uint64_t, uint64_t> announced_tip() const {
    if (withholding() && !store_->byz->withheld.empty()) {
      const block& first = *store_->byz->withheld.front();
      return {first.parent, first.height - 1};
    }
    return {tip()->hash, tip()->height};
  }

  void produce_invalid(node_context& ctx, uint64_t slot) {
    const block_ptr& parent = tip();
    auto b = build_block(parent, slot, 0xBAD);
    switch (store_->byz->invalid_kind) {
      case byzantine_state::bad_parent:
        b->height = parent->height + 2; // claims a height its parent does not give it
        break;
      case byzantine_state::oversized:
        // One more transaction than a block may hold, made up where the mempool is short.
        for (uint64_t k = 0; b->txs.size() <= p_.max_block_txs; ++k) {
          auto t = std::make_shared<tx_ref>();
          t->id = "junk-" + identity_ + "-" + std::to_string(slot) + "-" + std::to_string(k);
          t->key = stable_hash(t->id);
          t->bytes = p_.tx_bytes;
          b->txs.push_back(std::move(t));
        }
        break;
      case byzantine_state::bad_tx:
        // A transaction already on the chain (a double spend), or one twice in the block.
        b->txs.push_back(replayable_tx(b->txs));
        break;
    }
    uint64_t bytes = p_.block_header_bytes, h = b->hash;
    for (const tx_ptr& t : b->txs) {
      bytes += t->bytes;
      h = combine(h, t->key);
    }
    b->bytes = static_cast<uint32_t>(std::min<uint64_t>(bytes, UINT32_MAX));
    b->hash = h;
    b->chain_txs = parent->chain_txs.with_all(keys_of(b->txs));
    ctx.count("invalid_blocks_sent");
    relay_block(ctx, b, ctx.self());
  }

  /// A transaction a valid block must not hold: the newest one on the chain, else one of
  /// `txs` again, else a made-up one (then the block is invalid only once it holds it twice).
  tx_ptr replayable_tx(const std::vector<tx_ptr>& txs) const {
    for (auto it = store_->best.rbegin(); it != store_->best.rend(); ++it)
      if (!(*it)->txs.empty())
        return (*it)->txs.back();
    if (!txs.empty())
      return txs.front();
    auto t = std::make_shared<tx_ref>();
    t->id = "replayed-" + identity_;
    t->key = stable_hash(t->id);
    t->bytes = p_.tx_bytes;
    return t;
  }

  /// Why an honest node must not connect `b` (null: it may), given its connected parent.
  static const char* invalid_reason(const block& b, const block* parent, uint32_t max_txs) {
    if (b.txs.size() > max_txs)
      return "invalid.oversized";
    if (parent == nullptr)
      return nullptr;
    if (b.height != parent->height + 1)
      return "invalid.bad_parent";
    // A transaction already on the parent's chain (or twice in the block) is one the
    // block's own chain set did not grow by: O(1), since the set knows its size.
    if (b.chain_txs.size() != parent->chain_txs.size() + b.txs.size())
      return "invalid.bad_tx";
    return nullptr;
  }

  void reject(node_context& ctx, const block& b, const char* reason) {
    rejected_.insert(b.hash);
    ctx.count("invalid_blocks_rejected");
    ctx.count(reason);
  }

  // -- transactions -------------------------------------------------------------

  void on_tx(node_context& ctx, node_index from, const tx_ptr& t) {
    if (in_mempool(t->key)) {
      note_sender(ctx, t->key, from);
      return;
    }
    if (on_chain(t->key))
      return;
    if (mempool_.size() >= p_.mempool_max) {
      ctx.count("txs_dropped");
      return;
    }
    mempool_push_back(t);
    relay_tx(ctx, t, from);
  }

  /// Queues `t` for the next relay batch (or sends it now when batching is off). Batching
  /// is Bitcoin's trickle: at 10 tx/s a 1,000-node network otherwise spends most of its
  /// events on one-transaction messages, each arriving ~degree times at every node.
  void relay_tx(node_context& ctx, const tx_ptr& t, node_index from) {
    if (outbox_.empty() && p_.tx_relay_interval.count() > 0)
      ctx.set_timer(p_.tx_relay_interval, tx_flush);
    outbox_index_.put(t->key, static_cast<uint32_t>(outbox_.size()));
    outbox_.push_back({t, peer_bit(ctx, from)});
    if (p_.tx_relay_interval.count() == 0)
      flush_txs(ctx);
  }

  /// The bit of `peer` in the known-peers masks: its position among this node's peers (the
  /// topology's stable order); 0 for the node itself and past the 64th peer (never skipped).
  static uint64_t peer_bit(node_context& ctx, node_index peer) {
    const auto& peers = ctx.peers();
    const size_t n = std::min<size_t>(peers.size(), 64);
    for (size_t i = 0; i < n; ++i)
      if (peers[i] == peer)
        return uint64_t{1} << i;
    return 0;
  }

  /// A peer that sent us a transaction still waiting in the outbox has it: skip it at the
  /// flush. This is what per-peer inventory sets do in Bitcoin; here only for the batch.
  /// (Measured at 1,000 nodes: ~a third fewer transaction arrivals than remembering only
  /// the first sender.)
  void note_sender(node_context& ctx, uint64_t key, node_index from) {
    const uint32_t* pos = outbox_index_.find(key);
    if (pos != nullptr)
      outbox_[*pos].known |= peer_bit(ctx, from);
  }

  void flush_txs(node_context& ctx) {
    // Transactions a block took meanwhile are known to every peer that has the block.
    // (Probes hinted first, as in on_message: each is otherwise a miss in turn.)
    for (const outbox_entry& e : outbox_)
      mempool_.prefetch(e.tx->key);
    outbox_.erase(std::remove_if(outbox_.begin(), outbox_.end(),
                                 [&](const outbox_entry& e) { return !in_mempool(e.tx->key); }),
                  outbox_.end());
    if (outbox_.empty())
      return;
    auto all = std::make_shared<tx_batch>();
    all->entries.reserve(outbox_.size());
    uint64_t known_any = 0; // peers that sent us at least one of them
    for (const outbox_entry& e : outbox_) {
      all->push_back(e.tx, e.known);
      known_any |= e.known;
    }
    std::shared_ptr<const tx_batch> shared = std::move(all);
    const auto& peers = ctx.peers();
    for (size_t i = 0; i < peers.size(); ++i) {
      const uint64_t bit = i < 64 ? uint64_t{1} << i : 0;
      if (!(known_any & bit)) {
        send_txs(ctx, peers[i], shared, shared->size(), shared->bytes, shared->hash, 0);
        continue;
      }
      // Never echo a transaction to a peer that sent it to us: the receiver skips the
      // entries marked with its bit; size, bytes and hash are those of what it keeps.
      uint64_t n = 0, bytes = 0, hash = 0;
      for (const tx_batch::entry& e : shared->entries)
        if (!(e.known & bit)) {
          ++n;
          bytes += e.bytes;
          hash = combine(hash, e.key);
        }
      send_txs(ctx, peers[i], shared, n, bytes, hash, bit);
    }
    outbox_.clear();
    outbox_index_.clear();
  }

  void send_txs(node_context& ctx, node_index peer, const std::shared_ptr<const tx_batch>& batch,
                uint64_t count, uint64_t bytes, uint64_t hash, uint64_t skip) {
    if (count == 0)
      return;
    message m;
    m.kind = chain_tx;
    m.bytes = static_cast<uint32_t>(std::min<uint64_t>(bytes, UINT32_MAX));
    m.payload_hash = hash;
    m.a = count;
    m.b = skip;
    m.body = batch;
    ctx.send(peer, std::move(m));
  }

  bool in_mempool(uint64_t key) const { return mempool_.contains(key); }

  void mempool_push_back(const tx_ptr& t) { mempool_.push_back(t); }

  // -- blocks -------------------------------------------------------------------

  const block_ptr& tip() const { return store_->best.back(); }

  bool on_chain(uint64_t key) const noexcept { return tip()->chain_txs.contains(key); }

  bool known(uint64_t hash) const {
    return store_->blocks.count(hash) != 0 || orphans_.count(hash) != 0 ||
           (!rejected_.empty() && rejected_.count(hash) != 0);
  }

  void on_block(node_context& ctx, node_index from, block_ptr b, const message& m) {
    requests_.erase(b->hash);
    if (known(b->hash))
      return;
    if (b->txs.size() > p_.max_block_txs) {
      reject(ctx, *b, "invalid.oversized");
      return;
    }
    if (store_->blocks.count(b->parent) == 0) {
      add_orphan(ctx, b);
      // Ask for the missing ancestor only once per orphan run: when the parent is itself
      // an orphan, the run's root has already been asked for (or will be, by retries).
      if (orphans_.count(b->parent) == 0 && requests_.count(b->parent) == 0) {
        // An answer still orphaned means a deeper fork: ask for twice as much next time.
        const uint64_t behind = b->height - 1 > tip()->height ? b->height - 1 - tip()->height : 1;
        const uint64_t batch = m.a != 0 ? 2 * std::max<uint64_t>(m.b, 1) : behind;
        request(ctx, from, b->parent, batch);
      }
      return;
    }
    const uint64_t tip_before = tip()->hash;
    connect(ctx, b);
    if (store_->byz) {
      if (equivocating())
        return equivocator_heard(ctx, from, b);
      if (withholding())
        withholder_heard(ctx, *b);
    }
    if (tip()->hash != tip_before)
      relay_block(ctx, tip(), from);
  }

  void relay_block(node_context& ctx, const block_ptr& b, node_index except) {
    message m;
    m.kind = chain_block;
    m.bytes = b->bytes;
    m.payload_hash = b->hash;
    m.body = b;
    for (node_index peer : ctx.peers())
      if (peer != except)
        ctx.send(peer, m);
  }

  /// Connects `b` (whose parent is connected) and every orphan that descends from it.
  void connect(node_context& ctx, const block_ptr& first) {
    std::vector<block_ptr> work{first};
    while (!work.empty()) {
      block_ptr b = std::move(work.back());
      work.pop_back();
      connect_one(ctx, b);
      // Children in hash order, so that the order of adoption does not depend on the
      // order in which orphans arrived.
      auto [lo, hi] = orphan_children_.equal_range(b->hash);
      std::vector<block_ptr> children;
      for (auto it = lo; it != hi; ++it) {
        auto o = orphans_.find(it->second);
        if (o != orphans_.end()) {
          children.push_back(o->second);
          orphans_.erase(o);
        }
      }
      orphan_children_.erase(lo, hi);
      std::sort(children.begin(), children.end(),
                [](const block_ptr& x, const block_ptr& y) { return x->hash > y->hash; });
      for (auto& c : children)
        work.push_back(std::move(c));
    }
  }

  void connect_one(node_context& ctx, const block_ptr& b) {
    auto& blocks = store_->blocks;
    auto parent = blocks.find(b->parent);
    if (parent == blocks.end())
      return; // an orphan of a rejected block: its parent never connects
    if (const char* why = invalid_reason(*b, parent->second.blk.get(), p_.max_block_txs)) {
      reject(ctx, *b, why); // a hostile peer (or a model bug): never adopted nor relayed
      return;
    }
    if (++parent->second.children > 1)
      ctx.count("forks");
    const bool refused = parent->second.refused;
    blocks.emplace(b->hash, block_entry{b, 0, refused});
    if (refused)
      return;
    const block_ptr& t = tip();
    if (b->height > t->height || (b->height == t->height && b->hash < t->hash))
      adopt(ctx, b);
  }

  /// Makes `b` the tip: rolls back to the fork point, applies the new branch, returns the
  /// rolled-back transactions that the new branch lacks to the mempool, advances finality.
  /// Work is proportional to the blocks rolled back and added, never to the chain length.
  void adopt(node_context& ctx, const block_ptr& b) {
    auto& s = *store_;
    std::vector<const block*> branch; // newest first
    const block* cur = b.get();
    while (!(cur->height < s.best.size() && s.best[cur->height]->hash == cur->hash)) {
      if (cur->height <= s.final_height) {
        // The branch leaves our chain at or below a final block: refuse it for good.
        s.blocks[b->hash].refused = true;
        for (const block* x : branch)
          s.blocks[x->hash].refused = true;
        ctx.count("deep_forks_refused");
        return;
      }
      branch.push_back(cur);
      cur = s.blocks.at(cur->parent).blk.get();
    }
    const uint64_t fork_height = cur->height;
    const auto depth = static_cast<uint32_t>(s.best.size() - 1 - fork_height);

    std::vector<block_ptr> rolled_back; // newest first
    while (s.best.size() - 1 > fork_height) {
      rolled_back.push_back(std::move(s.best.back()));
      s.best.pop_back();
    }
    if (depth > 0)
      ctx.count("reorgs");

    for (auto it = branch.rbegin(); it != branch.rend(); ++it) {
      const block_ptr& added = s.blocks.at((*it)->hash).blk;
      s.best.push_back(added);
      mempool_.erase_all(added->txs);
      emit(ctx, block_event::added, *added, depth);
    }

    // Oldest rolled-back transactions go first, ahead of everything that waited less.
    std::vector<tx_ptr> returned;
    for (auto it = rolled_back.rbegin(); it != rolled_back.rend(); ++it)
      for (const tx_ptr& t : (*it)->txs)
        if (!on_chain(t->key) && !in_mempool(t->key))
          returned.push_back(t);
    const size_t room = p_.mempool_max > mempool_.size() ? p_.mempool_max - mempool_.size() : 0;
    if (returned.size() > room) {
      ctx.count("txs_dropped", returned.size() - room);
      returned.resize(room);
    }
    for (auto it = returned.rbegin(); it != returned.rend(); ++it)
      mempool_.push_front(*it);

    const uint64_t height = s.best.size() - 1;
    while (s.final_height + p_.finality_depth < height) {
      ++s.final_height;
      emit(ctx, block_event::finalized, *s.best[s.final_height], 0);
    }
  }

  void emit(node_context& ctx, block_event::kind_t kind, const block& b, uint32_t depth) {
    // An event carries strings (hashes, every transaction id): at 1,000 nodes building them
    // for nobody cost ~10% of a run.
    if (!ctx.observes(kind))
      return;
    block_event ev;
    ev.kind = kind;
    ev.node = ctx.id();
    ev.height = b.height;
    ev.hash = to_hex(b.hash);
    ev.parent = to_hex(b.parent);
    ev.time_ns = ctx.true_now().count();
    ev.reorg_depth = depth;
    ev.producer = b.producer_id;
    ev.txs.reserve(b.txs.size());
    for (const tx_ptr& t : b.txs)
      ev.txs.push_back(t->id);
    ctx.emit(std::move(ev));
  }

  // -- orphans and resync ---------------------------------------------------------

  void add_orphan(node_context& ctx, const block_ptr& b) {
    // Over the limit, the longest-waiting orphan goes: it is the likeliest to belong to a
    // branch that will never connect (refused, or its request gave up).
    while (orphans_.size() >= chain_orphans_max && !orphan_order_.empty()) {
      const uint64_t victim = orphan_order_.front();
      orphan_order_.pop_front();
      auto it = orphans_.find(victim);
      if (it == orphans_.end())
        continue; // already connected
      auto [lo, hi] = orphan_children_.equal_range(it->second->parent);
      for (auto c = lo; c != hi; ++c)
        if (c->second == victim) {
          orphan_children_.erase(c);
          break;
        }
      orphans_.erase(it);
      ctx.count("orphans_dropped");
    }
    orphans_.emplace(b->hash, b);
    orphan_children_.emplace(b->parent, b->hash);
    orphan_order_.push_back(b->hash);
    if (orphan_order_.size() > 4 * chain_orphans_max) // drop hashes of connected orphans
      compact_orphan_order();
  }

  void compact_orphan_order() {
    std::deque<uint64_t> kept;
    for (uint64_t h : orphan_order_)
      if (orphans_.count(h) != 0)
        kept.push_back(h);
    orphan_order_.swap(kept);
  }

  struct pending_request {
    uint64_t batch = 1;
    duration deadline{};
    uint32_t attempts = 0;
    node_index peer = 0;
  };

  void request(node_context& ctx, node_index peer, uint64_t hash, uint64_t batch) {
    if (requests_.size() >= chain_requests_max)
      return; // retries and tip announcements will ask again once the backlog drains
    batch = std::clamp<uint64_t>(batch, 1, chain_sync_batch_max);
    requests_[hash] = pending_request{batch, ctx.local_now() + request_timeout(), 1, peer};
    send_get_blocks(ctx, peer, hash, batch);
  }

  void send_get_blocks(node_context& ctx, node_index peer, uint64_t hash, uint64_t batch) {
    message m;
    m.kind = chain_get_blocks;
    m.bytes = request_bytes;
    m.a = hash;
    m.b = batch;
    m.payload_hash = combine(hash, batch);
    ctx.send(peer, m);
  }

  duration request_timeout() const {
    return std::max<duration>(p_.slot * chain_request_timeout_slots, std::chrono::seconds{2});
  }

  void retry_requests(node_context& ctx) {
    if (requests_.empty())
      return;
    const duration now = ctx.local_now();
    const auto& peers = ctx.peers();
    for (auto it = requests_.begin(); it != requests_.end();) {
      pending_request& r = it->second;
      if (store_->blocks.count(it->first) != 0 || r.attempts >= chain_request_attempts_max) {
        it = requests_.erase(it);
        continue;
      }
      if (r.deadline <= now && !peers.empty()) {
        // The next peer after the one that did not answer, in the topology's stable order.
        auto pos = std::find(peers.begin(), peers.end(), r.peer);
        r.peer = pos == peers.end() || pos + 1 == peers.end() ? peers.front() : *(pos + 1);
        r.deadline = now + request_timeout();
        ++r.attempts;
        send_get_blocks(ctx, r.peer, it->first, r.batch);
      }
      ++it;
    }
  }

  void on_get_blocks(node_context& ctx, node_index from, uint64_t hash, uint64_t batch) {
    auto it = store_->blocks.find(hash);
    if (it == store_->blocks.end())
      return; // we do not have it (or only as an orphan): the requester retries elsewhere
    batch = std::clamp<uint64_t>(batch, 1, chain_sync_batch_max);
    std::vector<const block_ptr*> out; // newest first
    const block_ptr* cur = &it->second.blk;
    while (out.size() < batch && (*cur)->height > 0) {
      out.push_back(cur);
      cur = &store_->blocks.at((*cur)->parent).blk;
    }
    // Oldest first, so that on an in-order link each block connects on arrival.
    for (auto o = out.rbegin(); o != out.rend(); ++o) {
      message m;
      m.kind = chain_block;
      m.bytes = (**o)->bytes;
      m.payload_hash = (**o)->hash;
      m.a = hash;
      m.b = batch;
      m.body = **o;
      ctx.send(from, m);
    }
  }

  void send_tip(node_context& ctx, node_index to) {
    message m;
    m.kind = chain_tip;
    m.bytes = tip_bytes;
    std::tie(m.a, m.b) = announced_tip();
    if (equivocating()) { // each half hears of its own branch only
      const block_ptr& t = side_tip(side_of(ctx, to));
      m.a = t->hash;
      m.b = t->height;
    }
    m.payload_hash = combine(m.a, m.b);
    ctx.send(to, m);
  }

  void ask_tip(node_context& ctx, node_index peer) {
    message m;
    m.kind = chain_get_tip;
    m.bytes = request_bytes;
    m.payload_hash = combine(self_key_, chain_get_tip);
    ctx.send(peer, m);
  }

  void announce(node_context& ctx) {
    const auto& peers = ctx.peers();
    if (peers.empty())
      return;
    send_tip(ctx, peers[announce_next_++ % peers.size()]);
  }

  void on_tip(node_context& ctx, node_index from, uint64_t hash, uint64_t height) {
    const block_ptr& t = tip();
    const bool better = height > t->height || (height == t->height && hash < t->hash);
    if (!better || store_->blocks.count(hash) != 0)
      return;
    // Known only as an orphan: what is missing is the parent of its run's root (whose
    // request may have given up). The walk is bounded by the orphan limit.
    uint64_t want = hash;
    uint64_t want_height = height;
    for (auto o = orphans_.find(want); o != orphans_.end(); o = orphans_.find(want)) {
      want = o->second->parent;
      want_height = o->second->height - 1;
    }
    if (requests_.count(want) != 0 || store_->blocks.count(want) != 0)
      return;
    request(ctx, from, want, want_height > t->height ? want_height - t->height : 1);
  }

  // -- state ----------------------------------------------------------------------

  chain_params p_;
  std::shared_ptr<chain_store> store_;
  uint64_t self_key_ = 0;

  // Volatile: lost on restart, as a real node's memory is.
  mempool_queue mempool_;                             ///< by arrival: block building order
  std::unordered_map<uint64_t, block_ptr> orphans_;   ///< by hash; lookup only
  std::multimap<uint64_t, uint64_t> orphan_children_; ///< parent hash -> orphan hash
  std::deque<uint64_t> orphan_order_;                 ///< arrival order, for eviction
  std::map<uint64_t, pending_request> requests_;      ///< by wanted hash; ordered for retries
  size_t announce_next_ = 0;
  std::string identity_;        ///< whose blocks this node signs: its id, or a twin's
  std::set<uint64_t> rejected_; ///< invalid blocks seen (counted once); lookup only
  struct outbox_entry {
    tx_ptr tx;
    uint64_t known = 0; ///< peers known to have it, by position (see peer_bit)
  };
  std::vector<outbox_entry> outbox_; ///< to relay at the next flush
  key_map<uint32_t> outbox_index_;   ///< tx key -> outbox_ position
};

// -- parameter parsing ----------------------------------------------------------------

/// The scenario's duration syntax ("250ms", "1.5s", "1m30s"), shared through actors/units.

} // namespace

// -- public API -------------------------------------------------------------------------

const std::string& chain_genesis_hash() {
  static const std::string h = to_hex(genesis_hash_value);
  return h;
}

chain_params read_chain_params(params_reader& r, bool leader) {
  using namespace std::chrono_literals;
  chain_params p;
  p.slot = r.dur("slot", p.slot, 1ms);
  if (p.slot > 24h)
    r.error("slot", "must be a duration from 1ms to 24h, got " + format_duration(p.slot));
  p.tx_relay_interval = r.dur("tx_relay_interval", p.tx_relay_interval);
  if (p.tx_relay_interval > 1min)
    r.error("tx_relay_interval",
            "must be a duration from 0s to 1m, got " + format_duration(p.tx_relay_interval));
  p.active_slot_coeff = r.probability("active_slot_coeff", p.active_slot_coeff);
  auto u32 = [&r](const char* key, uint32_t fallback, int64_t lo, int64_t hi) {
    return static_cast<uint32_t>(r.integer(key, fallback, lo, hi));
  };
  p.max_block_txs = u32("max_block_txs", p.max_block_txs, 0, 1'000'000);
  p.tx_bytes = u32("tx_bytes", p.tx_bytes, 1, 100'000'000);
  p.block_header_bytes = u32("block_header_bytes", p.block_header_bytes, 1, 100'000'000);
  p.finality_depth = u32("finality_depth", p.finality_depth, 1, 1'000'000);
  p.mempool_max = u32("mempool_max", p.mempool_max, 1, 100'000'000);
  p.leader = r.boolean("leader", leader);
  return p;
}

chain_params parse_chain_params(const nlohmann::json& params, bool leader, const std::string& path,
                                std::vector<troupe::validation_error>& errors) {
  if (params.is_null()) {
    chain_params p;
    p.leader = leader;
    return p;
  }
  params_reader r{params, path, errors};
  auto p = read_chain_params(r, leader);
  r.finish();
  return p;
}

sim::model_factory make_chain_model(chain_params params) {
  return [params] { return std::make_unique<chain_node>(params); };
}

} // namespace troupe::sim::models
