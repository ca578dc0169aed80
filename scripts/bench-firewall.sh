#!/usr/bin/env bash
# bench-firewall.sh — time the firewall package against iptables-restore.
#
# Generates iptables-save rulesets of 1,000 / 10,000 / 100,000 rules (mostly
# "-A INPUT -s x/32 -j DROP" blocklist lines, with multiport and conntrack
# rules mixed in; see scripts/benchfw), then times, on the same file:
#   fwaudit:   parse + compile + evaluate 50 listeners (scripts/benchfw, whole process)
#   iptables:  iptables-restore --test, in a throwaway network namespace
# and prints the best of RUNS runs of each side by side: wall-clock seconds
# and CPU seconds (user+sys; on a shared machine the fairer number, since
# the load of other processes inflates wall time).
#
#   scripts/bench-firewall.sh            # RUNS=5 by default
#   RUNS=10 SIZES="1000 100000" scripts/bench-firewall.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin:/sbin"

RUNS=${RUNS:-5}
SIZES=${SIZES:-"1000 10000 100000"}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

go build -o "$tmp/benchfw" ./scripts/benchfw

# restore_test runs iptables-restore --test on $1 in a new network namespace
# (unshare -n as root, an unprivileged user namespace otherwise).
restore_test() {
	if [ "$(id -u)" = 0 ]; then
		unshare -n iptables-restore --test <"$1"
	else
		unshare -rn iptables-restore --test <"$1"
	fi
}

# timed CMD...: run CMD with stdout to $tmp/out, print "wall cpu"
timed() {
	local TIMEFORMAT='%R %U %S'
	{ time "$@" >"$tmp/out" 2>"$tmp/err"; } 2>"$tmp/time"
	awk '{printf "%.4f %.4f\n", $1, $2+$3}' "$tmp/time"
}

min() { awk -v a="$1" -v b="$2" 'BEGIN{print (b == "" || a+0 < b+0) ? a : b}'; }

printf '%-8s %10s %10s %7s %10s %10s %7s   %s\n' rules fw_wall ipt_wall ratio fw_cpu ipt_cpu ratio "fwaudit detail (last run)"
for n in $SIZES; do
	f="$tmp/rules-$n.v4"
	"$tmp/benchfw" -gen "$n" >"$f"
	restore_test "$f" # must load: the comparison is only fair on a valid file
	ow="" oc="" iw="" ic=""
	for _ in $(seq "$RUNS"); do
		read -r w c < <(timed "$tmp/benchfw" -listeners 50 "$f")
		ow=$(min "$w" "$ow") oc=$(min "$c" "$oc")
		detail=$(cat "$tmp/out")
		read -r w c < <(timed restore_test "$f")
		iw=$(min "$w" "$iw") ic=$(min "$c" "$ic")
	done
	rw=$(awk -v a="$ow" -v b="$iw" 'BEGIN{printf "%.2f", a/b}')
	rc=$(awk -v a="$oc" -v b="$ic" 'BEGIN{printf "%.2f", (b > 0) ? a/b : 0}')
	printf '%-8s %10s %10s %7s %10s %10s %7s   %s\n' "$n" "$ow" "$iw" "$rw" "$oc" "$ic" "$rc" "$detail"
done
echo "machine: $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
