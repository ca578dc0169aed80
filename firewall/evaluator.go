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
	routes []forwardRoute
	dsts   []netip.Addr
	sports []uint16
	// sportRanges[i] is the class of source ports sports[i] stands for
	sportRanges []PortRange
	nat         []*crule // DNAT/REDIRECT rules of the nat table on the input path
	sizes       sync.Map // sizeKey -> float64
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
	e.sportRanges = []PortRange{{0, 65535}}
	if len(sranges) > 0 {
		cuts := portCuts(sranges, 0)
		e.sportRanges = e.sportRanges[:0]
		for i, c := range cuts {
			if c > 65535 {
				break
			}
			hi := uint32(65535)
			if i+1 < len(cuts) {
				hi = min(cuts[i+1]-1, 65535)
			}
			e.sportRanges = append(e.sportRanges, PortRange{uint16(c), uint16(hi)})
		}
	}
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
	inInput := map[*crule]bool{} // of the rules that test an interface
	visitRules(e.paths[0].input(), func(_ *cchain, cr *crule) {
		if testsIface(cr) {
			inInput[cr] = true
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

func unspecified(fam Family) netip.Addr {
	if fam == IPv6 {
		return netip.IPv6Unspecified()
	}
	return netip.IPv4Unspecified()
}

// outsides are the interfaces an outsider's packets arrive on: offline the
// generic outside one; live every interface of the host that is not
// inside (a bridge for containers), by name, so that no check depends on
// the order the host lists them in. A host with no outside interface at
// all is judged on every one it has. Computed once, by candidates.
func (e *Evaluator) outsides() []string { return e.outs }

func (e *Evaluator) computeOutsides() []string {
	if len(e.host.Interfaces) == 0 || len(e.ifaces) == 0 {
		return []string{genericIface}
	}
	var out []string
	for _, i := range e.ifaces {
		if !slices.Contains(e.host.Inside, i) {
			out = append(out, i)
		}
	}
	if len(out) == 0 {
		out = slices.Clone(e.ifaces)
	}
	slices.Sort(out)
	return out
}

// Interfaces lists the input interfaces the evaluator tells apart: the
// host's (by name), or offline the ones the rules name and "" for any
// other.
func (e *Evaluator) Interfaces() []string {
	var out []string
	for _, i := range e.ifaces {
		if i == genericIface {
			i = ""
		}
		out = append(out, i)
	}
	slices.Sort(out)
	return out
}

// outside is the interface a packet from src arrives on: the one the route
// back to src leaves by (the host's routes), else the first outside
// interface by name (the generic one offline).
func (e *Evaluator) outsideIfaceFor(src netip.Addr) string {
	if e.rp != nil && src.IsValid() {
		for _, o := range e.outsides() {
			if s, ok := e.rp.byIface[o]; ok && s.contains(src) {
				return o
			}
		}
	}
	return e.outsides()[0]
}

// defaultSPort is the source port a packet gets when none is given
// (Decide, the evaluator's source-port classes, the probes): a port equal
// to it is a class of its own.
const defaultSPort = 40000

// forwardRoute is a destination set a FORWARD rule sends out one interface.
type forwardRoute struct {
	dst  addrSet
	name string
}

// forwardRoutes collects, once per evaluator, the "-d ... -o name" pairs of
// the rules on the forward path (Docker's "-d 172.17.0.2/32 -o docker0 ...
// -j ACCEPT").
func (e *Evaluator) forwardRoutes() []forwardRoute {
	var out []forwardRoute
	visitRules(e.paths[0].forward, func(_ *cchain, cr *crule) {
		if x := cr.r.m.x; x != nil && x.hasDst && x.out.set && !x.out.neg && !x.out.wild && !x.dst.isFull() {
			out = append(out, forwardRoute{x.dst, x.out.name})
		}
	})
	return out
}

// outputInterfaces lists the interfaces a forwarded packet may leave by.
func (e *Evaluator) outputInterfaces() []string {
	if len(e.host.Interfaces) > 0 {
		var out []string
		for _, i := range e.host.Interfaces {
			if i != "lo" {
				out = append(out, i)
			}
		}
		return out
	}
	names := map[string]bool{}
	for _, cs := range e.sets {
		for _, c := range cs.all {
			for i := range c.rules {
				if x := c.rules[i].r.m.x; x != nil && x.out.set && !x.out.neg {
					n := x.out.name
					if x.out.wild {
						n += "0"
					}
					if n != "lo" && n != "0" {
						names[n] = true
					}
				}
			}
		}
	}
	out := make([]string, 0, len(names)+1)
	for n := range names {
		out = append(out, n)
	}
	sort.Strings(out)
	if len(out) > maxCandidates {
		e.capWhy = append(e.capWhy, fmt.Sprintf("the rules name %d output interfaces; only %d were tried offline", len(out), maxCandidates))
		out = out[:maxCandidates]
	}
	return append(out, genericIface)
}

// outIfacesTo narrows outIfaces for a forwarded packet to a: the rules
// that name a as destination together with an output interface say where
// its route goes. Without such a rule every output interface is tried.
func (e *Evaluator) outIfacesTo(a netip.Addr) []string {
	var out []string
	for _, r := range e.routes {
		if r.dst.contains(a) && !slices.Contains(out, r.name) {
			out = append(out, r.name)
		}
	}
	if len(out) == 0 {
		return e.outIfaces
	}
	sort.Strings(out)
	return out
}

type sizeKey struct {
	p *rng
	n int
}

// ifaceClasses says, for each candidate interface, which one stands for
// it in this query: itself, or an interface after it that no rule tells
// it apart from (every rule that tests an interface decides alike for
// both, for every destination, port and source port tried). Only the
// input path may test interfaces for this (e.ifaceGrouping); the one
// walked for a class is its last member, so the generic outside
// interface stands for its class offline.
func (e *Evaluator) ifaceClasses(proto int, dsts []netip.Addr, ports []uint16) []int {
	rep := make([]int, len(e.ifaces))
	for i := range rep {
		rep[i] = i
	}
	if !e.ifaceGrouping || len(e.ifaces) < 2 {
		return rep
	}
	// each interface's signature, keyed as bytes: the last interface with
	// a signature stands for every earlier one with the same. It holds
	// the answers of the rules that do not name one interface exactly,
	// then the place and answer of each rule naming this interface that
	// does not answer no: every other named rule answers no (its input
	// interface differs), alike for every interface, so the signatures of
	// two interfaces are equal exactly when all their answers are. Each
	// rule is thus tested for at most every interface or for its own one.
	last := map[string]int{}
	var sig []byte
	for i := len(e.ifaces) - 1; i >= 0; i-- {
		sig = sig[:0]
		named := e.ifaceNamed[e.ifaces[i]]
		for _, dst := range dsts {
			for _, port := range ports {
				for _, sp := range e.sports {
					p := pktCtx{proto: proto, sport: sp, dport: port, in: e.ifaces[i], dst: dst,
						dstType: e.dstType(dst), state: stNew, flags: tcpSYN}
					for _, k := range e.ifaceOther {
						sig = append(sig, byte(e.ifaceRules[k].r.m.test(&p)))
					}
					at, n := len(sig), 0
					sig = append(sig, 0, 0, 0, 0) // how many follow
					for _, k := range named {
						if t := e.ifaceRules[k].r.m.test(&p); t != triNo {
							sig = append(sig, byte(k), byte(k>>8), byte(k>>16), byte(k>>24), byte(t))
							n++
						}
					}
					sig[at], sig[at+1], sig[at+2], sig[at+3] = byte(n), byte(n>>8), byte(n>>16), byte(n>>24)
				}
			}
		}
		if j, ok := last[string(sig)]; ok {
			rep[i] = j
		} else {
			last[string(sig)] = i
		}
	}
	return rep
}
