package firewall

import (
	"net/netip"
	"strconv"
	"strings"
)

// natTarget is where a NAT action sends a packet, as both front ends
// compile it: iptables' -j DNAT --to-destination ADDR[:PORT] and -j
// REDIRECT --to-ports PORT, nft's "dnat to ADDR:PORT" and "redirect to
// :PORT".
type natTarget struct {
	addr    netip.Addr // the (first) address translated to; invalid when none is given
	ports   PortRange  // the port or range translated to, when hasPort
	hasPort bool
	// bad: the target is given but not understood (a computed address,
	// a malformed value); the translation is then not evaluated
	bad  bool
	text string // the target as its front end writes it, for reasons
}

// iptablesNAT reads the target options of -j DNAT or -j REDIRECT.
func iptablesNAT(target string, args map[string]string) *natTarget {
	switch target {
	case "DNAT":
		to := args["--to-destination"]
		n := &natTarget{text: "DNAT --to-destination " + to}
		host, port := splitHostPort(to)
		if host != "" {
			a, err := netip.ParseAddr(strings.SplitN(host, "-", 2)[0])
			if err != nil {
				n.bad = true
			}
			n.addr = a
		}
		n.setPorts(port)
		return n
	case "REDIRECT":
		tp := args["--to-ports"]
		n := &natTarget{text: "REDIRECT --to-ports " + tp}
		n.setPorts(tp)
		return n
	}
	return nil
}

// setPorts reads "80" or "8000-8100" ("" for none).
func (n *natTarget) setPorts(s string) {
	if s == "" {
		return
	}
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		b = a
	}
	lo, err1 := strconv.ParseUint(a, 10, 16)
	hi, err2 := strconv.ParseUint(b, 10, 16)
	if err1 != nil || err2 != nil || lo > hi {
		n.bad = true
		return
	}
	n.ports, n.hasPort = PortRange{uint16(lo), uint16(hi)}, true
}

// splitHostPort splits iptables' ADDR[:PORT], [V6ADDR]:PORT or V6ADDR.
func splitHostPort(s string) (host, port string) {
	if strings.HasPrefix(s, "[") {
		if i := strings.Index(s, "]"); i >= 0 {
			host = s[1:i]
			if rest := s[i+1:]; strings.HasPrefix(rest, ":") {
				port = rest[1:]
			}
			return
		}
	}
	if strings.Count(s, ":") == 1 {
		h, p, _ := strings.Cut(s, ":")
		return h, p
	}
	return s, ""
}

// localTo says where rule r's translation delivers a packet sent to
// dst:dport on this host, when it stays on this host: REDIRECT "redirects
// the packet to the machine itself by changing the destination IP to the
// primary address of the incoming interface" (iptables-extensions(8),
// REDIRECT; nft's redirect statement is the same translation, nft(8), NAT
// STATEMENTS), taken here as the address the packet came to, which a
// wildcard socket receives alike; DNAT to a loopback address or to one of
// the host's (local), or to a port alone, which keeps the address and so
// stays on this host when the packet was sent to it (dstHere).
// Without --to-ports the port is unchanged; a port
// range is not followed (ok false), nor a target not understood.
func localTo(r *Rule, dst netip.Addr, dport uint16, local func(netip.Addr) bool, dstHere bool) (netip.Addr, uint16, bool) {
	n := r.m.x.nat
	if n == nil || n.bad {
		return netip.Addr{}, 0, false
	}
	to := dst
	switch r.Target {
	case "REDIRECT":
	case "DNAT":
		if !n.addr.IsValid() {
			// a port alone (--to-destination :22, nft "dnat to :22"):
			// the kernel maps no address (no NF_NAT_RANGE_MAP_IPS), so
			// the packet keeps its destination, on this host when it was
			if !n.hasPort || !dstHere {
				return netip.Addr{}, 0, false
			}
			break
		}
		if !(n.addr.IsLoopback() || local(n.addr)) {
			return netip.Addr{}, 0, false
		}
		to = n.addr
	default:
		return netip.Addr{}, 0, false
	}
	if n.hasPort {
		if n.ports.Lo != n.ports.Hi {
			return netip.Addr{}, 0, false
		}
		dport = n.ports.Lo
	}
	return to, dport, true
}
