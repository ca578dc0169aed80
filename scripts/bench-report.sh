#!/usr/bin/env bash
# bench-report.sh — time `fwaudit report` on large rulesets against the
# tools that check the same file, side by side, and measure its peak memory.
#
# Inputs (generated; 50 listeners in `ss -tunlp` layout):
#   ipt100k   scripts/benchfw -gen 100000: an iptables-save file of 100,000
#             rules (a blocklist of -s x/32 DROP, multiport and conntrack
#             rules), against `iptables-restore --test` on the same file
#   nft10k    scripts/gennft -rules 10000: table inet filter with 10,000
#             rules (interfaces, port sets, jumps), against `nft -c -f`
#   ban100k   scripts/gennft -banset 100000: 8 rules and an interval set
#             of 100,000 elements, against `nft -c -f`
#   rban100k  scripts/gennft -rules 1000 -banset 100000: the 1,000 rules of
#             nft10k's kind, one of them dropping the sources of an interval
#             set of 100,000 elements, against `nft -c -f`
#   scan100k  `fwaudit scan` on ipt100k, against `iptables-restore --test`
# Every fwaudit run is `--offline -o json` (report or scan) and must exit
# 0; each report's summary.incomplete must be empty (the rule analysis
# finished) or the row says "incomplete". The two commands of a row run in
# turn, RUNS times after one warm-up round, so a change of load on a
# shared machine hits both; the row gives the medians of wall and CPU
# (user+sys) seconds, their ratios (fwaudit / reference) and fwaudit's peak
# RSS (GNU time %M, largest of the runs). The references run in a
# throwaway network namespace (unshare -n; root).
#
#   sudo scripts/bench-report.sh [-r RUNS] [INPUT...]
#
# INPUT (default: all): ipt100k nft10k ban100k rban100k scan100k.
# FWAUDIT names the binary to time; without it ./cmd/fwaudit is built.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin:/sbin"

runs=5
while getopts r: opt; do
	case $opt in
	r) runs=$OPTARG ;;
	*) echo "usage: $0 [-r RUNS] [ipt100k|nft10k|ban100k|rban100k|scan100k ...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
inputs=${*:-ipt100k nft10k ban100k rban100k scan100k}
case $runs in '' | *[!0-9]*) echo "bench-report: error: -r wants a number" >&2; exit 2 ;; esac
[ "$runs" -ge 1 ] && [ "$runs" -le 100 ] || { echo "bench-report: error: -r between 1 and 100" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "bench-report: error: needs root (unshare -n for the reference tools)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench-report: error: needs GNU time in /usr/bin/time (Debian package time)" >&2; exit 1; }
for t in iptables-restore nft; do
	command -v "$t" >/dev/null || { echo "bench-report: error: $t not found (scripts/test-deps.sh installs it)" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

fw=${FWAUDIT:-}
if [ -z "$fw" ]; then
	CGO_ENABLED=0 go build -o "$work/fwaudit" ./cmd/fwaudit
	fw=$work/fwaudit
fi
go build -o "$work/benchfw" ./scripts/benchfw
go build -o "$work/gennft" ./scripts/gennft
"$work/benchfw" -sockets 50 >"$work/ss.txt"
"$work/benchfw" -gen6 >"$work/rules.v6"
"$work/gennft" -sockets 50 >"$work/ssn.txt"

median() { sort -n "$1" | awk '{a[NR]=$1} END {if (NR%2) m=a[(NR+1)/2]; else m=(a[NR/2]+a[NR/2+1])/2; printf "%.3f\n", m}'; }

# timed NAME CMD...: one run of CMD (stdout to $work/NAME.out), appending
# wall and CPU seconds to $work/NAME.wall and .cpu and the peak RSS in KiB
# to $work/NAME.rss; a failing CMD stops the script.
timed() {
	local name=$1
	shift
	/usr/bin/time -f '%e %U %S %M' -o "$work/t" "$@" >"$work/$name.out" 2>"$work/err" ||
		{ echo "bench-report: error: $* failed:" >&2; cat "$work/err" >&2; exit 1; }
	local e u s m
	read -r e u s m <"$work/t"
	echo "$e" >>"$work/$name.wall"
	awk -v u="$u" -v s="$s" 'BEGIN {print u + s}' >>"$work/$name.cpu"
	echo "$m" >>"$work/$name.rss"
}

# row LABEL FILE -- FWAUDIT_CMD... -- REFERENCE_CMD...
row() {
	local label=$1 file=$2 i
	shift 3
	local a=() b=()
	while [ "$1" != -- ]; do a+=("$1"); shift; done
	shift
	b=("$@")
	rm -f "$work"/a.* "$work"/b.*
	for ((i = 0; i <= runs; i++)); do
		timed a "${a[@]}"
		timed b "${b[@]}"
		if ((i == 0)); then rm -f "$work"/a.wall "$work"/a.cpu "$work"/b.wall "$work"/b.cpu; fi
	done
	local done=complete
	tr -d ' \t\n' <"$work/a.out" >"$work/a.flat"
	if grep -q '"incomplete":\["' "$work/a.flat"; then done=incomplete; fi
	if [ "${a[1]}" = scan ]; then done=-; fi
	local wa wb ca cb rss
	wa=$(median "$work/a.wall") wb=$(median "$work/b.wall")
	ca=$(median "$work/a.cpu") cb=$(median "$work/b.cpu")
	rss=$(sort -n "$work/a.rss" | tail -1)
	awk -v l="$label" -v f="$(wc -c <"$file")" -v wa="$wa" -v wb="$wb" -v ca="$ca" -v cb="$cb" -v rss="$rss" -v d="$done" 'BEGIN {
		printf "| %s | %.1f MB | %s | %.3f | %.3f | **%.2f** | %.3f | %.3f | %.2f | **%.0f MB** |\n",
			l, f / 1e6, d, wa, wb, wa / wb, ca, cb, (cb > 0) ? ca / cb : 0, rss / 1024
	}'
}

echo "| input | size | analysis | fwaudit wall s | reference wall s | ratio | fwaudit CPU s | reference CPU s | CPU ratio | fwaudit peak RSS |"
echo "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"
for in in $inputs; do
	case $in in
	ipt100k | scan100k)
		[ -f "$work/r100k.v4" ] || "$work/benchfw" -gen 100000 >"$work/r100k.v4"
		cmd=report
		[ "$in" = scan100k ] && cmd=scan
		row "$in ($cmd vs iptables-restore --test)" "$work/r100k.v4" -- \
			"$fw" "$cmd" --offline --sockets "$work/ss.txt" --rules "$work/r100k.v4" --rules6 "$work/rules.v6" -o json -- \
			unshare -n iptables-restore --test "$work/r100k.v4"
		;;
	nft10k | ban100k | rban100k)
		case $in in
		nft10k) "$work/gennft" -rules 10000 >"$work/$in.nft" ;;
		ban100k) "$work/gennft" -banset 100000 >"$work/$in.nft" ;;
		rban100k) "$work/gennft" -rules 1000 -banset 100000 >"$work/$in.nft" ;;
		esac
		row "$in (report vs nft -c -f)" "$work/$in.nft" -- \
			"$fw" report --offline --sockets "$work/ssn.txt" --nft "$work/$in.nft" -o json -- \
			unshare -n nft -c -f "$work/$in.nft"
		;;
	*) echo "bench-report: error: unknown input $in" >&2; exit 2 ;;
	esac
done
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
