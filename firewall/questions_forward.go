package firewall

import "net/netip"

// What is forwarded and to where: the nat rules on the prerouting hook
// that send a port to another host (a container's address: Docker's
// published ports, or any port forward). report (published ports,
// direct access, the bypass of INPUT) and suggest (the ports it closes
// or restricts on a Docker host) ask this one question.

// PortForward is one DNAT rule that sends new connections for a port
// range to an address that is not this host's.
type PortForward struct {
	Ruleset *Ruleset
	Chain   *Chain
	Rule    *Rule
	Proto   string     // tcp, udp or sctp
	Addr    netip.Addr // the host address it applies to; unspecified for all
	Ports   PortRange  // the rule's first destination port range
	To      netip.Addr
	ToPort  uint16 // the first port it sends to; 0 keeps the port
}

// Target is where the forward sends port p of its range.
func (f PortForward) Target(p uint16) netip.AddrPort {
	if f.ToPort == 0 {
		return netip.AddrPortFrom(f.To, p)
	}
	return netip.AddrPortFrom(f.To, f.ToPort+(p-f.Ports.Lo))
}

// PortForwards lists, in rule order over the evaluator's rulesets, the
// DNAT rules reached from the nat chains on the prerouting hook that
// send a tcp, udp or sctp port (not negated) to an address that is
// neither this host's nor loopback.
func (e *Evaluator) PortForwards() []PortForward {
	var out []PortForward
	for _, rs := range e.src {
		if rs == nil {
			continue
		}
		for _, h := range rs.NATChains() {
			for _, c := range h.Reach() {
				for _, r := range c.Rules {
					to, toPort, ok := r.NATTo()
					if !ok || (r.Proto() != "tcp" && r.Proto() != "udp" && r.Proto() != "sctp") || r.ProtoNeg() || len(r.DPorts()) == 0 || r.DPortsNeg() ||
						e.Local(to) || to.IsLoopback() {
						continue
					}
					addr := netip.IPv4Unspecified()
					if e.fam == IPv6 {
						addr = netip.IPv6Unspecified()
					}
					if a, ok := r.DstAddr(); ok {
						addr = a
					}
					out = append(out, PortForward{rs, c, r, r.Proto(), addr, r.DPorts()[0], to, toPort})
				}
			}
		}
	}
	return out
}
