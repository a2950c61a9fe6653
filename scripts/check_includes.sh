#!/usr/bin/env bash
# The include rules of DESIGN.md ("Who may include whom"), checked on every source file:
#
#   actors/                    includes nothing of ours but actors/
#   jobs/                      actors/, jobs/
#   sim/                       actors/, sim/
#   report/                    actors/, jobs/, report/
#   workloads/, expectations/  actors/, jobs/ and their own folder
#   backends/                  actors/, sim/, backends/
#   services/                  actors/, jobs/, services/ (live HTTP services: sync, discovery)
#   apps/, tests/, benchmarks/, scenarios/: anything
#
# Prints every include that breaks a rule (file:line and the rule) and exits 1 if any does.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A allowed=(
  [actors]="actors"
  [jobs]="actors jobs"
  [sim]="actors sim"
  [report]="actors jobs report"
  [workloads]="actors jobs workloads"
  [expectations]="actors jobs expectations"
  [backends]="actors sim backends"
  [services]="actors jobs services"
)
ours="actors|jobs|sim|report|workloads|expectations|backends|services|apps|tests|benchmarks|scenarios"

bad=0
for area in "${!allowed[@]}"; do
  [ -d "$area" ] || continue
  while IFS=: read -r file line text; do
    target=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]+"([^/"]+)\/.*/\1/' <<<"$text")
    case " ${allowed[$area]} " in
      *" $target "*) ;;
      *)
        echo "$file:$line: $area/ may not include $target/ (DESIGN.md: $area/ includes only ${allowed[$area]// /, })"
        bad=1
        ;;
    esac
  done < <(grep -rnE "^[[:space:]]*#[[:space:]]*include[[:space:]]+\"($ours)/" "$area" \
             --include='*.cpp' --include='*.hpp' || true)
done
if [ "$bad" -ne 0 ]; then
  exit 1
fi
echo "include rules: every area includes only what DESIGN.md allows"
