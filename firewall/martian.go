package firewall

import (
	"fmt"
	"net/netip"
)

// loopbackNet is the source range the kernel calls martian on any
// interface but lo unless route_localnet lets it be routed.
var loopbackNet = netip.MustParsePrefix("127.0.0.0/8")

// martianDrop tells whether the kernel drops a packet from src arriving on
// in before the input chains, for a reason of its own (IPv6:
// loopbackSourceV6Drop). IPv4: ip_route_input_slow treats a
// 127.0.0.0/8 source on an interface whose route_localnet is 0 (and all's
// too) as a martian source and drops it; the prerouting hooks have seen it,
// no input or forward chain does. The note names why, in place of a rule.
// Offline (route_localnet not read), or on an interface not read, nothing
// is assumed dropped.
func (e *Evaluator) martianDrop(src netip.Addr, in string) (RuleRef, bool) {
	if e.fam == IPv6 {
		return loopbackSourceV6Drop(src, in)
	}
	if e.fam != IPv4 || in == "lo" || !loopbackNet.Contains(src.Unmap()) {
		return RuleRef{}, false
	}
	rl := e.host.RouteLocalnet
	on, known := rl[in]
	if rl == nil || !known || on || rl["all"] {
		return RuleRef{}, false
	}
	return RuleRef{text: fmt.Sprintf("(the kernel: martian source, route_localnet is 0 on %s and all)", in)}, true
}

// loopbackSourceV6Drop tells whether the kernel drops an IPv6 packet from
// src arriving on in before any chain: ip6_rcv_core drops a packet whose
// source is ::1 received on an interface that is not a loopback (RFC 4291
// 2.5.3), before the prerouting hook, so not even raw PREROUTING counts
// it. No sysctl changes this, so it holds offline too. (The kernel spares
// a VRF master device, on which no outside packet arrives.)
func loopbackSourceV6Drop(src netip.Addr, in string) (RuleRef, bool) {
	if in == "lo" || src != netip.IPv6Loopback() {
		return RuleRef{}, false
	}
	return RuleRef{text: "(the kernel: ::1 as source is dropped on any interface but lo)"}, true
}

// RouteLocalnetAssumed says, for a verdict that lets a loopback source in on
// an outside interface, what was assumed of the kernel: "" when the
// host's route_localnet was read.
func (e *Evaluator) RouteLocalnetAssumed() string {
	if e.fam != IPv4 || e.host.RouteLocalnet != nil {
		return ""
	}
	return "route_localnet not read: assuming the kernel routes 127.0.0.0/8 from outside interfaces"
}

// martianDst tells whether the kernel drops an IPv4 packet arriving on in
// whose destination, when routing looks at it, is in 127.0.0.0/8:
// ip_route_input_slow calls it a martian destination unless route_localnet
// is 1 on in or on all. Routing looks after the nat prerouting chains, so
// a DNAT from a loopback address to another host (a port published on
// 127.0.0.1) is never such a packet and is not asked about here: it is
// forwarded whatever route_localnet says (measured:
// TestMartianLoopbackDestination). Offline (route_localnet not read) or on
// an interface not read, the kernel's default, 0, is assumed and assumed
// says so.
func (e *Evaluator) martianDst(in string) (drop bool, assumed string) {
	if e.fam != IPv4 || in == "lo" {
		return false, ""
	}
	rl := e.host.RouteLocalnet
	on, known := rl[in]
	if rl["all"] || (known && on) {
		return false, ""
	}
	if !known {
		return true, "route_localnet not read: assuming the kernel's default (0), which drops a packet for 127.0.0.0/8 from outside interfaces"
	}
	return true, ""
}
