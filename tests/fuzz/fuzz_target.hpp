#pragma once
// One fuzz target per file (tests/fuzz/fuzz_<name>.cpp), written once and built two ways:
//
//   - with -DTROUPE_FUZZ=ON (clang, scripts/fuzz.sh): TROUPE_FUZZ_TARGET(name) is libFuzzer's
//     LLVMFuzzerTestOneInput, one executable per target (fuzz_<name>);
//   - in the normal test build (any compiler): the same function registers itself under its
//     name, and test_fuzz (corpus_test.cpp) feeds it every file of tests/fuzz/corpus/<name>/
//     and its seeds, so each input a fuzzer once crashed on stays a regression test.
//
// A target returns 0 for every input. Errors a user can cause (troupe::user_error and its
// subclass validation_failed) are expected answers and caught; anything else escapes and
// is a finding: an uncaught exception, a crash, a sanitizer report or a failed check().

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace troupe::fuzz {

using target_fn = int (*)(const uint8_t* data, size_t size);

/// Registers a target for the corpus regression test; returns true.
bool register_target(const char* name, target_fn fn);

/// An invariant of the code under test: when it fails, the input is a finding.
inline void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz check failed: %s\n", what);
    std::abort();
  }
}

/// The input as a file path that the readers under test can open (a memfd: no disk, no
/// clean-up), for readers whose entry point is a file.
class input_file {
public:
  input_file(const uint8_t* data, size_t size);
  ~input_file();
  input_file(const input_file&) = delete;
  input_file& operator=(const input_file&) = delete;
  const std::string& path() const noexcept { return path_; }

private:
  int fd_ = -1;
  std::string path_;
};

} // namespace troupe::fuzz

#ifdef TROUPE_FUZZ_LIBFUZZER
#define TROUPE_FUZZ_TARGET(name)                                                                   \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
#else
#define TROUPE_FUZZ_TARGET(name)                                                                   \
  static int troupe_fuzz_##name(const uint8_t* data, size_t size);                                 \
  [[maybe_unused]] static const bool troupe_fuzz_registered_##name =                               \
    ::troupe::fuzz::register_target(#name, troupe_fuzz_##name);                                    \
  static int troupe_fuzz_##name(const uint8_t* data, size_t size)
#endif
