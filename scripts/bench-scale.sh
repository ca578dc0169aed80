#!/usr/bin/env bash
# Checks that fwaudit grows linearly: for each kind of input it times the
# same command on an input of size N and on one of size 2N, side by side
# (the two take turns within every round, so a load change on the shared
# machine hits both), and prints the medians and their ratio. A ratio
# above 2.2 means something grows faster than the input. It also reports
# the peak memory (max RSS, GNU time) of the 2N run against the budget of
# 2x the input size + 50 MiB.
#
#   sudo scripts/bench-scale.sh [-r RUNS] [-i] [KIND...]
#
# KIND (default: all):
#   listeners   report --offline on 10,000 and 20,000 listeners (ss -tunlp
#               text, a 1,000-rule iptables ruleset)
#   live        report on the live host: a network namespace holding 10,000
#               and 20,000 TCP listeners (scripts/loadgen; root)
#   rules       scan --offline -o json, 50 listeners, 50,000 and 100,000
#               iptables rules (scripts/benchfw -gen): parse, compile, verdicts
#   analysis    report --offline, the same with 1,000 and 2,000 rules: the
#               report adds the duplicate and shadowed rule analysis
#               (firewall.Analyze), which grows much faster than the rules
#   nftanalysis report --offline, 50 listeners, generated nft rulesets of
#               500 and 1,000 rules (scripts/gennft -rules: interfaces,
#               port sets, jumps), whose analysis tries many more packets
#   elements    report --offline, 50 listeners, an nft ban set (JSON, as
#               nft -j list ruleset prints it) of 50,000 and 100,000
#               elements (scripts/gennft -banset; needs nft and root to
#               make the JSON)
#   interfaces  report in a network namespace holding 500 and 1,000
#               interfaces (bridges), each named by one rule (benchfw
#               -ifaces; root)
#   ifoffline   report --offline with rules naming 100 and 200 interfaces
#               (offline, fwaudit tries at most 256)
# Output: one markdown table row per kind: wall and CPU (user+sys) medians
# in seconds, their 2N/N ratios, the 2N input's size and peak RSS.
# -i installs GNU time (Debian package time) when /usr/bin/time is missing.
# FWAUDIT names the binary to time; without it ./cmd/fwaudit is built.
set -eu
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin:/sbin"

runs=9
install=
while getopts r:i opt; do
	case $opt in
	r) runs=$OPTARG ;;
	i) install=1 ;;
	*) echo "usage: $0 [-r RUNS] [-i] [listeners|live|rules|analysis|nftanalysis|elements|interfaces|ifoffline ...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
