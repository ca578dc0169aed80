package firewall

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
)

// Evaluate returns who can open a NEW connection to q: the set of sources
// (per DESIGN.md's verdicts) accepted on the input path of every ruleset,
// for a first TCP SYN (or UDP datagram) arriving on any non-loopback
// interface, from any source port.
func (e *Evaluator) Evaluate(q Query) Result { return e.evaluate(q, nil) }

// evaluate answers q; with each, it also appends the answer on every
// interface alone (EvaluateEach).
func (e *Evaluator) evaluate(q Query, each *[]IfaceResult) Result {
	proto, err := parseProto(q.Proto)
	if err != nil || proto == -1 {
		return Result{Verdict: Unknown, Reasons: []string{fmt.Sprintf("unknown protocol %q", q.Proto)}}
	}
	dsts := e.dsts
	ports := []uint16{q.Port}
	// loDst: q is a loopback address asked about as the packet's own
	// destination; sawAway: some packet was forwarded to another host
	loDst, sawAway := false, false
	var assumed string
	var lets []string // interfaces whose route_localnet lets 127/8 in
	w := &walker{fam: e.fam, rp: e.rp, packed: q.Packed}
	w.nat.local = func(a netip.Addr) bool { return e.local.contains(a) && !a.IsLoopback() }
	if a := q.Addr.Unmap(); q.Addr.IsValid() && !a.IsUnspecified() {
		if e.fam == IPv6 {
			a = q.Addr
		}
		if (e.fam == IPv4) != a.Is4() {
			return Result{Verdict: NotApplicable}
		}
		if a.IsLoopback() {
			// reachable from outside through a DNAT to it, or, in
			// IPv4, as sent to it: forwarded by a DNAT from it to
			// another host (published on loopback), which routing
			// never calls martian; delivered only where
			// route_localnet is 1 (martianDst)
			if origins := e.dnatOrigins(proto, a, q.Port); len(origins) > 0 {
				w.nat.target, w.nat.port, ports = a, q.Port, origins
			} else if e.fam == IPv4 {
				dsts, loDst = []netip.Addr{a}, true
			} else {
				return Result{Verdict: NotApplicable}
			}
		} else {
			dsts = []netip.Addr{a}
		}
	} else {
		w.nat.wildcard = true
	}
	// ports a translation to this host sends to q.Port: walked too, the
	// socket seeing what is translated (a wildcard bind receives it
	// whatever the address the packet came to)
	nDirect := len(ports)
	var followed map[*crule]bool
	if w.nat.wildcard {
		var origins []uint16
		origins, followed = e.translatedFrom(proto, q.Port)
		ports = append(slices.Clone(ports), origins...)
	}
	// dstMay: who each destination tried admits, on some interface
	dstMay := make([]addrSet, len(dsts))
	for i := range dstMay {
		dstMay[i] = emptySet(e.fam)
	}
	var per []ifaceSets
	full := fullSet(e.fam)
	rep := e.ifaceClasses(proto, dsts, ports)
	if loDst {
		// the kernel tells interfaces apart by route_localnet
		for i := range rep {
			rep[i] = i
		}
	}
	walked := make([]ifaceSets, len(e.ifaces))
	for ii, iface := range e.ifaces {
		if rep[ii] != ii {
			continue // the rules cannot tell it from rep[ii]'s: filled in below
		}
		pi := ifaceSets{name: iface, must: emptySet(e.fam), may: emptySet(e.fam), bySport: make([]addrSet, len(e.sports))}
		for k := range pi.bySport {
			pi.bySport[k] = emptySet(e.fam)
		}
		for di, dst := range dsts {
			for pi2, port := range ports {
				w.nat.follow = pi2 >= nDirect
				if w.nat.follow {
					w.nat.port = q.Port
				}
				for si, sp := range e.sports {
					p := &pktCtx{proto: proto, sport: sp, dport: port, in: iface, dst: dst,
						dstType: e.dstType(dst), state: stNew, flags: tcpSYN}
					if proto == 1 || proto == 58 {
						p.icmpType = int(port) // as Decide reads DPort for ICMP
					}
					var must, may addrSet
					for i, pth := range e.paths {
						w.p = p
						saved := *p
						m1, m2 := w.pipeline(pth, full)
						if loDst {
							// not translated away: routing sees 127/8,
							// dropped unless route_localnet. Where it is
							// 1 the packet reaches the input chains; that
							// direct path is not judged yet (the verdict
							// stays with the forward path) and the result
							// says so
							if drop, why := e.martianDst(iface); !drop {
								if !m2.isEmpty() && !slices.Contains(lets, iface) {
									lets = append(lets, iface)
								}
							} else if why != "" {
								assumed = why
							}
							m1, m2 = emptySet(e.fam), emptySet(e.fam)
						}
						if replyChecked(p, pth) && !m2.isEmpty() {
							// the SYN-ACK must get out too (OUTPUT policy DROP)
							local := w.p.dst
							*p = saved
							rm, rmay := e.replyLeg(w, pth, p, local, q, iface, m2)
							m1, m2 = m1.intersect(rm), m2.intersect(rmay)
						}
						*p = saved
						if away := w.nat.away; len(away) > 0 && !q.SocketOnly {
							sawAway = true
							// a published port: reachable by what FORWARD lets through
							fm, fmay, _ := e.forwardLeg(w, pth, p, away)
							m1, m2 = m1.union(fm), m2.union(fmay)
							*p = saved
						}
						if i == 0 {
							must, may = m1, m2
							continue
						}
						// chains of equal priority the other way round
						nmust, nmay := must.intersect(m1), may.union(m2)
						if d := nmay.subtract(nmust); !nmust.equal(must) || !nmay.equal(may) {
							w.reasons = append(w.reasons, runtimeReason{e.orderWhy, d})
						}
						must, may = nmust, nmay
					}
					pi.must, pi.may = pi.must.union(must), pi.may.union(may)
					pi.bySport[si] = pi.bySport[si].union(may)
					dstMay[di] = dstMay[di].union(may)
				}
			}
		}
		walked[ii] = pi
	}
	w.nat.follow = false
	for ii, iface := range e.ifaces {
		pi := walked[rep[ii]]
		pi.name = iface
		per = append(per, pi)
	}
	judge := func(per []ifaceSets) Result {
		res := e.resultOf(q, proto, w, per, followed)
		if w.nat.wildcard {
			e.limitDestinations(&res, dsts, dstMay)
		}
		e.limitSourcePorts(&res, per)
		if loDst && !sawAway && res.Verdict == Blocked {
			// nothing forwards it to another host
			res = Result{Verdict: NotApplicable}
		}
		if loDst && len(lets) > 0 {
			res.Reasons = append(res.Reasons, fmt.Sprintf("route_localnet is 1 on %s: a packet sent there to %s reaches the input chains, which admit some, not judged here", strings.Join(lets, ", "), q.Addr))
		}
		if loDst && assumed != "" && res.Verdict != Blocked {
			res.Reasons = append(res.Reasons, assumed)
		}
		return res
	}
	if each != nil {
		for _, p := range per {
			name := p.name
			if name == genericIface {
				name = ""
			}
			*each = append(*each, IfaceResult{Iface: name, Result: judge([]ifaceSets{p})})
		}
	}
	res := judge(per)
	e.byInterface(&res, per, judge)
	return res
}

