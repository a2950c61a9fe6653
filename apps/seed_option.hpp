#pragma once
// Seeds on the command line (`run --seed`, `jobs serve --seed`): decimal, in the range a
// scenario's "seed" takes, so that a reproduce line always names a seed a scenario file can
// hold. CLI11 reads an unsigned option with strtoull, which turns "-1" into 2^64-1 and an
// overflowing number into its maximum without a word: the text is checked here instead.

#include <cstdint>
#include <string>

namespace troupe::apps {

/// The largest seed: what a scenario's "seed" accepts (JSON integers up to INT64_MAX).
inline constexpr uint64_t seed_max = 9'223'372'036'854'775'807ull;

/// Parses `text` given to `flag`; throws user_error (exit 2) naming the flag and the range.
uint64_t parse_seed_option(const std::string& flag, const std::string& text);

} // namespace troupe::apps
