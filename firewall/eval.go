package firewall

import (
	"net/netip"
	"sort"
	"sync"
)

// Evaluator answers queries for one family; every ruleset given applies to
// every packet (iptables-legacy and iptables-nft both loaded).
type Evaluator struct {
	fam  Family
	host Host
	sets []*cruleset
	// paths are the base chains of every set in the kernel's order; a
	// second path holds chains of equal priority the other way round when
	// their order can matter (orderWhy says which)
	paths    []*path
	orderWhy string
	rp       *routeTable // nil when the routes are not known
	local    addrSet     // loopback plus the host's addresses
	ifaces   []string
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
	e := &Evaluator{fam: fam, host: host}
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
	e.paths, e.orderWhy = buildPaths(e.sets)
	e.candidates()
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
		if m.x.hasDst && len(dstSets) < 256 {
			dstSets = append(dstSets, m.x.dst)
		}
		for _, pm := range m.x.ports {
			if pm.kind != portDst {
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
		if len(e.ifaces) > 32 {
			e.ifaces = e.ifaces[:32]
		}
		e.ifaces = append(e.ifaces, genericIface)
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
			if a, ok := d.intersect(normal).firstAddr(); ok && !seen[a] && len(e.dsts) < 32 {
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
	e.sports = portClasses(sranges, 40000)
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
	b := map[int]bool{0: true}
	for _, r := range rs {
		b[int(r.Lo)] = true
		b[int(r.Hi)+1] = true
	}
	var out []uint16
	for v := range b {
		if v <= 65535 {
			out = append(out, uint16(v))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
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

// pipeline walks x through every base chain on the way in: it returns
// the sources possibly accepted (may) and those accepted on every path
// (must).
func (w *walker) pipeline(p *path, x addrSet) (must, may addrSet) {
	w.forked = false
	w.nat.away = nil
	return w.pipelineFrom(p.input(), 0, x, emptySet(w.fam))
}

func (w *walker) pipelineFrom(hooks []*cchain, i int, x, drops addrSet) (must, may addrSet) {
	for ; i < len(hooks) && !x.isEmpty(); i++ {
		h := hooks[i]
		if h.isNAT() && w.p.state&stUntracked != 0 {
			continue // untracked packets skip the nat chains
		}
		w.hook = h
		w.untracked = emptySet(w.fam)
		w.nat.hit = emptySet(w.fam)
		w.markHits = w.markHits[:0]
		nAway := len(w.nat.away)
		res := w.walk(h, x)
		for j := nAway; j < len(w.nat.away); j++ {
			w.nat.away[j].drops = drops
		}
		drops = drops.union(res.drop)
		x = res.acc
		if h.isNAT() && w.nat.target.IsValid() {
			// a loopback-bound socket sees only what was translated to it
			missed := x.subtract(w.nat.hit)
			if !missed.isEmpty() {
				w.dropBy = append(w.dropBy, attrib{"(not translated to " + w.nat.target.String() + ")", false, missed, false, w.p.in})
			}
			x = x.intersect(w.nat.hit)
			w.p.dst, w.p.dstType, w.p.dport = w.nat.target, atLocal, w.nat.port
			w.p.state |= stDNAT
		}
		if w.p.reply {
			continue
		}
		// Sources whose packet changed on this hook (NOTRACK in raw makes
		// them UNTRACKED, a mark set) go on separately, each with its
		// own packet.
		classes := w.classes(x, true)
		if len(classes) == 1 && classes[0].same(w.p) {
			continue
		}
		must, may = emptySet(w.fam), emptySet(w.fam)
		for _, c := range classes {
			saved := *w.p
			c.applyTo(w.p)
			m, y := w.pipelineFrom(hooks, i+1, c.set, drops)
			*w.p = saved
			must, may = must.union(m), may.union(y)
		}
		return must, may
	}
	return x.subtract(drops), x
}

// pktClass is a set of sources whose packets are alike after a hook.
type pktClass struct {
	set        addrSet
	untracked  bool
	mark       uint32
	markUnsure bool
}

func (c pktClass) same(p *pktCtx) bool {
	return c.untracked == (p.state&stUntracked != 0) && c.mark == p.mark && c.markUnsure == p.markUnsure
}

func (c pktClass) applyTo(p *pktCtx) {
	if c.untracked {
		p.state = stUntracked
	}
	p.mark, p.markUnsure = c.mark, c.markUnsure
}

// classes splits x by what the hook did to each source's packet so far:
// the marks rules set (w.markHits, in order) and, once the hook is done
// (untracked), NOTRACK (w.untracked).
func (w *walker) classes(x addrSet, untracked bool) []pktClass {
	cur := []pktClass{{set: x, untracked: w.p.state&stUntracked != 0, mark: w.p.mark, markUnsure: w.p.markUnsure}}
	if untracked && !w.untracked.isEmpty() && !cur[0].untracked {
		if ut := x.intersect(w.untracked); !ut.isEmpty() {
			cur = []pktClass{{set: x.subtract(w.untracked), mark: w.p.mark, markUnsure: w.p.markUnsure},
				{set: ut, untracked: true, mark: w.p.mark, markUnsure: w.p.markUnsure}}
		}
	}
	for _, h := range w.markHits {
		var next []pktClass
		for _, c := range cur {
			in := c.set.intersect(h.set)
			if in.isEmpty() {
				next = append(next, c)
				continue
			}
			hit := c
			hit.set = in
			if h.maybe || h.op.unknown {
				hit.markUnsure = true
			} else {
				hit.mark = h.op.apply(c.mark)
			}
			if rest := c.set.subtract(h.set); !rest.isEmpty() {
				c.set = rest
				next = append(next, c)
			}
			next = append(next, hit)
		}
		cur = next
	}
	// one class per packet
	var out []pktClass
	for _, c := range cur {
		merged := false
		for i := range out {
			if out[i].untracked == c.untracked && out[i].mark == c.mark && out[i].markUnsure == c.markUnsure {
				out[i].set = out[i].set.union(c.set)
				merged = true
				break
			}
		}
		if !merged && !c.set.isEmpty() {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		out = []pktClass{{set: x, untracked: w.p.state&stUntracked != 0, mark: w.p.mark, markUnsure: w.p.markUnsure}}
	}
	return out
}