// translatedFrom lists the ports a nat rule on the input path translates
// to port on this host (localTo: REDIRECT, DNAT to one of its addresses),
// from the one port (or the first of the range) its destination-port
// match names, and the rules it followed so. A rule with no such match,
// or that translates to a range, is not followed.
func (e *Evaluator) translatedFrom(proto int, port uint16) ([]uint16, map[*crule]bool) {
	var out []uint16
	var followed map[*crule]bool
	for _, cr := range e.nat {
		m := &cr.r.m
		if m.proto != -1 && (int(m.proto) == proto) == m.protoNeg {
			continue
		}
		n := m.x.nat
		if n == nil || n.bad || !n.hasPort || n.ports != (PortRange{port, port}) {
			continue
		}
		if _, _, ok := localTo(cr.r, netip.Addr{}, port, func(a netip.Addr) bool { return e.local.contains(a) }, true); !ok {
			continue
		}
		origin, named := uint16(0), false
		for _, pm := range m.x.ports {
			if pm.kind == portDst && !pm.neg && len(pm.ranges) > 0 {
				origin, named = pm.ranges[0].Lo, true
			}
		}
		if !named || origin == port {
			continue
		}
		if followed == nil {
			followed = map[*crule]bool{}
		}
		followed[cr] = true
		if !slices.Contains(out, origin) {
			out = append(out, origin)
		}
	}
	return out, followed
}

