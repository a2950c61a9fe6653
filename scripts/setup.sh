#!/usr/bin/env bash
# Installs what Troupe needs on Debian 12 (only what is missing) and builds it.
# Usage: scripts/setup.sh            install + build (Release, into build/)
#        TROUPE_SKIP_BUILD=1 scripts/setup.sh   install only
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  # toolchain
  cmake g++ make ccache pkg-config
  # libraries (DESIGN.md: Debian packages only)
  libcaf-dev nlohmann-json3-dev prometheus-cpp-dev libcpp-httplib-dev libspdlog-dev libfmt-dev
  googletest libgtest-dev libgmock-dev libbenchmark-dev libsqlite3-dev libcli11-dev libssl-dev zlib1g-dev
  libre2-dev
  # real node programs for live tests, and tools the tests drive
  litecoind etcd-server etcd-client curl procps graphviz
  # report.html and the live dashboard are checked in headless Chromium
  chromium
  # test only: `troupe schema` output is checked against every example with a JSON Schema
  # validator (tests/apps/schema_test.cpp)
  python3-jsonschema
)

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
fi

if [ "${TROUPE_SKIP_BUILD:-0}" = "1" ]; then exit 0; fi

launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  # Paths relative to the checkout, so that another clone of the same sources hits the cache.
  export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" >/dev/null
cmake --build build -j2
