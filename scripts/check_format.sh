#!/usr/bin/env bash
# Every C++ file in git follows .clang-format (the layout.clang_format test; CI runs it). Prints
# each file that does not, with the command that fixes it, and exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."
formatter="$(command -v clang-format || command -v clang-format-14 || true)"
if [ -z "$formatter" ]; then
  echo "check_format: clang-format is not installed: run scripts/setup.sh (it installs it)" >&2
  exit 2
fi
# One clang-format for every file (a process per file took ~20 s); --dry-run names each
# violation as "path:line:col: error: ...", and the paths are what is listed below.
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' | while IFS= read -r f; do [ -f "$f" ] && echo "$f"; done)
set +e
findings="$("$formatter" --dry-run --Werror "${files[@]}" 2>&1 >/dev/null)"
rc=$?
set -e
mapfile -t bad < <(sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: error: .*clang-format-violations.*/\1/p' <<<"$findings" | sort -u)
if ((rc != 0 && ${#bad[@]} == 0)); then
  echo "check_format: clang-format failed: $(tail -n 1 <<<"$findings")" >&2
  exit 2
fi
if ((${#bad[@]})); then
  printf 'check_format: %d files differ from .clang-format:\n' "${#bad[@]}"
  printf '  %s\n' "${bad[@]}"
  echo "fix: clang-format -i ${bad[*]}"
  exit 1
fi
echo "check_format: every C++ file follows .clang-format"