// limitDestinations narrows an accepting verdict for a wildcard bind to
// the destinations tried that admit anyone, when some admit nobody: a
// destination match (-d, ip6 daddr) lets the port be reached at some of
// the host's addresses only. Offline, each destination tried stands for
// the smallest destination match of the rules that holds it.
func (e *Evaluator) limitDestinations(res *Result, dsts []netip.Addr, dstMay []addrSet) {
	if len(dsts) < 2 || (res.Verdict != Open && res.Verdict != Restricted && res.Verdict != Conditional) {
		return
	}
	admit := emptySet(e.fam)
	all := true
	for i, a := range dsts {
		if dstMay[i].isEmpty() {
			all = false
			continue
		}
		admit = admit.union(e.destinationOf(a))
	}
	if all || admit.isEmpty() {
		return
	}
	res.Destinations = admit.prefixes()
	if res.Verdict == Open {
		// open at some addresses only: restricted, its exceptions kept
		res.Verdict = Restricted
	}
}

// destinationOf is the destination a tried address stands for: itself
// live; offline, the smallest destination match of the rules holding it.
func (e *Evaluator) destinationOf(a netip.Addr) addrSet {
	self := prefixSet(e.fam, netip.PrefixFrom(a, a.BitLen()))
	if len(e.host.Addrs) > 0 {
		return self
	}
	best, bestSize := self, -1.0
	e.reachable(func(_ *cchain, cr *crule) {
		if x := cr.r.m.x; x.hasDst && x.dst.contains(a) {
			if sz := x.dst.size(); bestSize < 0 || sz < bestSize {
				best, bestSize = x.dst, sz
			}
		}
	})
	return best
}

// replyChecked: a connection p opens is accepted only if its SYN-ACK also
// gets out through the output chains (a TCP SYN of a new or untracked
// connection, where those chains may drop something).
func replyChecked(p *pktCtx, pth *path) bool {
	return p.proto == 6 && p.state&(stNew|stUntracked) != 0 && p.flags == tcpSYN && !pth.replyOpen
}

// replyLeg walks the SYN-ACK of connection in, accepted from the sources
// may at local:q.Port on iface, through the output chains: the sources
// are now its destination. The listener sends it, so an owner match tests
// the listener's uid where q knows it. It returns those whose reply
// surely (must) and possibly (may) gets out.
func (e *Evaluator) replyLeg(w *walker, pth *path, in *pktCtx, local netip.Addr, q Query, iface string, may addrSet) (addrSet, addrSet) {
	rp := &pktCtx{proto: in.proto, sport: q.Port, dport: in.sport, out: iface, reply: true, local: local,
		dstType: atUnicast, state: stEstablished, flags: tcpSYN | tcpACK, uid: q.UID, uidKnown: q.UIDKnown}
	saved := w.p
	w.p = rp
	w.forked = false
	rm, rmay := w.pipelineFrom(pth.reply, 0, may, emptySet(e.fam))
	w.p = saved
	return rm, rmay
}

// dnatOrigins are the original destination ports of nat rules that DNAT
// proto traffic to addr:port.
func (e *Evaluator) dnatOrigins(proto int, addr netip.Addr, port uint16) []uint16 {
	seen := map[uint16]bool{}
	var out []uint16
	for _, cr := range e.nat {
		m := &cr.r.m
		if cr.r.Target != "DNAT" || (m.proto != -1 && (int(m.proto) == proto) == m.protoNeg) {
			continue
		}
		n := m.x.nat
		if n == nil || n.bad || n.addr != addr {
			continue
		}
		origin := port
		for _, pm := range m.x.ports {
			if pm.kind == portDst && !pm.neg && len(pm.ranges) > 0 {
				origin = pm.ranges[0].Lo
			}
		}
		if n.hasPort {
			if !inRanges([]PortRange{n.ports}, port) {
				continue
			}
		} else if origin != port {
			continue
		}
		if !seen[origin] {
			seen[origin] = true
			out = append(out, origin)
		}
	}
	return out
}

