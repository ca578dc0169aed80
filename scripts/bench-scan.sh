#!/usr/bin/env bash
# Times `fwaudit scan -o json` and `fwaudit report -o json` against
# `ss -tunlp`, and against older builds of fwaudit (-b), under four
# socket loads, each in its own throwaway network namespace (loopback only:
# 127.0.0.1 and ::1), side by side in one run. Needs root, iproute2 and Go.
# A bounded loop runs the commands in turn, in an order that rotates every
# round, RUNS rounds after 2 warm-up rounds, and reports the medians of
# the times and of the ratios taken round by round.
#
#   sudo scripts/bench-scan.sh [-r RUNS] [-b OLD]... [-s] [LOAD...]
#
# LOAD is one of small conns listeners huge (default: all four):
#   small      20 TCP + 4 UDP listeners, 200 connections, 50 processes
#   conns      50 TCP listeners, 19,900 connections, 10 processes
#   listeners  5,000 TCP + 1,000 UDP listeners, 100 processes
#   huge       20,000 TCP listeners, 10 processes
# -b OLD     also time OLD's `scan -o json`: a binary, or a commit (any name
#            git accepts: afccb97, HEAD~3, a tag), built like `make build`
#            in a temporary worktree that is removed afterwards; -b may be
#            given several times (e.g. the last commit and a release)
# -s         with -b: before timing, check that fwaudit and the first OLD print
#            byte-identical `scan -o json` (with and without --no-firewall)
#            on every load, and on a "mixed" load of 1,200 sockets (every kind
#            of address, bound devices, program names that name services,
#            client sockets) under an iptables and ip6tables ruleset loaded
#            into its namespace; a difference is an error
# FWAUDIT names the binary to time; without it ./cmd/fwaudit is built from
# the working tree like `make build` (CGO_ENABLED=0).
# Output: one markdown table row per load, medians in seconds; the ratio
# columns are medians of the per-round ratios; per OLD, its time, its
# ratio to ss and fwaudit's ratio to it (new/old). Then the same for CPU
# time (user+sys, bash's `time`, 1 ms resolution) of ss, `scan -o json` and
# each OLD: on a machine other jobs load, wall time depends on how much of
# the CPUs a command gets; CPU time says how much work it did.
set -eu
cd "$(dirname "$0")/.."

runs=30
olds=()
same=
while getopts r:b:s opt; do
	case $opt in
	r) runs=$OPTARG ;;
	b) olds+=("$OPTARG") ;;
	s) same=1 ;;
	*) echo "usage: $0 [-r RUNS] [-b OLD]... [-s] [small|conns|listeners|huge ...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
loads=${*:-small conns listeners huge}
[ "$(id -u)" = 0 ] || { echo "bench-scan: error: needs root (ip netns)" >&2; exit 1; }
case $runs in '' | *[!0-9]*) echo "bench-scan: error: -r wants a number" >&2; exit 2 ;; esac
[ "$runs" -ge 1 ] && [ "$runs" -le 1000 ] || { echo "bench-scan: error: -r between 1 and 1000" >&2; exit 2; }
[ -z "$same" ] || [ ${#olds[@]} -gt 0 ] || { echo "bench-scan: error: -s compares with the build given by -b" >&2; exit 2; }
for load in $loads; do
	case $load in small | conns | listeners | huge) ;; *) echo "bench-scan: error: unknown load $load" >&2; exit 2 ;; esac
done

