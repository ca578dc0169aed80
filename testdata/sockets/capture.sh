#!/usr/bin/env bash
# Regenerates the captured-*.txt fixtures: listeners from capture.py inside a
# throwaway network namespace (loopback, a veth pair dummy0/dummy1, 192.0.2.10/24 and
# 2001:db8::10/64), then ss and netstat in several flag combinations.
# Needs root, iproute2, net-tools and python3. Run from this directory.
set -eu
ns=fwaudit-capture-$$
ready=$(mktemp)
rm -f "$ready"
pid=
cleanup() {
	# capture.py runs in its own process group (setsid): end the group by its id
	if [ -n "$pid" ]; then kill -- "-$pid" 2>/dev/null || true; fi
	ip netns del "$ns" 2>/dev/null || true
	rm -f "$ready"
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" link add dummy0 type veth peer name dummy1
ip -n "$ns" addr add 192.0.2.10/24 dev dummy0
ip -n "$ns" addr add 2001:db8::10/64 dev dummy0 nodad
ip -n "$ns" link set dummy0 up
ip -n "$ns" link set dummy1 up
setsid ip netns exec "$ns" python3 ./capture.py "$ready" &
pid=$!
for _ in $(seq 50); do [ -s "$ready" ] && break; sleep 0.2; done
run() { out=$1; shift; echo "capturing $out: $*"; ip netns exec "$ns" "$@" > "$out" 2>/dev/null; }
run captured-ss-tunlp.txt ss -tunlp
run captured-ss-tulpn.txt ss -tulpn
run captured-ss-tlnp.txt ss -tlnp
run captured-ss-ulnp.txt ss -ulnp
run captured-ss-tunl-no-p.txt ss -tunl
run captured-ss-H-tunlp.txt ss -H -tunlp
run captured-ss-tulpen.txt ss -tulpen
run captured-ss-tunap.txt ss -tunap
run captured-netstat-tunlp.txt netstat -tunlp
run captured-netstat-tulpen.txt netstat -tulpen
run captured-netstat-lnp.txt netstat -lnp
{ echo "# ss $(ss -V 2>&1 | head -1); $(netstat --version 2>&1 | head -1); $(uname -sr)"; } > captured-versions.txt
