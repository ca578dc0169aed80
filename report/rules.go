package report

import (
	"net/netip"

	"github.com/fwaudit/fwaudit/firewall"
)

// This file holds the structural questions the report asks of a parsed
// ruleset (which chains the input hook reaches, which backend a dump came
// from), answered by firewall in terms of hooks. Questions about what a
// packet meets are left to the evaluator.

// ruleCount is the number of rules in every table of rs.
func ruleCount(rs *firewall.Ruleset) int {
	n := 0
	for _, t := range rs.Tables {
		for _, c := range t.Chains {
			n += len(c.Rules)
		}
	}
	return n
}

// filtersNothing is true when no ruleset of a family (iptables of either
// backend, native nft tables) holds a rule or a DROP policy: everything
// is accepted.
func filtersNothing(sets []*firewall.Ruleset) bool {
	for _, rs := range sets {
		if !rs.FiltersNothing() {
			return false
		}
	}
	return true
}

// backend names the netfilter backend a ruleset was read from ("nft" or
// "legacy"), or "" when it came from a file and the backend is not known.
func backend(rs *firewall.Ruleset) string {
	switch rs.Source {
	case "iptables-nft", "ip6tables-nft", "nft":
		return "nft"
	case "iptables-legacy", "ip6tables-legacy":
		return "legacy"
	}
	return ""
}

// portsNamed collects every destination port any rule of sets names.
func portsNamed(sets []*firewall.Ruleset) []firewall.PortRange {
	var out []firewall.PortRange
	for _, rs := range sets {
		for _, t := range rs.Tables {
			for _, c := range t.Chains {
				for _, r := range c.Rules {
					out = append(out, r.DPorts()...)
				}
			}
		}
	}
	return out
}

// freePort picks a port that no rule names and nobody listens on, so that
// what happens to it is what happens to "anything else".
func freePort(named []firewall.PortRange, used map[uint16]bool) uint16 {
	for p := 47000; p <= 65535; p++ {
		if used[uint16(p)] {
			continue
		}
		hit := false
		for _, r := range named {
			if uint16(p) >= r.Lo && uint16(p) <= r.Hi {
				hit = true
				break
			}
		}
		if !hit {
			return uint16(p)
		}
	}
	return 47000 // every high port is named: any answer will do
}

func unspecified(fam firewall.Family) netip.Addr {
	if fam == firewall.IPv6 {
		return netip.IPv6Unspecified()
	}
	return netip.IPv4Unspecified()
}

func loopbackAddr(fam firewall.Family) netip.Addr {
	if fam == firewall.IPv6 {
		return netip.IPv6Loopback()
	}
	return netip.MustParseAddr("127.0.0.1")
}