work=$(mktemp -d)
ns=
lgpid=
tree=
cleanup() {
	if [ -n "$lgpid" ]; then kill -- "-$lgpid" 2>/dev/null || true; fi
	if [ -n "$ns" ]; then ip netns del "$ns" 2>/dev/null || true; fi
	if [ -n "$tree" ]; then git worktree remove --force "$tree" 2>/dev/null || true; fi
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
obs=() # the OLD binaries, in the order given
for old in "${olds[@]}"; do
	if [ -f "$old" ] && [ -x "$old" ]; then
		obs+=("$(cd "$(dirname "$old")" && pwd)/$(basename "$old")")
	elif rev=$(git rev-parse --verify --quiet "$old^{commit}"); then
		tree=$work/old-tree
		git worktree add --quiet --detach "$tree" "$rev"
		(cd "$tree" && CGO_ENABLED=0 go build -o "$work/fwaudit-old${#obs[@]}" ./cmd/fwaudit)
		git worktree remove --force "$tree"
		tree=
		obs+=("$work/fwaudit-old${#obs[@]}")
	else
		echo "bench-scan: error: -b $old is neither an executable file nor a commit" >&2
		exit 2
	fi
done
go build -o "$work/loadgen" ./scripts/loadgen
ss=$(command -v ss)

# median FILE: the middle of the sorted numbers in FILE.
median() { sort -g "$1" | awk '{a[NR]=$1} END {if (NR%2) m=a[(NR+1)/2]; else m=(a[NR/2]+a[NR/2+1])/2; printf "%.6f\n", m}'; }
# ratio A B [KIND]: the median of A's times over B's, round by round; KIND
# us (wall, the default) or cus (CPU), in microseconds.
ratio() { paste "$work/$1.${3:-us}" "$work/$2.${3:-us}" | awk '{printf "%.6f\n", ($2 > 0 ? $1 / $2 : 0)}' >"$work/ratio"; median "$work/ratio"; }
# seconds NAME [KIND]: the median time of NAME in seconds.
seconds() { awk '{printf "%.6f\n", $1 / 1e6}' "$work/$1.${2:-us}" >"$work/sec"; median "$work/sec"; }
# cputimes NAME: NAME's CPU times (bash `time`: user and sys seconds) in
# microseconds, one round a line.
cputimes() { awk '{printf "%d\n", ($1 + $2) * 1e6}' "$work/$1.cpu" >"$work/$1.cus"; }

# timeloop SS FW [OLD...]: runs inside the namespace, so `ip netns exec` is not
# timed. The commands take turns within every round (after 2 warm-up
# rounds), starting one further along each round, so that a load change on
# a shared machine, or what one command leaves in the caches for the next,
# hits all of them alike. Wall times come from $EPOCHREALTIME: no fork of
# date(1) in the interval.
timeloop() {
	local ss=$1 fw=$2 i k c s e n TIMEFORMAT='%3U %3S' cpuf
	local -a names=(ss fw full report) cmds=("$ss -tunlp" "$fw scan -o json --no-firewall" "$fw scan -o json" "$fw report -o json")
	shift 2
	for ((i = 0; i < $#; i++)); do
		names+=("old$i")
		cmds+=("${*:i+1:1} scan -o json")
	done
	n=${#names[@]}
	for c in "${names[@]}"; do : >"$work/$c.us" && : >"$work/$c.cpu"; done
	for ((i = -2; i < runs; i++)); do
		for ((k = 0; k < n; k++)); do
			c=$(((i + 2 + k) % n))
			cpuf=/dev/null
			((i < 0)) || cpuf=$work/${names[c]}.cpu
			# the `time` keyword reads the child's rusage: no fork
			# inside the interval
			s=$EPOCHREALTIME
			{ time ${cmds[c]} >/dev/null 2>&1; } 2>>"$cpuf"
			e=$EPOCHREALTIME
			((i < 0)) || echo $((${e/./} - ${s/./})) >>"$work/${names[c]}.us"
		done
	done
}

# startload NAME ARGS...: a namespace with loadgen ARGS in it, once ready.
startload() {
	local name=$1
	shift
	ns=fwaudit-bench-$name-$$
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	rm -f "$work/ready"
	setsid ip netns exec "$ns" "$work/loadgen" "$@" >"$work/ready" &
	lgpid=$!
	for _ in $(seq 600); do
		grep -q ready "$work/ready" 2>/dev/null && break
		kill -0 "$lgpid" 2>/dev/null || { echo "bench-scan: error: loadgen failed for $name" >&2; exit 1; }
		sleep 0.2
	done
	grep -q ready "$work/ready" || { echo "bench-scan: error: loadgen not ready for $name" >&2; exit 1; }
}

stopload() {
	kill -- "-$lgpid" 2>/dev/null || true
	wait "$lgpid" 2>/dev/null || true
	lgpid=
	ip netns del "$ns"
	ns=
}

# samejson NAME: fwaudit and the first OLD print the same scan JSON in the
# namespace.
samejson() {
	local flags
	for flags in "" "--no-firewall"; do
		# shellcheck disable=SC2086
		ip netns exec "$ns" "$fw" scan -o json $flags >"$work/new.json" 2>/dev/null
		# shellcheck disable=SC2086
		ip netns exec "$ns" "${obs[0]}" scan -o json $flags >"$work/old.json" 2>/dev/null
		if ! cmp -s "$work/new.json" "$work/old.json"; then
			echo "bench-scan: error: $1: scan -o json${flags:+ $flags} differs from ${olds[0]}:" >&2
			diff "$work/old.json" "$work/new.json" | head -20 >&2
			exit 1
		fi
		echo "bench-scan: $1: scan -o json${flags:+ $flags} is byte-identical to ${olds[0]} ($(wc -c <"$work/new.json") bytes)" >&2
	done
}

if [ -n "$same" ]; then
	startload mixed -tcp 800 -udp 300 -conns 0 -procs 100 -mixed
	for f in iptables ip6tables; do
		net=10.0.0.0/8 lo=127.0.0.0/8
		[ $f = iptables ] || net=fd00::/8 lo=::1/128
		ip netns exec "$ns" "$f-restore" <<-EOF
			*filter
			:INPUT DROP [0:0]
			:FORWARD DROP [0:0]
			:OUTPUT ACCEPT [0:0]
			-A INPUT -i lo -s $lo -p tcp --dport 10000:10299 -j ACCEPT
			-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
			-A INPUT -p tcp -s $net --dport 10300:10599 -j ACCEPT
			-A INPUT -p udp --dport 10800:10999 -j ACCEPT
			COMMIT
		EOF
	done
	samejson mixed
	stopload
fi

hdr="| load | sockets | ss -tunlp | fwaudit scan -o json --no-firewall | ratio | fwaudit scan -o json | ratio | fwaudit report -o json | ratio |"
sep="|---|---|---|---|---|---|---|---|---|"
for old in "${olds[@]}"; do
	hdr="$hdr $old scan -o json | ratio | new/old |"
	sep="$sep---|---|---|"
done
echo "$hdr"
echo "$sep"
cpuhdr="| load | ss -tunlp CPU | fwaudit scan -o json CPU | ratio |"
cpusep="|---|---|---|---|"
for old in "${olds[@]}"; do
	cpuhdr="$cpuhdr $old CPU | new/old |"
	cpusep="$cpusep---|---|"
done
cpurows=()
for load in $loads; do
	case $load in
	small) args="-tcp 20 -udp 4 -conns 200 -procs 50" expect=24 ;;
	conns) args="-tcp 50 -udp 0 -conns 19900 -procs 10" expect=50 ;;
	listeners) args="-tcp 5000 -udp 1000 -conns 0 -procs 100" expect=6000 ;;
	huge) args="-tcp 20000 -udp 0 -conns 0 -procs 10" expect=20000 ;;
	esac
	# shellcheck disable=SC2086
	startload "$load" $args
	nss=$(ip netns exec "$ns" "$ss" -Htunl | wc -l)
	nfw=$(ip netns exec "$ns" "$fw" scan -o json --no-firewall 2>/dev/null | grep -o '"proto"' | wc -l)
	[ "$nss" = "$expect" ] || { echo "bench-scan: error: $load: ss lists $nss sockets, want $expect" >&2; exit 1; }
	[ "$nss" = "$nfw" ] || echo "bench-scan: warning: $load: ss lists $nss sockets, fwaudit $nfw" >&2
	[ -z "$same" ] || samejson "$load"
	export -f timeloop
	export runs work
	quoted=
	for ob in "${obs[@]}"; do quoted="$quoted '$ob'"; done
	ip netns exec "$ns" bash -c "timeloop '$ss' '$fw'$quoted"
	row=$(printf '| %s | %s | %.4f | %.4f | %.2f | %.4f | %.2f | %.4f | %.2f |' "$load" "$nss" "$(seconds ss)" \
		"$(seconds fw)" "$(ratio fw ss)" "$(seconds full)" "$(ratio full ss)" "$(seconds report)" "$(ratio report ss)")
	for i in "${!obs[@]}"; do
		row=$(printf '%s %.4f | %.2f | %.2f |' "$row" "$(seconds "old$i")" "$(ratio "old$i" ss)" "$(ratio full "old$i")")
	done
	echo "$row"
	for c in ss full "${!obs[@]}"; do
		case $c in [0-9]*) c=old$c ;; esac
		cputimes "$c"
	done
	row=$(printf '| %s | %.3f | %.3f | %.2f |' "$load" "$(seconds ss cus)" "$(seconds full cus)" "$(ratio full ss cus)")
	for i in "${!obs[@]}"; do
		row=$(printf '%s %.3f | %.2f |' "$row" "$(seconds "old$i" cus)" "$(ratio full "old$i" cus)")
	done
	cpurows+=("$row")
	stopload
done
echo
echo "CPU time (user+sys), medians in seconds and of the per-round ratios:"
echo
echo "$cpuhdr"
echo "$cpusep"
printf '%s\n' "${cpurows[@]}"