type ifaceSets struct {
	name      string
	must, may addrSet
	bySport   []addrSet // who may get in from each source-port class (e.sports)
}

// limitSourcePorts names the source ports an accepting verdict holds for
// when they make a difference: a rule that tests the source port
// (`--sport 67 --dport 68 -j ACCEPT`, ufw's DHCP replies) admits its
// sources from those ports only, and a client's usual ephemeral port gets
// less. The verdict's sources are what any source port gets (a sender
// chooses its port); SourcePorts are the classes of ports that get all of
// them, so that admitting those sources from those ports alone admits
// nothing today's rules refuse.
func (e *Evaluator) limitSourcePorts(res *Result, per []ifaceSets) {
	if len(e.sports) < 2 || (res.Verdict != Open && res.Verdict != Restricted && res.Verdict != Conditional) {
		return
	}
	got := make([]addrSet, len(e.sports))
	all := emptySet(e.fam)
	for k := range got {
		got[k] = emptySet(e.fam)
		for _, p := range per {
			got[k] = got[k].union(p.bySport[k])
		}
		all = all.union(got[k])
	}
	var full []PortRange
	differ := false
	for k, g := range got {
		if !g.equal(all) {
			differ = true
			continue
		}
		r := e.sportRanges[k]
		if n := len(full); n > 0 && uint32(full[n-1].Hi)+1 == uint32(r.Lo) {
			full[n-1].Hi = r.Hi
			continue
		}
		full = append(full, r)
	}
	if differ {
		res.SourcePorts = full
	}
}

// listKind names a list of a Result, for listInto.
type listKind int

const (
	listSources listKind = iota
	listExcept
	listDoubtful
)

// listInto sets res's list of kind k to the prefixes of s (with
// complement, of what s lacks), in Result.Packed where it comes packed
// (prefixesOf).
func (w *walker) listInto(res *Result, k listKind, s addrSet, complement bool) {
	ps, packed := w.prefixesOf(s, complement)
	*[...]*[]netip.Prefix{&res.Sources, &res.Except, &res.Doubtful}[k] = ps
	if packed != nil {
		if res.Packed == nil {
			res.Packed = &PackedLists{}
		}
		*[...]*[]uint64{&res.Packed.Sources, &res.Packed.Except, &res.Packed.Doubtful}[k] = packed
	}
}

