package firewall

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Evaluator answers queries for one family; every ruleset given applies to
// every packet (iptables-legacy and iptables-nft both loaded).
type Evaluator struct {
	fam  Family
	host Host
	src  []*Ruleset // as given
	// origins names rules by their text as their manager does, for
	// Result.Origin (nil when no rule has an Origin)
	origins map[string]string
	sets    []*cruleset
	// paths are the base chains of every set in the kernel's order; a
	// second path holds chains of equal priority the other way round when
	// their order can matter (orderWhy says which)
	paths    []*path
	orderWhy string
	rp       *routeTable // nil when the routes are not known
	// ifaceRules are the rules on the input path that test the input
	// interface; ifaceGrouping: no rule elsewhere (forward, reply) tests
	// an interface and no reverse-path check does, so interfaces those
	// rules cannot tell apart get one walk (see ifaceClasses)
	ifaceRules    []*crule
	ifaceGrouping bool
	// ifaceNamed are the ifaceRules whose only interface test is one
	// exact input name ("-i eth7"), by that name, with their place in
	// ifaceRules; ifaceOther are the rest. A named rule never matches a
	// packet from another interface, so only its own interface's
	// signature needs its answer (see ifaceClasses).
	ifaceNamed map[string][]int
	ifaceOther []int
	// capWhy says where offline candidates were cut (maxCandidates): a
	// verdict that accepts someone is then conditional, never definite
	capWhy []string
	local  addrSet // loopback plus the host's addresses
	ifaces []string
	// outs are the outside interfaces (outsides), isOut the same as a set
	outs  []string
	isOut map[string]bool
	// outIfaces are the output interfaces a forwarded packet is tried on:
	// the host's, or offline those the rules name (-o) plus a generic one
	outIfaces []string
	// routes are the FORWARD rules' "-d set -o name" pairs: where a
	// forwarded destination leaves (see outIfacesTo)
	routes []route
	dsts   []netip.Addr
	sports []uint16
	nat    []*crule // DNAT/REDIRECT rules of the nat table on the input path
	sizes  sync.Map // sizeKey -> float64
}

// NewEvaluator compiles rulesets (of family fam) for evaluation. host says
// which interfaces and addresses the machine has; the zero Host evaluates
// offline (see Host).
func NewEvaluator(fam Family, rulesets []*Ruleset, host Host) *Evaluator {
	e := &Evaluator{fam: fam, host: host, src: rulesets}
	e.local = mustPrefixSet(fam, "127.0.0.0/8", "::1/128")
	for _, a := range host.Addrs {
		if a = a.Unmap(); (fam == IPv4) == a.Is4() {
			e.local = e.local.union(prefixSet(fam, netip.PrefixFrom(a, a.BitLen())))
		}
	}
	for _, rs := range rulesets {
		if rs != nil {
			e.sets = append(e.sets, compileRuleset(rs, e.local))
		}
	}
	if host.Routes != nil {
		e.rp = newRouteTable(fam, host.Routes, e.local)
	}
	for _, rs := range rulesets {
		rs.origins(func(r *Rule, origin string) {
			if e.origins == nil {
				e.origins = map[string]string{}
			}
			e.origins[r.Text] = origin
		})
	}
	e.paths, e.orderWhy = buildPaths(e.sets)
	e.candidates()
	e.groupInterfaces()
	return e
}

// Family is the address family the evaluator judges.
func (e *Evaluator) Family() Family { return e.fam }

// reachable calls f for every rule of the input path of every ruleset.
func (e *Evaluator) reachable(f func(c *cchain, cr *crule)) {
	visitRules(e.paths[0].input(), f)
}

// visitRules calls f for every rule of the chains in roots and of the
// chains they jump or go to, visiting each chain once.
func visitRules(roots []*cchain, f func(c *cchain, cr *crule)) {
	seen := map[*cchain]bool{}
	var visit func(c *cchain)
	visit = func(c *cchain) {
		if c == nil || seen[c] {
			return
		}
		seen[c] = true
		for i := range c.rules {
			cr := &c.rules[i]
			f(c, cr)
			if cr.to != nil {
				visit(cr.to)
			}
		}
	}
	for _, c := range roots {
		visit(c)
	}
}

