#!/usr/bin/env bash
# Installs what Troupe needs on Debian 12 (only what is missing) and builds it.
# Usage: scripts/setup.sh                 everything: run + test packages, build every target
#        scripts/setup.sh --run           what building and running troupe needs; builds
#                                         only the `troupe` target (scripts/quickstart.sh)
#        TROUPE_SKIP_BUILD=1 scripts/setup.sh [--run]   install only
#        TROUPE_BUILD_DIR=DIR scripts/setup.sh [--run]  build into DIR instead of build/
set -euo pipefail
cd "$(dirname "$0")/.."

scope=all
case "${1:-}" in
  --run) scope=run ;;
  --all | "") scope=all ;;
  *) echo "setup: unknown option $1; use --run (build and run troupe) or --all (and the tests)" >&2
     exit 2 ;;
esac

# What building the `troupe` binary and running a simulated scenario need: the toolchain and
# the libraries it links (DESIGN.md: Debian packages only). Nothing else: the quick start
# installs this list alone.
# What running troupe needs (the .deb's Depends reads the same file).
mapfile -t runtime_packages < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' scripts/runtime-packages.txt)
run_packages=(
  "${runtime_packages[@]}"
  cmake g++ make ccache pkg-config
  libcaf-dev nlohmann-json3-dev prometheus-cpp-dev libcpp-httplib-dev libspdlog-dev libfmt-dev
  libsqlite3-dev libcli11-dev libssl-dev zlib1g-dev libre2-dev
  # the PostgreSQL job store (jobs/pg_store.*) talks to the server through libpq directly:
  # one C library already in Debian, and its pipeline mode sends a whole group commit in one
  # round trip (libpqxx would add a dependency for a thin wrapper over the same calls)
  libpq-dev
)
# What the tests and benchmarks add: their frameworks, the real node programs the live
# backend runs (litecoind, etcd; also what `--backend local` needs), and the tools the tests
# drive (curl, ps, Graphviz's dot, headless Chromium for report.html and the dashboard,
# Python's XML parser for report.junit.xml, `script` for a terminal).
test_packages=(
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  # every C++ file follows .clang-format (scripts/check_format.sh, the layout.clang_format test)
  clang-format git
  litecoind etcd-server etcd-client
  curl procps graphviz chromium python3 bsdutils
  # `troupe schema` output is checked against every example with a JSON Schema validator
  python3-jsonschema
  # the PostgreSQL job store's tests and bench_jobs run a throwaway cluster of Debian's server
  # (tests/support/postgres_cluster.hpp: /usr/lib/postgresql/15/bin, as an unprivileged user)
  postgresql
  # sanitizer and fuzzing builds (scripts/sanitize.sh, scripts/fuzz.sh): clang with its
  # sanitizer and libFuzzer runtimes, and llvm-symbolizer for readable reports
  clang libclang-rt-14-dev llvm
  # the ssh backend's tests and bench_fleet start real sshd instances on loopback addresses
  # (tests/support/sshd_fleet.hpp); the client (ssh, scp) comes with openssh-client
  openssh-server openssh-client
  # the compose backend's tests and bench_containers: the Docker daemon (started by the tests
  # themselves when none runs, tests/support/docker_daemon.hpp) and the Compose tool
  docker.io docker-compose
)

packages=("${run_packages[@]}")
if [ "$scope" = all ]; then packages+=("${test_packages[@]}"); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
  echo "setup: ${#missing[@]} packages installed after ${SECONDS} s"
fi

if [ "${TROUPE_SKIP_BUILD:-0}" = "1" ]; then exit 0; fi

launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  # Paths relative to the checkout, so that another clone of the same sources hits the cache.
  export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
fi
build_dir="${TROUPE_BUILD_DIR:-build}"
if [ "$scope" = run ]; then
  # The quick start builds the one target it runs, the quick way (TROUPE_QUICK: a few large
  # translation units at -O1/-O0, about a fifth of the default build's time; CMakeLists.txt).
  # Tests and benchmarks are configured when their frameworks are there, never built here.
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DTROUPE_QUICK=ON "${launcher[@]}" >/dev/null
  cmake --build "$build_dir" -j2 --target troupe
  echo "setup: $build_dir/troupe built; ${SECONDS} s since setup started"
else
  # The default build (one translation unit per file, -O3): what the tests and benchmarks
  # measure. A build directory the quick start made is switched back.
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DTROUPE_QUICK=OFF -DTROUPE_REQUIRE_TESTS=ON \
    "${launcher[@]}" >/dev/null
  cmake --build "$build_dir" -j2
fi
