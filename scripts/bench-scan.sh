#!/usr/bin/env bash
# Times `fwaudit scan -o json` and `fwaudit report -o json` against
# `ss -tunlp` under four socket loads,
# each in its own throwaway network namespace (loopback only: 127.0.0.1 and
# ::1), side by side in one run. Needs root, iproute2 and Go. By default a
# bounded loop runs the commands in turn, RUNS rounds, and reports medians;
# -H uses hyperfine instead (-i installs it with apt-get), which runs all
# rounds of one command before the next and so is fooled by load changes
# on a shared machine.
#
#   sudo scripts/bench-scan.sh [-r RUNS] [-H [-i]] [LOAD...]
#
# LOAD is one of small conns listeners huge (default: all four):
#   small      20 TCP + 4 UDP listeners, 200 connections, 50 processes
#   conns      50 TCP listeners, 19,900 connections, 10 processes
#   listeners  5,000 TCP + 1,000 UDP listeners, 100 processes
#   huge       20,000 TCP listeners, 10 processes
# FWAUDIT names the binary to time; without it ./cmd/fwaudit is built fresh.
# Output: one markdown table row per load, medians in seconds.
set -eu
cd "$(dirname "$0")/.."

runs=30
install=
loop=timeloop
while getopts r:iH opt; do
	case $opt in
	r) runs=$OPTARG ;;
	i) install=1 ;;
	H) loop=hyperfineloop ;;
	*) echo "usage: $0 [-r RUNS] [-H [-i]] [small|conns|listeners|huge ...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
