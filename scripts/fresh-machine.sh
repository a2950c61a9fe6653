#!/usr/bin/env bash
# Measures the README's quick start on a fresh Debian 12: a minimal bookworm root made with
# debootstrap (Debian's own packages, from the machine's Debian mirror), a clone of this
# checkout in it, and `scripts/quickstart.sh` run inside with nothing installed and an empty
# compiler cache, timed. Prints the time of each phase; the chroot is removed afterwards
# unless --keep. Needs root (debootstrap, chroot, mounts).
#
#   scripts/fresh-machine.sh [--keep] [--dir DIR]      default DIR: /var/tmp/troupe-fresh
#   TROUPE_FRESH_COMMAND="scripts/test.sh" scripts/fresh-machine.sh    the test command instead
set -euo pipefail
cd "$(dirname "$0")/.."
keep=0
dir=/var/tmp/troupe-fresh
while (($#)); do
  case "$1" in
    --keep) keep=1 ;;
    --dir) dir="$2"; shift ;;
    *) echo "fresh-machine: unknown option $1; use --keep or --dir DIR" >&2; exit 2 ;;
  esac
  shift
done
if [ "$(id -u)" -ne 0 ]; then
  echo "fresh-machine: needs root (debootstrap, chroot and mounts): run it with sudo" >&2
  exit 2
fi
command="${TROUPE_FRESH_COMMAND:-scripts/quickstart.sh}"
mirror="$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)"
mirror="${mirror:-http://deb.debian.org/debian}"

if ! command -v debootstrap >/dev/null; then
  echo "fresh-machine: installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap
fi

cleanup() {
  for m in proc sys dev/pts dev; do
    mountpoint -q "$dir/$m" && umount -l "$dir/$m" || true
  done
  if [ "$keep" = 0 ]; then rm -rf "$dir"; fi
}
trap cleanup EXIT

rm -rf "$dir"
t0=$(date +%s)
# minbase: what a cloud image of Debian 12 has at most (no compiler, no cmake, no git).
debootstrap --variant=minbase --include=ca-certificates,sudo bookworm "$dir" "$mirror" >/dev/null
t1=$(date +%s)
git clone -q . "$dir/root/troupe"
mount -t proc proc "$dir/proc"
mount --rbind /sys "$dir/sys"
mount --rbind /dev "$dir/dev"
cp /etc/resolv.conf "$dir/etc/resolv.conf"

echo "fresh-machine: debootstrap took $((t1 - t0)) s; now \`$command\` in the fresh root"
load="$(cut -d' ' -f1-3 /proc/loadavg)"
start=$(date +%s.%N)
set +e
chroot "$dir" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin TERM=dumb \
  bash -c "cd /root/troupe && $command" >"$dir.log" 2>&1
rc=$?
set -e
end=$(date +%s.%N)
tail -n 5 "$dir.log"
printf 'fresh-machine: `%s` exited %d after %.0f s (load average before: %s)\n' "$command" "$rc" \
  "$(echo "$end - $start" | bc)" "$load"
echo "fresh-machine: whole log in $dir.log"
exit "$rc"
