#!/usr/bin/env bash
# bench-nft.sh — time fwaudit's native nftables evaluation against
# `nft -c -f` on the same file.
#
# scripts/gennft writes the inputs: a table inet filter of N rules (per-port
# accepts, source prefixes, iifname, ct state, port sets, jumps to regular
# chains) or one whose interval set "banned" holds N addresses and
# prefixes, and 50 listeners in `ss -tunlp` layout. Each ruleset is loaded
# into a throwaway network namespace (`unshare -n`, nft -f) and listed with
# `nft -j list ruleset`, which gives the JSON twin and proves the text
# loads; the script checks that the kernel holds as many rules (or set
# elements) as were generated. Then it times, inside a network namespace
# of its own with no rules (so `ip netns exec` is not timed and the check
# runs against an empty ruleset):
#   fwaudit scan --offline --sockets SS --nft FILE.nft -o json   vs  nft -c -f FILE.nft
#   fwaudit scan --offline --sockets SS --nft FILE.json -o json  vs  nft -j -c -f FILE.json
# `nft -c` parses and evaluates the file and sends the batch to the kernel,
# which validates it and throws it away. fwaudit reads nft text by loading
# it into a throwaway namespace and listing it as JSON; the text rows also
# time that step alone (unshare -n sh -c 'nft -f FILE && nft -j list
# ruleset'), so the rest of fwaudit's time is the JSON path.
#
#   sudo scripts/bench-nft.sh [-r RUNS] [-l] [-i] [-k DIR] [SIZE...]
#
# SIZE is rN (N rules) or banN (an N-element ban set); default
# "r1000 r10000 ban100000". -r RUNS (default 10) timed runs after 2
# warm-up runs. Timing uses hyperfine when installed (-i installs it with
# apt-get); -l, or no hyperfine, runs the four commands in turn in a
# bounded loop, wall time from bash's $EPOCHREALTIME, which a load change
# on a shared machine hits alike. FWAUDIT names the binary to time;
# without it ./cmd/fwaudit is built fresh. Without a --nft flag in that
# binary only the nft side is timed. -k DIR keeps the generated files
# there (FWAUDIT_NFT_BENCH_DIR=DIR go test -bench BenchmarkNft ./firewall
# reads the JSON ones). Output: markdown table rows, medians of wall time
# in seconds, and mean CPU (user+sys).
set -euo pipefail
here=$PWD
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin:/sbin"