loads=${*:-small conns listeners huge}
[ "$(id -u)" = 0 ] || { echo "bench-scan: error: needs root (ip netns)" >&2; exit 1; }
case $runs in '' | *[!0-9]*) echo "bench-scan: error: -r wants a number" >&2; exit 2 ;; esac
[ "$runs" -ge 1 ] && [ "$runs" -le 1000 ] || { echo "bench-scan: error: -r between 1 and 1000" >&2; exit 2; }
if [ "$loop" = hyperfineloop ] && ! command -v hyperfine >/dev/null; then
	if [ -n "$install" ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null
	else
		echo "bench-scan: error: -H needs hyperfine (add -i to install it)" >&2
		exit 1
	fi
fi

work=$(mktemp -d)
ns=
lgpid=
cleanup() {
	if [ -n "$lgpid" ]; then kill -- "-$lgpid" 2>/dev/null || true; fi
	if [ -n "$ns" ]; then ip netns del "$ns" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fw=${FWAUDIT:-}
if [ -z "$fw" ]; then
	go build -o "$work/fwaudit" ./cmd/fwaudit
	fw=$work/fwaudit
fi
fw=$(cd "$(dirname "$fw")" && pwd)/$(basename "$fw")
go build -o "$work/loadgen" ./scripts/loadgen
ss=$(command -v ss)

# median FILE: the middle of the sorted numbers in FILE, microseconds to seconds.
median() { sort -n "$1" | awk '{a[NR]=$1} END {if (NR%2) m=a[(NR+1)/2]; else m=(a[NR/2]+a[NR/2+1])/2; printf "%.6f\n", m/1e6}'; }

# timeloop SS FW: runs inside the namespace, so `ip netns exec` is not timed.
# The four commands take turns within every round (after 2 warm-up
# rounds), so a load change on a shared machine hits all of them alike.
# Wall times come from $EPOCHREALTIME: no fork of date(1) in the interval.
timeloop() {
	local ss=$1 fw=$2 i s e
	: >"$work/ss.us"
	: >"$work/fw.us"
	: >"$work/full.us"
	: >"$work/report.us"
	for ((i = -2; i < runs; i++)); do
		s=$EPOCHREALTIME
		"$ss" -tunlp >/dev/null 2>&1
		e=$EPOCHREALTIME
		((i < 0)) || echo $((${e/./} - ${s/./})) >>"$work/ss.us"
		s=$EPOCHREALTIME
		"$fw" scan -o json --no-firewall >/dev/null 2>&1
		e=$EPOCHREALTIME
		((i < 0)) || echo $((${e/./} - ${s/./})) >>"$work/fw.us"
		s=$EPOCHREALTIME
		"$fw" scan -o json >/dev/null 2>&1
		e=$EPOCHREALTIME
		((i < 0)) || echo $((${e/./} - ${s/./})) >>"$work/full.us"
		s=$EPOCHREALTIME
		"$fw" report -o json >/dev/null 2>&1
		e=$EPOCHREALTIME
		((i < 0)) || echo $((${e/./} - ${s/./})) >>"$work/report.us"
	done
}

# hyperfineloop SS FW: the same with hyperfine (-H), one command after the other.
hyperfineloop() {
	local ss=$1 fw=$2 name
	hyperfine -N -w 2 -r "$runs" --export-json "$work/h.json" "$ss -tunlp" \
		"$fw scan -o json --no-firewall" "$fw scan -o json" "$fw report -o json" >/dev/null 2>&1
	# medians in seconds, in command order
	grep -o '"median": *[0-9.e-]*' "$work/h.json" | sed 's/.*: *//' >"$work/h.med"
	for name in ss fw full report; do
		awk -v n="$name" 'BEGIN {i = (n == "ss") ? 1 : (n == "fw") ? 2 : (n == "full") ? 3 : 4} NR == i {printf "%d\n", $1 * 1e6}' \
			"$work/h.med" >"$work/$name.us"
	done
}

echo "| load | sockets | ss -tunlp | fwaudit scan -o json --no-firewall | ratio | fwaudit scan -o json | ratio | fwaudit report -o json | ratio |"
echo "|---|---|---|---|---|---|---|---|---|"
for load in $loads; do
	case $load in
	small) args="-tcp 20 -udp 4 -conns 200 -procs 50" expect=24 ;;
	conns) args="-tcp 50 -udp 0 -conns 19900 -procs 10" expect=50 ;;
	listeners) args="-tcp 5000 -udp 1000 -conns 0 -procs 100" expect=6000 ;;
	huge) args="-tcp 20000 -udp 0 -conns 0 -procs 10" expect=20000 ;;
	*) echo "bench-scan: error: unknown load $load" >&2; exit 2 ;;
	esac
	ns=fwaudit-bench-$load-$$
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	# shellcheck disable=SC2086
	ready=$work/ready-$load
	rm -f "$ready"
	setsid ip netns exec "$ns" "$work/loadgen" $args >"$ready" &
	lgpid=$!
	for _ in $(seq 600); do
		grep -q ready "$ready" 2>/dev/null && break
		kill -0 "$lgpid" 2>/dev/null || { echo "bench-scan: error: loadgen failed for $load" >&2; exit 1; }
		sleep 0.2
	done
	grep -q ready "$ready" || { echo "bench-scan: error: loadgen not ready for $load" >&2; exit 1; }
	nss=$(ip netns exec "$ns" "$ss" -Htunl | wc -l)
	nfw=$(ip netns exec "$ns" "$fw" scan -o json --no-firewall | grep -o '"proto"' | wc -l)
	[ "$nss" = "$expect" ] || { echo "bench-scan: error: $load: ss lists $nss sockets, want $expect" >&2; exit 1; }
	[ "$nss" = "$nfw" ] || echo "bench-scan: warning: $load: ss lists $nss sockets, fwaudit $nfw" >&2
	export -f timeloop hyperfineloop
	export runs work
	ip netns exec "$ns" bash -c "$loop '$ss' '$fw'"
	tss=$(median "$work/ss.us") tfw=$(median "$work/fw.us") tfull=$(median "$work/full.us") trep=$(median "$work/report.us")
	printf '| %s | %s | %.4f | %.4f | %.2f | %.4f | %.2f | %.4f | %.2f |\n' "$load" "$nss" "$tss" "$tfw" \
		"$(echo "$tfw / $tss" | bc -l)" "$tfull" "$(echo "$tfull / $tss" | bc -l)" "$trep" "$(echo "$trep / $tss" | bc -l)"
	kill -- "-$lgpid" 2>/dev/null || true
	wait "$lgpid" 2>/dev/null || true
	lgpid=
	ip netns del "$ns"
	ns=
done
