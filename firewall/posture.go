package firewall

import (
	"fmt"
	"net/netip"
)

// Check is the answer to one posture question, with the rule that decided
// it (or why it could not be decided).
type Check struct {
	Pass   bool
	Detail string
	Rule   RuleRef
}

// Posture answers the questions behind the report's checks, each by
// deciding probe packets rather than reading rule text.
type Posture struct {
	// DefaultDeny: a NEW TCP and UDP connection to a port no rule names,
	// from an arbitrary source on an outside interface, is not accepted
	// from most of the address space (policy DROP or a final catch-all).
	DefaultDeny Check
	// ForwardDefaultDeny: the same for a packet routed through the host.
	ForwardDefaultDeny Check
	// Loopback: traffic on lo is accepted, and packets claiming a loopback
	// source (127.0.0.0/8, ::1) on another interface are dropped.
	Loopback Check
	// Established: packets of ESTABLISHED and RELATED connections are
	// accepted on an outside interface.
	Established Check
}

// Posture probes the rules for the report's checks.
func (e *Evaluator) Posture() Posture {
	var p Posture
	port := e.unlistedPort()
	var open []string
	var rule RuleRef
	for _, proto := range []string{"tcp", "udp"} {
		r := e.Evaluate(Query{Proto: proto, Addr: unspecified(e.fam), Port: port})
		switch r.Verdict {
		case Open, Conditional:
			open = append(open, fmt.Sprintf("%s/%d %s", proto, port, r.Verdict))
			if rule.IsZero() {
				rule = r.Rule
			}
		default:
			if rule.IsZero() {
				rule = r.Rule
			}
		}
	}
	p.DefaultDeny = Check{Pass: len(open) == 0, Rule: rule}
	if len(open) == 0 {
		p.DefaultDeny.Detail = fmt.Sprintf("unlisted ports (tcp/udp %d) are not accepted from outside", port)
	} else {
		p.DefaultDeny.Detail = fmt.Sprintf("unlisted port accepted: %v", open)
	}

	p.ForwardDefaultDeny = e.forwardDeny(port)

	lo := Packet{Proto: "tcp", Src: loopbackAddr(e.fam), Dst: loopbackAddr(e.fam), DPort: port, InIface: "lo"}
	dl := e.decide(lo, false)
	// a spoofed loopback source must be dropped on every outside
	// interface; the first (by name) that lets it in is the one named
	var ds Decision
	spoofIface := ""
	for _, o := range e.outsides() {
		spoofIface = o
		if ds = e.decide(Packet{Proto: "tcp", Src: loopbackAddr(e.fam), DPort: port, InIface: o}, false); ds.Verdict != DecideDrop {
			break
		}
	}
	p.Loopback = Check{Pass: dl.Verdict == DecideAccept && ds.Verdict == DecideDrop, Rule: dl.Rule}
	switch {
	case dl.Verdict != DecideAccept:
		p.Loopback.Detail = "traffic on lo is not accepted (" + dl.Verdict + ")"
	case ds.Verdict != DecideDrop:
		p.Loopback.Detail = fmt.Sprintf("a packet from %s on %s is not dropped (%s)", loopbackAddr(e.fam), ifaceLabel(spoofIface), ds.Verdict)
		p.Loopback.Rule = ds.Rule
	default:
		p.Loopback.Detail = "lo accepted; loopback sources on other interfaces dropped by " + ds.Rule.String()
	}

	est := true
	outs := e.outsides()
	for _, o := range outs {
		for _, st := range []string{"ESTABLISHED", "RELATED"} {
			for _, proto := range []string{"tcp", "udp"} {
				d := e.decide(Packet{Proto: proto, Src: e.sourceVia(o), DPort: port, SPort: 443, InIface: o, State: st}, false)
				if d.Verdict != DecideAccept {
					if est {
						p.Established.Detail = fmt.Sprintf("%s %s packet not accepted (%s)", st, proto, d.Verdict)
						if len(outs) > 1 {
							p.Established.Detail = fmt.Sprintf("%s %s packet on %s not accepted (%s)", st, proto, o, d.Verdict)
						}
						p.Established.Rule = d.Rule
					}
					est = false
				} else if p.Established.Rule.IsZero() {
					p.Established.Rule = d.Rule
				}
			}
		}
	}
	p.Established.Pass = est
	if est {
		p.Established.Detail = "ESTABLISHED and RELATED accepted"
	}
	return p
}

func loopbackAddr(fam Family) netip.Addr {
	if fam == IPv6 {
		return netip.IPv6Loopback()
	}
	return netip.MustParseAddr("127.0.0.1")
}

// sourceVia is a source whose route back leaves by o, as the peer of a
// connection made over o has (a strict reverse-path check passes for it);
// DefaultSource when the routes are not known or none leaves by o.
func (e *Evaluator) sourceVia(o string) netip.Addr {
	if e.rp != nil {
		if s, ok := e.rp.byIface[o]; ok {
			if a, ok := s.subtract(e.local).intersect(normalSpace(e.fam)).firstAddr(); ok {
				return a
			}
		}
	}
	return DefaultSource(e.fam)
}

// unlistedPort is a high port no destination-port match of the input path
// names (so the probe meets only catch-all rules and policies).
func (e *Evaluator) unlistedPort() uint16 {
	var rs []PortRange
	e.reachable(func(_ *cchain, cr *crule) {
		for _, pm := range cr.r.m.x.ports {
			if pm.kind != portSrc && !pm.neg {
				for _, r := range pm.ranges {
					if r.Hi-r.Lo < 30000 { // 1:65535 style ranges are catch-alls
						rs = append(rs, r)
					}
				}
			}
		}
	})
	for p := uint16(47000); p < 65000; p += 7 {
		if !inRanges(rs, p) {
			return p
		}
	}
	return 47001
}

// forwardDeny decides a NEW TCP packet routed through the host.
func (e *Evaluator) forwardDeny(port uint16) Check {
	dst := netip.MustParseAddr("192.0.2.200")
	if e.fam == IPv6 {
		dst = netip.MustParseAddr("2001:db8:ffff::200")
	}
	src := DefaultSource(e.fam)
	ctx := &pktCtx{proto: 6, sport: defaultSPort, dport: port, in: e.outsideIfaceFor(src), dst: dst, dstType: atUnicast, state: stNew, flags: tcpSYN}
	tr := newTracer(e, false)
	tr.mode = traceDrops
	w := &walker{fam: e.fam, p: ctx, rp: e.rp, tr: tr}
	pth := e.paths[0]
	must, may := w.pipelineFrom(append(pth.preNoNAT(), pth.forward...), 0, prefixSet(e.fam, netip.PrefixFrom(src, src.BitLen())), emptySet(e.fam))
	final, rule := fates(must, may, src), tr.dropRule
	c := Check{Pass: final == oDrop, Rule: rule}
	if c.Pass {
		c.Detail = "a forwarded NEW connection is dropped"
	} else {
		c.Detail = "a forwarded NEW connection is not dropped"
	}
	return c
}