func (e *Evaluator) resultOf(q Query, proto int, w *walker, per []ifaceSets, followed map[*crule]bool) Result {
	var accepting []string
	// Live, the outside interfaces are known (outsides). Offline, the
	// interfaces the rules name may lead anywhere, so what they admit
	// counts as admitted from outside, and the generic one alone decides
	// whether the accept is limited to named interfaces.
	live := len(e.host.Interfaces) > 0
	everyOutsideAdmits := true
	musts, mays, outMusts := make([]addrSet, 0, len(per)), make([]addrSet, 0, len(per)), make([]addrSet, 0, len(per))
	for _, p := range per {
		musts, mays = append(musts, p.must), append(mays, p.may)
		isOut := e.isOut[p.name]
		if isOut || !live {
			outMusts = append(outMusts, p.must)
		}
		if !p.may.isEmpty() {
			accepting = append(accepting, p.name)
		} else if isOut {
			everyOutsideAdmits = false
		}
	}
	must, may := unionAll(e.fam, musts), unionAll(e.fam, mays)
	outMust := must // admitted from outside
	if len(outMusts) < len(per) {
		outMust = unionAll(e.fam, outMusts)
	}
	var res Result
	diff := emptySet(e.fam)
	if !may.equal(must) {
		diff = may.subtract(must)
	}
	var reasons []string
	if !diff.isEmpty() {
		seen := map[string]bool{}
		for _, r := range w.reasons {
			if !seen[r.why] && !r.set.intersect(diff).isEmpty() {
				seen[r.why] = true
				reasons = append(reasons, r.why)
			}
		}
		if len(reasons) == 0 {
			for _, r := range w.reasons {
				if !seen[r.why] {
					seen[r.why] = true
					reasons = append(reasons, r.why)
				}
			}
		}
		sort.Strings(reasons)
	}
	// accepted through nat from other ports: not evaluated
	nDiff := len(reasons)
	if redirect := e.redirectsTo(proto, q.Port, followed); redirect != "" && may.fraction() <= 0.5 && !w.nat.target.IsValid() {
		reasons = append(reasons, redirect)
	}
	// reasons past nDiff cast doubt on every source, not on diff alone
	for _, u := range append(append([]string{}, e.host.Unseen...), e.capWhy...) {
		if !may.isEmpty() {
			reasons = append(reasons, u)
		}
	}
	if nDiff > 0 && len(reasons) == nDiff && !must.isEmpty() {
		if res, ok := e.certainPart(q, proto, w, per, followed); ok {
			w.listInto(&res, listDoubtful, diff, false)
			res.Reasons = reasons
			return res
		}
	}
	switch {
	case len(reasons) > 0:
		res.Verdict, res.Reasons = Conditional, reasons
		w.listInto(&res, listSources, may, false)
		res.Rule = e.bestRule(w, w.accBy, may)
		if may.isEmpty() {
			res.Rule = e.bestRule(w, w.dropBy, fullSet(e.fam))
		}
	case must.isEmpty():
		res.Verdict = Blocked
		res.Rule = e.bestRule(w, w.dropBy, fullSet(e.fam))
	default:
		// open: every outside interface admits someone, and together they
		// admit more than half of the address space. Restricted by
		// interface only when some outside interface admits nobody: an
		// accept on every interface but a container bridge is an accept
		// for every outsider. What only a bridge for containers admits
		// never makes a port open; where it admits everyone while the
		// outside interfaces admit a few, the sources are the outsiders'.
		res.Rule = e.bestRule(w, w.accBy, must)
		if everyOutsideAdmits && outMust.fraction() > 0.5 {
			res.Verdict = Open
			w.listInto(&res, listExcept, outMust, true)
			break
		}
		res.Verdict = Restricted
		src := must
		if src.isFull() && live && everyOutsideAdmits {
			// a container bridge admits everyone: say what outsiders get
			src = outMust
			res.Rule = e.bestRule(w, w.accBy, src)
		}
		if !src.isFull() {
			w.listInto(&res, listSources, src, false)
		}
		if !everyOutsideAdmits {
			for _, a := range accepting {
				if a != genericIface {
					res.Interfaces = append(res.Interfaces, a)
				}
			}
		}
	}
	res.Origin = e.origins[res.Rule.String()]
	return res
}

// certainPart is the verdict of what per's interfaces certainly admit,
// when a runtime match puts only some of the sources in doubt: a port open
// to everyone but 10.49.0.0/16, where a rate limit decides, is open (the
// doubt goes in Result.Doubtful). ok is false when nothing is certain.
func (e *Evaluator) certainPart(q Query, proto int, w *walker, per []ifaceSets, followed map[*crule]bool) (Result, bool) {
	sure := make([]ifaceSets, len(per))
	for i, p := range per {
		sure[i] = ifaceSets{name: p.name, must: p.must, may: p.must}
	}
	res := e.resultOf(q, proto, w, sure, followed)
	return res, res.Verdict == Open || res.Verdict == Restricted
}

