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
bad=()
while IFS= read -r f; do
  [ -f "$f" ] || continue # deleted in the working tree, not yet in the index
  if ! "$formatter" --dry-run --Werror "$f" >/dev/null 2>&1; then bad+=("$f"); fi
done < <(git ls-files '*.cpp' '*.hpp')
if ((${#bad[@]})); then
  printf 'check_format: %d files differ from .clang-format:\n' "${#bad[@]}"
  printf '  %s\n' "${bad[@]}"
  echo "fix: clang-format -i ${bad[*]}"
  exit 1
fi
echo "check_format: every C++ file follows .clang-format"