kinds=${*:-listeners live rules analysis nftanalysis elements interfaces ifoffline}
case $runs in '' | *[!0-9]*) echo "bench-scale: error: -r wants a number" >&2; exit 2 ;; esac
[ "$runs" -ge 1 ] && [ "$runs" -le 100 ] || { echo "bench-scale: error: -r between 1 and 100" >&2; exit 2; }
if ! [ -x /usr/bin/time ]; then
	if [ -n "$install" ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
	else
		echo "bench-scale: error: needs GNU time in /usr/bin/time (add -i to install package time)" >&2
		exit 1
	fi
fi

work=$(mktemp -d)
nss=()
lgpids=()
cleanup() {
	local p n
	for p in "${lgpids[@]}"; do kill -- "-$p" 2>/dev/null || true; done
	for n in "${nss[@]}"; do ip netns del "$n" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fw=${FWAUDIT:-}
if [ -z "$fw" ]; then
	CGO_ENABLED=0 go build -o "$work/fwaudit" ./cmd/fwaudit
	fw=$work/fwaudit
fi
fw=$(cd "$(dirname "$fw")" && pwd)/$(basename "$fw")
go build -o "$work/benchfw" ./scripts/benchfw
go build -o "$work/gennft" ./scripts/gennft
go build -o "$work/loadgen" ./scripts/loadgen
bf=$work/benchfw

needroot() {
	[ "$(id -u)" = 0 ] && return 0
	echo "bench-scale: warning: $1 needs root, skipped" >&2
	return 1
}

# newns NAME: a namespace with lo up, removed on exit
newns() {
	ip netns add "$1"
	nss+=("$1")
	ip -n "$1" link set lo up
}

median() { sort -n "$1" | awk '{a[NR]=$1} END {if (NR%2) m=a[(NR+1)/2]; else m=(a[NR/2]+a[NR/2+1])/2; printf "%.4f\n", m}'; }

# pair KIND SIZE_N SIZE_2N BYTES_2N -- CMD_N -- CMD_2N: times CMD_N and
# CMD_2N in turn (2 warm-up rounds, then RUNS), checks that both exit 0,
# measures the max RSS of CMD_2N and prints the table row.
pair() {
	local kind=$1 n=$2 n2=$3 bytes=$4 i which
	shift 5
	local a=() b=()
	while [ "$1" != -- ]; do a+=("$1"); shift; done
	shift
	b=("$@")
	: >"$work/a.wall"; : >"$work/a.cpu"; : >"$work/b.wall"; : >"$work/b.cpu"
	local TIMEFORMAT='%R %U %S'
	for ((i = -2; i < runs; i++)); do
		for which in a b; do
			if [ $which = a ]; then
				{ time "${a[@]}" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }; } 2>"$work/t"
			else
				{ time "${b[@]}" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }; } 2>"$work/t"
			fi
			((i < 0)) && continue
			tail -1 "$work/t" | awk '{print $1}' >>"$work/$which.wall"
			tail -1 "$work/t" | awk '{print $2 + $3}' >>"$work/$which.cpu"
		done
	done
	local wa wb ca cb rss
	wa=$(median "$work/a.wall") wb=$(median "$work/b.wall")
	ca=$(median "$work/a.cpu") cb=$(median "$work/b.cpu")
	/usr/bin/time -f %M -o "$work/rss" "${b[@]}" >/dev/null 2>&1
	rss=$(tail -1 "$work/rss")
	awk -v k="$kind" -v n="$n" -v n2="$n2" -v wa="$wa" -v wb="$wb" -v ca="$ca" -v cb="$cb" -v rss="$rss" -v by="$bytes" 'BEGIN {
		budget = 2 * by / 1048576 + 50
		printf "| %s | %s | %s | %.3f | %.3f | **%.2f** | %.3f | %.3f | **%.2f** | %.1f MiB | %.1f MiB | %.1f MiB |\n",
			k, n, n2, wa, wb, wb / wa, ca, cb, (ca > 0) ? cb / ca : 0, by / 1048576, rss / 1024, budget
	}'
}

size() { wc -c <"$1" | tr -d ' '; }

"$bf" -gen6 >"$work/rules.v6"
"$bf" -sockets 50 >"$work/ss50.txt"