// bestRule is the rule that decided for most of within; ACCEPTs in the
// filter table come before those of earlier tables (whose policy ACCEPT
// only lets the packet go on).
func (e *Evaluator) bestRule(w *walker, as []attrib, within addrSet) RuleRef {
	type score struct {
		size    float64
		outside bool // it decided for a packet from outside (see below)
		filter  bool
		maybe   bool // every attribution was a rule with a runtime match
		pass    bool // every attribution was a chain that decides nothing (passThrough)
		first   int
		ref     RuleRef // the first attribution's (the pieces of an nft rule share its text)
	}
	// Offline, the generic outside interface stands for the internet: the
	// rule deciding there is the one a reader wants named (Docker's
	// bridges, say, may fall through to a policy). Live, every interface
	// of the host counts alike.
	live := len(e.host.Interfaces) > 0
	scores := map[string]*score{}
	for i, a := range as {
		var sz float64
		switch {
		case a.minus != nil:
			sz = e.sizeWithout(w, a.set, *a.minus, within)
		case within.isFull():
			sz = e.sizeOf(a.set)
		default:
			sz = a.set.intersectSize(within)
		}
		if sz == 0 {
			continue
		}
		key := a.rule.String()
		s := scores[key]
		if s == nil {
			s = &score{first: i, maybe: true, pass: true, ref: a.rule}
			scores[key] = s
		}
		s.size += sz
		s.outside = s.outside || live || a.iface == genericIface
		s.filter = s.filter || a.final
		s.maybe = s.maybe && a.maybe
		s.pass = s.pass && a.pass
	}
	var best RuleRef
	var bs *score
	for _, s := range scores {
		switch {
		case bs == nil,
			s.filter && !bs.filter,
			s.filter == bs.filter && !s.pass && bs.pass,
			s.filter == bs.filter && s.pass == bs.pass && s.outside && !bs.outside,
			s.filter == bs.filter && s.pass == bs.pass && s.outside == bs.outside && !s.maybe && bs.maybe,
			s.filter == bs.filter && s.pass == bs.pass && s.outside == bs.outside && s.maybe == bs.maybe && s.size > bs.size,
			s.filter == bs.filter && s.pass == bs.pass && s.outside == bs.outside && s.maybe == bs.maybe && s.size == bs.size && s.first < bs.first:
			best, bs = s.ref, s
		}
	}
	return best
}

// sizeOf remembers the size of large sets, which batches share between
// queries (sets are immutable, so the first range's address is a key).
func (e *Evaluator) sizeOf(s addrSet) float64 {
	if len(s.r) < 64 {
		return s.size()
	}
	k := sizeKey{&s.r[0], len(s.r)}
	if v, ok := e.sizes.Load(k); ok {
		return v.(float64)
	}
	v := s.size()
	e.sizes.Store(k, v)
	return v
}

// sizeWithout is the size of (s without minus) ∩ within, summed over the
// same ranges in the same order as the size of that set made would be
// (bestRule compares sums), without making it; the size over every
// address is remembered, as sizeOf does, and the size within a set for
// the rest of w's query (the answer over every interface and each
// interface's own ask of the same sets).
func (e *Evaluator) sizeWithout(w *walker, s, minus, within addrSet) float64 {
	if within.isEmpty() {
		return 0
	}
	full := within.isFull()
	var k minusSizeKey
	k.n, k.minus = len(s.r), &minus.r[0]
	if len(s.r) <= len(k.r) {
		copy(k.r[:], s.r)
	} else {
		k.p = &s.r[0]
	}
	if full {
		if v, ok := e.sizes.Load(k); ok {
			return v.(float64)
		}
	} else if w != nil {
		k.within, k.withinN = &within.r[0], len(within.r)
		if v, ok := w.sizes[k]; ok {
			return v
		}
	}
	var n float64
	j := 0
	s.eachDifference(minus, func(r rng) {
		if full {
			n += r.size()
			return
		}
		// the ranges of within that meet r, as eachIntersection
		for j < len(within.r) && within.r[j].hi.less(r.lo) {
			j++
		}
		for k := j; k < len(within.r) && !r.hi.less(within.r[k].lo); k++ {
			lo, hi := r.lo, r.hi
			if lo.less(within.r[k].lo) {
				lo = within.r[k].lo
			}
			if within.r[k].hi.less(hi) {
				hi = within.r[k].hi
			}
			n += rng{lo, hi}.size()
		}
	})
	switch {
	case full:
		e.sizes.Store(k, n)
	case w != nil:
		if w.sizes == nil {
			w.sizes = map[minusSizeKey]float64{}
		}
		w.sizes[k] = n
	}
	return n
}

