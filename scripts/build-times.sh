#!/usr/bin/env bash
# Measures what the quick start's build saves: a cold build of the `troupe` target (no ccache,
# empty build directory, -j2) the quick way (TROUPE_QUICK: unity translation units at -O1/-O0,
# what scripts/quickstart.sh builds) and the default way (one translation unit per file, -O3:
# what scripts/test.sh builds), one after the other in the same run, with the wall time, the
# CPU time of the compilers and the machine's load beside each. docs/build.md keeps the figures.
#
#   scripts/build-times.sh [--keep]      build directories under /var/tmp/troupe-build-times
set -euo pipefail
cd "$(dirname "$0")/.."
keep=0
case "${1:-}" in
  --keep) keep=1 ;;
  "") ;;
  *) echo "build-times: unknown option $1; use --keep to keep the build directories" >&2; exit 2 ;;
esac
root=/var/tmp/troupe-build-times
rm -rf "$root"
mkdir -p "$root"
cleanup() { if [ "$keep" = 0 ]; then rm -rf "$root"; fi; }
trap cleanup EXIT

measure() { # name, cmake options...
  local name="$1"
  shift
  local dir="$root/$name"
  local load
  load="$(cut -d' ' -f1 /proc/loadavg)"
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF "$@" >/dev/null
  # bash's time: wall, then the CPU time of make and every compiler and linker it waited for
  local TIMEFORMAT="%R %U %S" times
  times="$( { time CCACHE_DISABLE=1 cmake --build "$dir" -j2 --target troupe >"$dir.log" 2>&1; } 2>&1)" ||
    { echo "build-times: the $name build failed; see $dir.log" >&2; keep=1; exit 1; }
  read -r wall user sys <<<"$times"
  printf '%-8s wall %6.0f s   CPU %6.0f s   (load average before: %s)\n' "$name" "$wall" \
    "$(echo "$user + $sys" | bc)" "$load"
}

echo "build-times: cold builds of the troupe target, -j2, no ccache ($(nproc) cores)"
measure quick -DTROUPE_QUICK=ON
measure default -DTROUPE_QUICK=OFF