echo "| input | N | 2N | wall N s | wall 2N s | ratio | CPU N s | CPU 2N s | ratio | 2N input | 2N peak RSS | budget |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for kind in $kinds; do
	case $kind in
	listeners)
		"$bf" -gen 1000 >"$work/r1000.v4"
		"$bf" -sockets 10000 >"$work/ss10k.txt"
		"$bf" -sockets 20000 >"$work/ss20k.txt"
		in=$(($(size "$work/ss20k.txt") + $(size "$work/r1000.v4")))
		pair "listeners (offline)" 10000 20000 "$in" -- \
			"$fw" report --offline --sockets "$work/ss10k.txt" --rules "$work/r1000.v4" --rules6 "$work/rules.v6" -o json -- \
			"$fw" report --offline --sockets "$work/ss20k.txt" --rules "$work/r1000.v4" --rules6 "$work/rules.v6" -o json
		;;
	live)
		needroot live || continue
		for n in 10000 20000; do
			newns "fwaudit-scale-$n-$$"
			setsid ip netns exec "fwaudit-scale-$n-$$" "$work/loadgen" -tcp "$n" -udp 0 -conns 0 -procs 10 >"$work/ready$n" &
			lgpids+=("$!")
		done
		for n in 10000 20000; do
			for _ in $(seq 600); do
				grep -q ready "$work/ready$n" 2>/dev/null && break
				sleep 0.2
			done
			grep -q ready "$work/ready$n" || { echo "bench-scale: error: loadgen not ready for $n listeners" >&2; exit 1; }
			got=$(ip netns exec "fwaudit-scale-$n-$$" ss -Htnl | wc -l)
			[ "$got" = "$n" ] || { echo "bench-scale: error: ss lists $got listeners, want $n" >&2; exit 1; }
		done
		ip netns exec "fwaudit-scale-20000-$$" ss -tunlp >"$work/live.ss"
		pair "listeners (live)" 10000 20000 "$(size "$work/live.ss")" -- \
			ip netns exec "fwaudit-scale-10000-$$" "$fw" report -o json -- \
			ip netns exec "fwaudit-scale-20000-$$" "$fw" report -o json
		;;
	rules)
		"$bf" -gen 50000 >"$work/r50k.v4"
		"$bf" -gen 100000 >"$work/r100k.v4"
		pair "iptables rules (scan)" 50000 100000 "$(size "$work/r100k.v4")" -- \
			"$fw" scan --offline --sockets "$work/ss50.txt" --rules "$work/r50k.v4" --rules6 "$work/rules.v6" -o json -- \
			"$fw" scan --offline --sockets "$work/ss50.txt" --rules "$work/r100k.v4" --rules6 "$work/rules.v6" -o json
		;;
	analysis)
		"$bf" -gen 1000 >"$work/r1k.v4"
		"$bf" -gen 2000 >"$work/r2k.v4"
		pair "iptables rules (report)" 1000 2000 "$(size "$work/r2k.v4")" -- \
			"$fw" report --offline --sockets "$work/ss50.txt" --rules "$work/r1k.v4" --rules6 "$work/rules.v6" -o json -- \
			"$fw" report --offline --sockets "$work/ss50.txt" --rules "$work/r2k.v4" --rules6 "$work/rules.v6" -o json
		;;
	nftanalysis)
		# the nft text is read by fwaudit's own reader: no root needed
		"$work/gennft" -rules 500 >"$work/g500.nft"
		"$work/gennft" -rules 1000 >"$work/g1000.nft"
		"$work/gennft" -sockets 50 >"$work/ssn50.txt"
		pair "nft rules (report)" 500 1000 "$(size "$work/g1000.nft")" -- \
			"$fw" report --offline --sockets "$work/ssn50.txt" --nft "$work/g500.nft" -o json -- \
			"$fw" report --offline --sockets "$work/ssn50.txt" --nft "$work/g1000.nft" -o json
		;;
	elements)
		needroot elements || continue
		command -v nft >/dev/null || { echo "bench-scale: warning: elements needs nft, skipped" >&2; continue; }
		for n in 50000 100000; do
			"$work/gennft" -banset "$n" >"$work/ban$n.nft"
			unshare -n sh -c "nft -f '$work/ban$n.nft' && nft -j list ruleset" >"$work/ban$n.json"
			got=$(grep -o '"elem"' "$work/ban$n.json" | wc -l)
			[ "$got" = 1 ] || { echo "bench-scale: error: ban$n.json: want one set with elements" >&2; exit 1; }
		done
		"$work/gennft" -sockets 50 >"$work/ssn50.txt"
		pair "nft set elements" 50000 100000 "$(size "$work/ban100000.json")" -- \
			"$fw" report --offline --sockets "$work/ssn50.txt" --nft "$work/ban50000.json" -o json -- \
			"$fw" report --offline --sockets "$work/ssn50.txt" --nft "$work/ban100000.json" -o json
		;;
	interfaces)
		needroot interfaces || continue
		for n in 500 1000; do
			newns "fwaudit-scale-if$n-$$"
			for ((k = 0; k < n; k++)); do echo "link add eth$k type bridge"; done >"$work/links$n"
			ip -n "fwaudit-scale-if$n-$$" -batch "$work/links$n"
			"$bf" -ifaces "$n" >"$work/if$n.v4"
		done
		pair "interfaces (live)" 500 1000 "$(size "$work/if1000.v4")" -- \
			ip netns exec "fwaudit-scale-if500-$$" "$fw" report --sockets "$work/ss50.txt" --rules "$work/if500.v4" --rules6 "$work/rules.v6" -o json -- \
			ip netns exec "fwaudit-scale-if1000-$$" "$fw" report --sockets "$work/ss50.txt" --rules "$work/if1000.v4" --rules6 "$work/rules.v6" -o json
		;;
	ifoffline)
		"$bf" -ifaces 100 >"$work/if100.v4"
		"$bf" -ifaces 200 >"$work/if200.v4"
		pair "interfaces (offline)" 100 200 "$(size "$work/if200.v4")" -- \
			"$fw" report --offline --sockets "$work/ss50.txt" --rules "$work/if100.v4" --rules6 "$work/rules.v6" -o json -- \
			"$fw" report --offline --sockets "$work/ss50.txt" --rules "$work/if200.v4" --rules6 "$work/rules.v6" -o json
		;;
	*) echo "bench-scale: error: unknown kind $kind" >&2; exit 2 ;;
	esac
done
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