// minusSizeKey names a set without a ban set, for sizeWithout: a set of
// a few ranges by its ranges (each query makes them anew), a larger one
// and the ban set by their first range's address.
type minusSizeKey struct {
	r     [4]rng
	n     int
	p     *rng
	minus *rng
	// within, for the sizes a query remembers (walker.sizes)
	within  *rng
	withinN int
}

// redirectsTo names a nat rule that sends traffic for another port to
// port, which the per-port evaluation did not follow (followed: those it
// did).
func (e *Evaluator) redirectsTo(proto int, port uint16, followed map[*crule]bool) string {
	for _, cr := range e.nat {
		if followed[cr] {
			continue // walked from its port (translatedFrom)
		}
		if cr.r.m.proto != -1 && (int(cr.r.m.proto) == proto) == cr.r.m.protoNeg {
			continue
		}
		n := cr.r.m.x.nat
		if n == nil || n.bad || !n.hasPort || !inRanges([]PortRange{n.ports}, port) {
			continue
		}
		same := false
		for _, pm := range cr.r.m.x.ports {
			if pm.kind == portDst && !pm.neg && len(pm.ranges) == 1 && pm.ranges[0] == (PortRange{port, port}) {
				same = true // the same port: evaluated as delivered
			}
		}
		if !same {
			return fmt.Sprintf("nat %s to port %d from other ports not evaluated: %s", cr.r.Target, port, cr.r.Text)
		}
	}
	return ""
}

func ifaceLabel(s string) string {
	if s == genericIface {
		return "(any other interface)"
	}
	return s
}

// forwardLeg walks the sources a nat DNAT sent to another host (Docker's
// published ports, port forwards) through the FORWARD chains, as a NEW
// connection in ctstate DNAT to the translated address and port. The route
// to that address is not known, so it is tried on every output interface
// in outIfaces: what any of them accepts counts. It assumes the host
// forwards (net.ipv4.ip_forward), as a DNAT to another host implies.
//
// first is the output interface that first accepts some of away's first
// hit ("" when none does): the one Decide traces.
func (e *Evaluator) forwardLeg(w *walker, pth *path, in *pktCtx, away []awayHit) (must, may addrSet, first string) {
	must, may = emptySet(e.fam), emptySet(e.fam)
	saved := w.p
	defer func() { w.p = saved }()
	for i, h := range away {
		for _, out := range e.outIfacesTo(h.to.Addr()) {
			m, y := e.forwardVia(w, pth, in, h, out)
			if i == 0 && first == "" && !y.isEmpty() {
				first = out
			}
			must, may = must.union(m), may.union(y)
		}
	}
	return must, may, first
}

// forwardVia walks the packet in that nat rule h sent to another host
// through the FORWARD chains, leaving by out: a NEW connection in ctstate
// DNAT to the translated address and port.
func (e *Evaluator) forwardVia(w *walker, pth *path, in *pktCtx, h awayHit, out string) (must, may addrSet) {
	w.p = &pktCtx{proto: in.proto, sport: in.sport, dport: h.to.Port(), in: in.in, out: out,
		dst: h.to.Addr(), dstType: atUnicast, state: stNew | stDNAT, flags: in.flags, icmpType: in.icmpType,
		mark: h.mark, markUnsure: h.markUnsure, origDport: in.origPort(), origDst: in.origAddr()}
	w.forked = false
	drops := h.drops
	if drops.fam == "" {
		drops = emptySet(e.fam)
	}
	return w.pipelineFrom(pth.forward, 0, h.set, drops)
}

// IfaceResult is the answer to a Query for packets arriving on one input
// interface.
type IfaceResult struct {
	Iface string // the interface; "" offline for any the rules do not name
	Result
}

// EvaluateEach answers q as Evaluate does, and on every interface the
// evaluator tells apart (Interfaces), each alone: an accept that holds on
// one interface and a drop on another are kept apart there, where the
// pooled answer says only who gets in somewhere. The list is empty when q
// does not apply to the family.
func (e *Evaluator) EvaluateEach(q Query) (Result, []IfaceResult) {
	var each []IfaceResult
	r := e.evaluate(q, &each)
	return r, each
}
