#!/usr/bin/env bash
# bench-firewall.sh — time the firewall package against iptables-restore.
#
# Generates iptables-save rulesets of 1,000 / 10,000 / 100,000 rules (mostly
# "-A INPUT -s x/32 -j DROP" blocklist lines, with multiport and conntrack
# rules mixed in; see scripts/benchfw), then times, on the same file:
#   fwaudit:   parse + compile + evaluate 50 listeners (scripts/benchfw, whole process)
#   iptables:  iptables-restore --test, in a throwaway network namespace
# and prints the best of RUNS runs of each side by side.
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

now() { date +%s.%N; }

printf '%-8s %12s %12s %8s   %s\n' rules fwaudit_s iptables_s ratio "fwaudit detail (best run)"
for n in $SIZES; do
	f="$tmp/rules-$n.v4"
	"$tmp/benchfw" -gen "$n" >"$f"
	restore_test "$f" # must load: the comparison is only fair on a valid file
	best_ours="" best_ipt="" detail=""
	for _ in $(seq "$RUNS"); do
		t0=$(now)
		out=$("$tmp/benchfw" -listeners 50 "$f")
		t1=$(now)
		restore_test "$f"
		t2=$(now)
		ours=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.4f", b-a}')
		ipt=$(awk -v a="$t1" -v b="$t2" 'BEGIN{printf "%.4f", b-a}')
		if [ -z "$best_ours" ] || awk -v x="$ours" -v y="$best_ours" 'BEGIN{exit !(x<y)}'; then
			best_ours=$ours detail=$out
		fi
		if [ -z "$best_ipt" ] || awk -v x="$ipt" -v y="$best_ipt" 'BEGIN{exit !(x<y)}'; then
			best_ipt=$ipt
		fi
	done
	ratio=$(awk -v a="$best_ours" -v b="$best_ipt" 'BEGIN{printf "%.2f", a/b}')
	printf '%-8s %12s %12s %8s   %s\n' "$n" "$best_ours" "$best_ipt" "$ratio" "$detail"
done
echo "machine: $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
