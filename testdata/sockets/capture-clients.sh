#!/usr/bin/env bash
# Regenerates captured-ss-clients-*.txt: the sockets of capture-clients.py
# inside a throwaway network namespace (loopback, a veth pair dummy0/dummy1,
# 192.0.2.10/24 and 2001:db8::10/64, and a VXLAN device whose kernel socket
# on UDP 40000 has no owning process). Needs root, iproute2 and python3.
# Run from this directory.
set -eu
ns=fwaudit-clients-$$
ready=$(mktemp)
rm -f "$ready"
pid=
cleanup() {
	# capture-clients.py runs in its own process group (setsid): end the group by its id
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
ip -n "$ns" link add vx0 type vxlan id 42 dstport 40000 local 192.0.2.10 dev dummy0
ip -n "$ns" link set vx0 up
ip netns exec "$ns" cat /proc/sys/net/ipv4/ip_local_port_range
setsid ip netns exec "$ns" python3 ./capture-clients.py "$ready" &
pid=$!
for _ in $(seq 50); do [ -s "$ready" ] && break; sleep 0.2; done
run() { out=$1; shift; echo "capturing $out: $*"; ip netns exec "$ns" "$@" > "$out" 2>/dev/null; }
run captured-ss-clients-tunlp.txt ss -tunlp
run captured-ss-clients-tunl-no-p.txt ss -tunl
run captured-ss-clients-tunap.txt ss -tunap