// candidates picks the interfaces, destination addresses and source-port
// classes that can make a difference to the rules.
func (e *Evaluator) candidates() {
	ifs := map[string]bool{}
	var dstSets []addrSet
	var sranges []PortRange
	e.reachable(func(_ *cchain, cr *crule) {
		m := &cr.r.m
		if m.in.set && len(e.host.Interfaces) == 0 {
			name := m.in.name
			if m.in.wild {
				if name != "" {
					ifs[name+"0"] = true
				}
			} else if name != "lo" {
				ifs[name] = true
			}
		}
		if m.x.hasDst {
			dstSets = append(dstSets, m.x.dst)
		}
		if m.x.hasOrigDst {
			dstSets = append(dstSets, m.x.origDst)
		}
		for _, pm := range m.x.ports {
			if pm.kind == portSrc || pm.kind == portEither {
				sranges = append(sranges, pm.ranges...)
			}
		}
		if cr.act == actNAT {
			e.nat = append(e.nat, cr)
		}
	})
	for _, i := range e.host.Interfaces {
		if i != "lo" {
			e.ifaces = append(e.ifaces, i)
		}
	}
	if len(e.ifaces) == 0 {
		for n := range ifs {
			if n != "lo" {
				e.ifaces = append(e.ifaces, n)
			}
		}
		sort.Strings(e.ifaces)
		if len(e.ifaces) > maxCandidates {
			e.capWhy = append(e.capWhy, fmt.Sprintf("the rules name %d interfaces; only %d were tried offline", len(e.ifaces), maxCandidates))
			e.ifaces = e.ifaces[:maxCandidates]
		}
		e.ifaces = append(e.ifaces, genericIface)
	}
	e.outs = e.computeOutsides()
	e.isOut = make(map[string]bool, len(e.outs))
	for _, o := range e.outs {
		e.isOut[o] = true
	}
	e.outIfaces = e.outputInterfaces()
	e.routes = e.forwardRoutes()
	// destinations for a wildcard bind
	for _, a := range e.host.Addrs {
		if a = a.Unmap(); (e.fam == IPv4) == a.Is4() && !a.IsLoopback() {
			e.dsts = append(e.dsts, a)
		}
	}
	if len(e.dsts) == 0 {
		// offline, or no address of this family: any address the rules
		// name, and one they do not
		normal := normalSpace(e.fam)
		all := emptySet(e.fam)
		seen := map[netip.Addr]bool{}
		for _, d := range dstSets {
			all = all.union(d)
			if a, ok := d.intersect(normal).firstAddr(); ok && !seen[a] {
				if len(e.dsts) >= maxCandidates {
					if len(e.capWhy) == 0 || !strings.Contains(e.capWhy[len(e.capWhy)-1], "destinations") {
						e.capWhy = append(e.capWhy, fmt.Sprintf("the rules name more than %d destinations; only %d were tried offline", maxCandidates, maxCandidates))
					}
					continue
				}
				seen[a] = true
				e.dsts = append(e.dsts, a)
			}
		}
		generic := netip.MustParseAddr("198.51.100.1")
		if e.fam == IPv6 {
			generic = netip.MustParseAddr("2001:db8::1")
		}
		if all.contains(generic) {
			generic, _ = normal.subtract(all).firstAddr()
		}
		if generic.IsValid() && !seen[generic] {
			e.dsts = append([]netip.Addr{generic}, e.dsts...)
		}
	}
	e.sports = portClasses(sranges, defaultSPort)
}

// maxCandidates bounds the interfaces and destination addresses tried
// offline (each is a walk of every rule per query).
const maxCandidates = 256

// groupInterfaces finds the rules that test the input interface, and
// whether interfaces may share a walk.
func (e *Evaluator) groupInterfaces() {
	testsIface := func(cr *crule) bool {
		m := &cr.r.m
		return m.in.set || m.x.out.set || len(m.x.ifaces) > 0 || m.x.rpf != nil
	}
	inInput := map[*crule]bool{}
	visitRules(e.paths[0].input(), func(_ *cchain, cr *crule) {
		inInput[cr] = true
		if testsIface(cr) {
			e.ifaceRules = append(e.ifaceRules, cr)
		}
	})
	e.ifaceNamed = map[string][]int{}
	for i, cr := range e.ifaceRules {
		m := &cr.r.m
		if m.in.set && !m.in.neg && !m.in.wild && !m.x.out.set && len(m.x.ifaces) == 0 && m.x.rpf == nil {
			e.ifaceNamed[m.in.name] = append(e.ifaceNamed[m.in.name], i)
		} else {
			e.ifaceOther = append(e.ifaceOther, i)
		}
	}
	e.ifaceGrouping = true
	for _, cs := range e.sets {
		for _, c := range cs.all {
			for i := range c.rules {
				cr := &c.rules[i]
				if testsIface(cr) && (!inInput[cr] || cr.r.m.x.rpf != nil || cr.r.m.x.out.set) {
					e.ifaceGrouping = false // forward or reply rules, or routes, see the interface too
				}
			}
		}
	}
}

