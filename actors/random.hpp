#pragma once
// Seeded, splittable randomness. Every random choice in a run comes from a stream derived
// from (run seed, stable name): adding a node or a workload never shifts another stream.
// Lives in actors/ because workloads, expectations and the simulator all draw from it.

#include <cstdint>
#include <string_view>

namespace troupe {

/// SplitMix64 step: the standard seeder for xoshiro generators.
constexpr uint64_t splitmix64(uint64_t& state) noexcept {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/// FNV-1a over bytes: a stable (platform- and run-independent) name hash.
constexpr uint64_t stable_hash(std::string_view s, uint64_t h = 0xCBF29CE484222325ULL) noexcept {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001B3ULL;
  }
  return h;
}

/// xoshiro256** generator; satisfies UniformRandomBitGenerator.
class rng {
public:
  using result_type = uint64_t;

  // -- constructors -----------------------------------------------------------

  explicit rng(uint64_t seed = 0) noexcept { reseed(seed); }

  /// The stream for `name` under run seed `seed`.
  static rng stream(uint64_t seed, std::string_view name) noexcept {
    return rng{seed ^ stable_hash(name)};
  }

  void reseed(uint64_t seed) noexcept {
    uint64_t sm = seed;
    for (auto& w : s_)
      w = splitmix64(sm);
  }

  // -- generation -------------------------------------------------------------

  static constexpr result_type min() noexcept { return 0; }
  static constexpr result_type max() noexcept { return ~uint64_t{0}; }

  result_type operator()() noexcept {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  /// Uniform in [0, 1).
  double uniform01() noexcept { return static_cast<double>((*this)() >> 11) * 0x1.0p-53; }

  /// Uniform integer in [0, n) (n > 0), by Lemire's multiply-shift (bias < 2^-64 * n).
  uint64_t below(uint64_t n) noexcept {
    return static_cast<uint64_t>((static_cast<unsigned __int128>((*this)()) * n) >> 64);
  }

  /// Uniform integer in [lo, hi] (inclusive).
  int64_t between(int64_t lo, int64_t hi) noexcept {
    return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo) + 1));
  }

  bool chance(double p) noexcept { return uniform01() < p; }

  /// Standard normal by Box–Muller (one value per call; deterministic, no cached state).
  double normal() noexcept;

private:
  static constexpr uint64_t rotl(uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

} // namespace troupe
