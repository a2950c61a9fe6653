#pragma once
// The sync service's state machine (DESIGN.md: "sync service"): Testground's primitives,
// with no clock, no threads and no I/O, so the simulator and the live HTTP service run the
// same logic. Its owner (actors/sync_actor) holds the waiters' answers; this only says who
// is released when.
//
//   signal_entry(state) -> seq     the state's count after this entry (1, 2, ...)
//   barrier(state, target)         released once count(state) >= target
//   publish(topic, payload) -> seq the payload's place in the topic (1, 2, ...)
//   subscribe(topic, from)         the payloads from seq `from` on, released on a publish
//
// Every name, payload and collection has a limit (options), so a client cannot make the
// service hold unbounded memory; a request over a limit is refused with the reason.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace troupe {

class sync_state {
public:
  struct options {
    size_t name_bytes_max = 256;         ///< a state's or topic's name
    size_t payload_bytes_max = 64 << 10; ///< one published payload
    size_t states_max = 100'000;         ///< distinct states
    size_t topics_max = 10'000;          ///< distinct topics
    size_t messages_per_topic_max = 100'000;
    size_t waiters_max = 100'000;     ///< barriers and subscriptions waiting at once
    size_t read_messages_max = 1'000; ///< payloads one subscribe answer carries
  };

  /// An operation's answer: `seq` (signal, publish) or the count, or why it was refused.
  struct result {
    uint64_t value = 0;
    std::string error; ///< empty: accepted
    bool ok() const noexcept { return error.empty(); }
  };

  using waiter_id = uint64_t;

  // -- constructors -----------------------------------------------------------

  sync_state() = default;
  explicit sync_state(options o)
    : opts_(o) {}

  // -- signals and barriers ---------------------------------------------------

  /// Adds one entry to `state`: its new count is the entry's sequence number.
  result signal_entry(const std::string& state);
  uint64_t count(const std::string& state) const;
  /// Registers a waiter for count(state) >= target. `released` is true when it already
  /// holds (no waiter is kept then).
  result barrier(const std::string& state, uint64_t target, waiter_id id, bool& released);
  /// The barrier waiters that the last signal of `state` released (removed from the waiting).
  std::vector<waiter_id> take_released(const std::string& state);

  // -- topics -----------------------------------------------------------------

  result publish(const std::string& topic, std::string payload);
  /// Payloads of `topic` from sequence number `from` (1-based) on, at most read_messages_max.
  std::vector<std::string> read(const std::string& topic, uint64_t from) const;
  uint64_t length(const std::string& topic) const;
  /// Registers a waiter for a payload with seq >= from; `ready` is true (and nothing is
  /// kept) when one is already there.
  result subscribe(const std::string& topic, uint64_t from, waiter_id id, bool& ready);
  /// The subscribers that the last publish on `topic` can answer, with the seq each asked from.
  std::vector<std::pair<waiter_id, uint64_t>> take_ready(const std::string& topic);

  // -- waiters ----------------------------------------------------------------

  /// Forgets a waiter (its owner gave up: timeout); false when it was not waiting.
  bool cancel(waiter_id id);
  size_t waiting() const noexcept { return where_.size(); }
  const options& limits() const noexcept { return opts_; }

private:
  std::optional<std::string> check_name(const std::string& what, const std::string& name) const;
  std::optional<std::string> check_room() const;

  options opts_;
  std::map<std::string, uint64_t> counts_;
  /// state -> (target, waiter): ordered, so releases come in target then arrival order.
  std::map<std::string, std::set<std::pair<uint64_t, waiter_id>>> barriers_;
  std::map<std::string, std::vector<std::string>> topics_;
  /// topic -> (from, waiter)
  std::map<std::string, std::set<std::pair<uint64_t, waiter_id>>> subscribers_;
  /// waiter -> (is_barrier, name, key): for cancel().
  struct place {
    bool barrier = true;
    std::string name;
    uint64_t key = 0;
  };
  std::map<waiter_id, place> where_;
};

} // namespace troupe