// normalSpace is the unicast space a packet from outside can be addressed
// to: not unspecified, loopback, multicast or reserved.
func normalSpace(fam Family) addrSet {
	if fam == IPv4 {
		s := fullSet(fam)
		for _, p := range []string{"0.0.0.0/8", "127.0.0.0/8", "224.0.0.0/4", "240.0.0.0/4"} {
			s = s.subtract(prefixSet(fam, netip.MustParsePrefix(p)))
		}
		return s
	}
	s := fullSet(fam)
	for _, p := range []string{"::/127", "ff00::/8"} {
		s = s.subtract(prefixSet(fam, netip.MustParsePrefix(p)))
	}
	return s
}

// portClasses splits 0-65535 at every range boundary and returns one port
// of each class; with no ranges it returns def alone.
func portClasses(rs []PortRange, def uint16) []uint16 {
	if len(rs) == 0 {
		return []uint16{def}
	}
	cuts := portCuts(rs, 0)
	out := make([]uint16, 0, len(cuts))
	for _, v := range cuts {
		if v <= 65535 {
			out = append(out, uint16(v))
		}
	}
	// prefer an unprivileged, unnamed port for the class holding def
	for i, v := range out {
		hi := 65535
		if i+1 < len(out) {
			hi = int(out[i+1]) - 1
		}
		if int(def) >= int(v) && int(def) <= hi {
			out[i] = def
		}
	}
	return out
}

// portCuts is where the ranges rs (and the extra cuts) split the port
// space: the sorted, distinct first ports of its classes (65536 ends the
// last one).
func portCuts(rs []PortRange, extra ...uint32) []uint32 {
	cuts := append(make([]uint32, 0, 2*len(rs)+len(extra)), extra...)
	for _, r := range rs {
		cuts = append(cuts, uint32(r.Lo), uint32(r.Hi)+1)
	}
	slices.Sort(cuts)
	return slices.Compact(cuts)
}

func (e *Evaluator) dstType(a netip.Addr) uint16 {
	switch {
	case a.IsMulticast():
		return atMulticast
	case a.Is4() && a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return atBroadcast
	case len(e.host.Addrs) > 0 && !e.local.contains(a):
		return atUnicast
	}
	return atLocal
}

// natSame tells whether a DNAT/REDIRECT/NETMAP rule leaves the packet for
// the queried socket (same local address and port). why is set when it
// cannot tell.
func (w *walker) natSame(cr *crule) (bool, string) {
	n := cr.r.m.x.nat
	if n == nil {
		return false, "-j " + cr.r.Target + " not evaluated"
	}
	if n.bad {
		return false, n.text + " not understood"
	}
	switch cr.r.Target {
	case "REDIRECT":
		if w.nat.target.IsValid() {
			return false, "" // to the interface address, not the loopback one
		}
		if !n.hasPort {
			return true, ""
		}
		if n.ports == (PortRange{w.p.dport, w.p.dport}) {
			return true, ""
		}
		if inRanges([]PortRange{n.ports}, w.p.dport) {
			return false, n.text
		}
		return false, ""
	case "DNAT":
		a := n.addr
		if a.IsValid() && !w.nat.target.IsValid() && !a.IsLoopback() && a != w.p.dst && (w.nat.local == nil || !w.nat.local(a)) {
			// forwarded to another host, whatever the port
			tport := w.p.dport
			if n.hasPort {
				tport = n.ports.Lo
			}
			w.nat.awayTo = netip.AddrPortFrom(a, tport)
			return false, ""
		}
		want := w.p.dport
		if w.nat.target.IsValid() {
			want = w.nat.port
		}
		if n.hasPort {
			if n.ports != (PortRange{want, want}) {
				if inRanges([]PortRange{n.ports}, want) {
					return false, n.text
				}
				return false, ""
			}
		} else if w.p.dport != want {
			return false, ""
		}
		if a.IsValid() {
			switch {
			case w.nat.target.IsValid():
				return a == w.nat.target, ""
			case a.IsLoopback():
				// delivered on this host to whatever listens on the
				// loopback address (route_localnet): a wildcard socket
				return w.nat.wildcard, ""
			case a != w.p.dst && (w.nat.local == nil || !w.nat.local(a)):
				return false, "" // forwarded to another host
			}
		} else if w.nat.target.IsValid() {
			return false, ""
		}
		return true, ""
	}
	return false, "-j " + cr.r.Target + " not evaluated"
}
