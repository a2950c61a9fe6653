#pragma once
// Whether a program reads the wall clock through libc, so that an LD_PRELOAD library
// (libfaketime) can change what it sees. Decided from the executable alone, before any run:
// a static binary has no dynamic loader to preload into (no PT_INTERP), a binary that does not
// link libc calls the kernel itself, and a Go binary (a Go build-info section or build id note)
// reads time through the vDSO straight from its runtime even when it links libc for cgo.
// A `#!` script is judged by the program it `exec`s when it names one by absolute path, else
// by its interpreter (the preload is inherited by whatever it runs).

#include <filesystem>
#include <optional>
#include <string>

namespace troupe::backends::agent {

/// Why `binary` does not read time through libc (one sentence naming it), or nothing.
/// Results are cached per path (the check reads the ELF headers once).
std::optional<std::string> libc_time_refusal(const std::filesystem::path& binary);

/// The executable that really runs for `binary`: the file a `#!` script `exec`s by absolute
/// path (followed through up to 3 scripts; the Debian `litecoind` is a script around
/// /usr/lib/litecoin/litecoind), else `binary` itself. What `troupe image build` copies.
std::filesystem::path executable_behind(const std::filesystem::path& binary);

} // namespace troupe::backends::agent