runs=10
loop=
install=
keep=
while getopts r:lik: opt; do
	case $opt in
	r) runs=$OPTARG ;;
	l) loop=1 ;;
	i) install=1 ;;
	k) case $OPTARG in /*) keep=$OPTARG ;; *) keep=$here/$OPTARG ;; esac ;;
	*) echo "usage: $0 [-r RUNS] [-l] [-i] [-k DIR] [rN|banN ...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
sizes=${*:-r1000 r10000 ban100000}
[ "$(id -u)" = 0 ] || { echo "bench-nft: error: needs root (ip netns, nft)" >&2; exit 1; }
case $runs in '' | *[!0-9]*) echo "bench-nft: error: -r wants a number" >&2; exit 2 ;; esac
if [ "$runs" -lt 1 ] || [ "$runs" -gt 1000 ]; then echo "bench-nft: error: -r between 1 and 1000" >&2; exit 2; fi
command -v nft >/dev/null || { echo "bench-nft: error: nft not found (scripts/test-deps.sh installs it)" >&2; exit 1; }
if [ -z "$loop" ] && ! command -v hyperfine >/dev/null; then
	if [ -n "$install" ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null
	else
		echo "bench-nft: warning: hyperfine not installed (-i installs it); timing with a loop" >&2
		loop=1
	fi
fi

work=$(mktemp -d)
ns=
cleanup() {
	if [ -n "$ns" ]; then ip netns del "$ns" 2>/dev/null || true; fi
	if [ -n "$keep" ] && mkdir -p "$keep"; then
		cp "$work"/*.nft "$work"/*.json "$work/ss.txt" "$keep"/ 2>/dev/null || true
	fi
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
go build -o "$work/gennft" ./scripts/gennft
nft=$(command -v nft)
socks=$work/ss.txt
"$work/gennft" -sockets 50 >"$socks"
hasnft=
if "$fw" scan --help 2>&1 | grep -q -- '--nft '; then
	hasnft=1
else
	echo "bench-nft: warning: $fw has no --nft flag; timing the nft side only" >&2
fi

ns=fwaudit-bench-nft-$$
ip netns add "$ns"

# median FILE: the middle of the sorted numbers in FILE, microseconds to seconds.
median() { sort -n "$1" | awk '{a[NR]=$1} END {if (NR%2) m=a[(NR+1)/2]; else m=(a[NR/2]+a[NR/2+1])/2; printf "%.4f\n", m/1e6}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f\n", a/b}'; }

# prepare NAME FILE: write FILE (text) and FILE.json, and check both load.
prepare() {
	local name=$1 f=$2 want got
	case $name in
	r[0-9]*) "$work/gennft" -rules "${name#r}" >"$f" ;;
	ban[0-9]*) "$work/gennft" -banset "${name#ban}" >"$f" ;;
	*) echo "bench-nft: error: unknown size $name (want rN or banN)" >&2; exit 2 ;;
	esac
	ip netns exec "$ns" "$nft" -c -f "$f" || { echo "bench-nft: error: nft -c -f rejects $name" >&2; exit 1; }
	# Load for real in a namespace of its own, and list it back.
	# shellcheck disable=SC2016 # $1 and $2 are the inner shell's arguments
	unshare -n sh -c '"$1" -f "$2" && "$1" -j list ruleset >"$2.json" && "$1" list ruleset >"$2.listed"' sh "$nft" "$f" ||
		{ echo "bench-nft: error: nft -f fails on $name" >&2; exit 1; }
	case $name in
	r*)
		want=${name#r}
		got=$(grep -o '"rule": {' "$f.json" | wc -l)
		;;
	ban*)
		want=${name#ban}
		got=$(sed -n '/set banned/,/^\t}/p' "$f.listed" | tr -s ', {}\t' '\n' |
			grep -cE '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+(/[0-9]+)?$' || true)
		;;
	esac
	[ "$got" = "$want" ] || { echo "bench-nft: error: $name: the kernel holds $got, want $want" >&2; exit 1; }
	ip netns exec "$ns" "$nft" -j -c -f "$f.json" || { echo "bench-nft: error: nft -j -c -f rejects $name JSON" >&2; exit 1; }
}

# fwcheck FILE: one fwaudit run that must succeed; prints its verdict counts.
fwcheck() {
	local out=$work/fw.out n
	"$fw" scan --offline --sockets "$socks" --nft "$1" -o json >"$out" 2>"$work/fw.err" ||
		{ echo "bench-nft: error: fwaudit fails on $1:" >&2; cat "$work/fw.err" >&2; exit 1; }
	n=$(grep -c '"port":' "$out" || true)
	[ "$n" = 50 ] || { echo "bench-nft: error: fwaudit lists $n listeners, want 50" >&2; exit 1; }
	grep -o '"firewall":{"verdict":"[a-z]*"' "$out" | sed 's/.*:"//; s/"$//' | sort | uniq -c |
		awk '{printf "%s%s=%s", (NR > 1 ? "," : ""), $2, $1}'
}

# timeloop CMDFILE...: each file holds one command line (words separated by
# newlines); the commands run in turn, 2 warm-up rounds, then $runs rounds;
# microseconds go to CMDFILE.us, mean CPU seconds to CMDFILE.cpu. Runs
# inside the namespace. CPU is the shell's reaped children's user+sys from
# /proc/$$/stat (fields 16 and 17, clock ticks), read without a fork.
timeloop() {
	local i c s e t0 t1 hz
	local -a cmd st
	local -A ticks=()
	hz=$(getconf CLK_TCK)
	for c in "$@"; do : >"$c.us"; ticks[$c]=0; done
	for ((i = -2; i < runs; i++)); do
		for c in "$@"; do
			mapfile -t cmd <"$c"
			read -ra st <"/proc/$$/stat"
			t0=$((st[15] + st[16]))
			s=$EPOCHREALTIME
			"${cmd[@]}" >/dev/null 2>&1 || { echo "bench-nft: error: ${cmd[*]} failed" >&2; return 1; }
			e=$EPOCHREALTIME
			read -ra st <"/proc/$$/stat"
			t1=$((st[15] + st[16]))
			((i < 0)) || { echo $((${e/./} - ${s/./})) >>"$c.us"; ticks[$c]=$((ticks[$c] + t1 - t0)); }
		done
	done
	for c in "$@"; do
		awk -v t="${ticks[$c]}" -v n="$runs" -v hz="$hz" 'BEGIN{printf "%.4f\n", t / hz / n}' >"$c.cpu"
	done
}

# hyperfineloop CMDFILE...: the same with hyperfine, one command after the
# other; also writes CMDFILE.cpu (mean user+sys seconds).
hyperfineloop() {
	local c line
	local -a cmd
	for c in "$@"; do
		mapfile -t cmd <"$c"
		line=$(printf '%q ' "${cmd[@]}")
		hyperfine -N -w 2 -r "$runs" --export-json "$c.h" "$line" >/dev/null 2>&1 ||
			{ echo "bench-nft: error: hyperfine: $line failed" >&2; return 1; }
		awk '/"median":/ {gsub(/[",]/, "", $2); printf "%d\n", $2 * 1e6}' "$c.h" >"$c.us"
		awk '/"user":/ {gsub(/,/, "", $2); u = $2} /"system":/ {gsub(/,/, "", $2); s = $2} END {printf "%.4f\n", u + s}' "$c.h" >"$c.cpu"
	done
}

cpu() { if [ -s "$1.cpu" ]; then cat "$1.cpu"; else echo -; fi; }

echo "| input | size | bytes | nft -c -f s | fwaudit s | ratio | nft CPU s | fwaudit CPU s | CPU ratio | load+list s | fwaudit verdicts |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
for name in $sizes; do
	f=$work/$name.nft
	prepare "$name" "$f"
	for kind in text json; do
		in=$f
		ncmd=("$nft" -c -f "$in")
		if [ "$kind" = json ]; then
			in=$f.json
			ncmd=("$nft" -j -c -f "$in")
		fi
		printf '%s\n' "${ncmd[@]}" >"$work/cmd_n"
		cmds=("$work/cmd_n")
		if [ "$kind" = text ]; then
			# shellcheck disable=SC2016 # the inner shell's arguments
			printf '%s\n' unshare -n sh -c '"$1" -f "$2" && exec "$1" -j list ruleset' sh "$nft" "$in" >"$work/cmd_l"
			cmds+=("$work/cmd_l")
		fi
		verdicts=-
		if [ -n "$hasnft" ]; then
			verdicts=$(fwcheck "$in")
			printf '%s\n' "$fw" scan --offline --sockets "$socks" --nft "$in" -o json >"$work/cmd_f"
			cmds+=("$work/cmd_f")
		fi
		rm -f "$work"/cmd_*.us "$work"/cmd_*.cpu
		export -f timeloop hyperfineloop
		export runs
		if [ -n "$loop" ]; then
			ip netns exec "$ns" bash -c 'timeloop "$@"' sh "${cmds[@]}"
		else
			ip netns exec "$ns" bash -c 'hyperfineloop "$@"' sh "${cmds[@]}"
		fi
		tn=$(median "$work/cmd_n.us") tf=- cf=-
		tl=-
		if [ "$kind" = text ]; then tl=$(median "$work/cmd_l.us"); fi
		if [ -n "$hasnft" ]; then tf=$(median "$work/cmd_f.us") cf=$(cpu "$work/cmd_f"); fi
		cn=$(cpu "$work/cmd_n")
		printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$kind" "$name" "$(wc -c <"$in")" \
			"$tn" "$tf" "$(ratio "$tf" "$tn")" "$cn" "$cf" "$(ratio "$cf" "$cn")" "$tl" "$verdicts"
	done
done
echo "machine: $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), kernel $(uname -r), $("$nft" --version), load $(cut -d' ' -f1-3 /proc/loadavg)"
