package firewall

import (
	"container/heap"
	"net/netip"
	"slices"
)

// The set pass of the rule analysis: the chains judged are walked once per
// place they are entered, carrying the packets still unmatched as a set
// (a union of boxes over the dimensions the rules tell packets apart by),
// and a rule is reached when the packets that come to it meet its
// matches. Where the witnesses tried every class of packet, this is what
// they find; it costs a pass per chain instead of a walk of every chain
// per class.

// AnalysisWork bounds the shadow analysis of one ruleset, in rules
// walked (a variable so that tests can lower it): each packet tried costs
// a walk of the chains in scope, and a large ruleset with many classes of
// packets would otherwise take minutes. 200 million is a few seconds; 2,000 generated nft rules need
// 160 million. Past it, rules are still checked for duplicates and for
// shadowing by earlier rules' sources, not with packets (Issue
// "unfinished").
var AnalysisWork = 200_000_000

// dstClass is a class of destinations: an address standing for it and
// its address type.
type dstClass struct {
	addr netip.Addr
	typ  uint16
}

// dims are the classes of packets the witnesses try, per dimension.
type dims struct {
	protos []int
	dports []uint16
	sports []uint16
	ifaces []string
	dsts   []dstClass
	states []uint8
	flags  []uint8
	icmp   []int
	// used: the dimensions some rule tests (the others cannot tell two
	// packets apart); sampled: a dimension whose classes were cut to a
	// sample, so the walk over them proves nothing
	used    map[string]bool
	sampled map[string]bool
	// dportAll, sportAll: every class of ports, one port each, in order
	// (dports and sports are a sample of them)
	dportAll, sportAll []uint16
}

// The small dimensions of a box, each a set of classes (bit k: class k).
const (
	dimProto = iota
	dimIn
	dimState
	dimDst
	dimFlags
	dimICMP
	nDims
)

// maxClasses is the most classes a small dimension may have (one word).
const maxClasses = 64

// spaceClasses are the classes of each small dimension: the values the
// witnesses take, and each rule's own.
type spaceClasses struct {
	protos []int
	ifaces []string
	states []uint8
	dsts   []dstClass
	flags  []uint8
	icmp   [][2]int // type, code
	all    [nDims]uint64
}

// portSet is a sorted list of disjoint port ranges.
type portSet []PortRange

var allPorts = portSet{{0, 65535}}

func (s portSet) intersect(t portSet) portSet {
	var out portSet
	i, j := 0, 0
	for i < len(s) && j < len(t) {
		lo, hi := max(s[i].Lo, t[j].Lo), min(s[i].Hi, t[j].Hi)
		if lo <= hi {
			out = append(out, PortRange{lo, hi})
		}
		if s[i].Hi < t[j].Hi {
			i++
		} else {
			j++
		}
	}
	return out
}

func (s portSet) overlaps(t portSet) bool {
	i, j := 0, 0
	for i < len(s) && j < len(t) {
		if max(s[i].Lo, t[j].Lo) <= min(s[i].Hi, t[j].Hi) {
			return true
		}
		if s[i].Hi < t[j].Hi {
			i++
		} else {
			j++
		}
	}
	return false
}

func (s portSet) complement() portSet {
	var out portSet
	next := 0
	for _, r := range s {
		if int(r.Lo) > next {
			out = append(out, PortRange{uint16(next), r.Lo - 1})
		}
		next = int(r.Hi) + 1
	}
	if next <= 65535 {
		out = append(out, PortRange{uint16(next), 65535})
	}
	return out
}

func (s portSet) subtract(t portSet) portSet { return s.intersect(t.complement()) }

func (s portSet) isAll() bool { return len(s) == 1 && s[0] == allPorts[0] }

// normPorts sorts and merges ranges into a portSet.
func normPorts(rs []PortRange) portSet {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b PortRange) int { return int(a.Lo) - int(b.Lo) })
	var out portSet
	for _, r := range rs {
		if n := len(out); n > 0 && int(r.Lo) <= int(out[n-1].Hi)+1 {
			out[n-1].Hi = max(out[n-1].Hi, r.Hi)
			continue
		}
		out = append(out, r)
	}
	return out
}

// rulePart is a rule's match as boxes (one, or two for a port match on
// either port), the source set apart; maybe: it depends on runtime state.
type rulePart struct {
	boxes  []pbox
	src    addrSet
	maybe  bool
	srcAll bool // the boxes hold every class and port: a match on the source alone
}

// pbox is a box of a rule's match: the box, for the destination ports
// of the classes in dport.
type pbox struct {
	box
	dport portSet // classes of destination ports (dportClasses)
}

// setPass walks the chains judged with sets of packets.
type setPass struct {
	fam     Family
	cl      spaceClasses
	dc      dportClasses
	parts   map[*crule]*rulePart
	within  map[partIn]*rulePart
	reached map[*crule]bool
	stamp   uint64
	inlined int // jumps walked within the jump (for tests)
	// work counts box operations; past AnalysisWork (at boxOpCost each)
	// the pass stops and cut
	// names the rule it was at
	work int
	cut  *crule
}

// boxOpCost is what one box operation counts for against AnalysisWork,
// in rules walked: about their ratio in time (a box operation is some
// microseconds, a rule walked some tens of nanoseconds), so that the bound
// stops the set pass after about as many seconds as the witness walks.
const boxOpCost = 20

// spaceable reports whether the set pass models the input path of e: one
// filter chain on the input hook decides, every other chain on the way has
// no rules and accepts, and no rule in the chains judged sets a mark, is
// a reverse-path check, a NAT or a NOTRACK (rules that change the packet
// or its later matches are left to the witness walks).
func spaceable(e *Evaluator) (*cchain, bool) {
	var root *cchain
	for _, c := range e.paths[0].input() {
		if c.passThrough() {
			continue
		}
		if root != nil || !c.isFinal() {
			return nil, false
		}
		root = c
	}
	if root == nil {
		return nil, false
	}
	ok := true
	visitRules([]*cchain{root}, func(_ *cchain, cr *crule) {
		x := cr.r.m.x
		if x.markSet != nil || x.rpf != nil || cr.act == actNAT || isNotrack(cr.r) || x.nat != nil {
			ok = false
		}
	})
	return root, ok
}

// classesFor lists the classes of each small dimension: those of d (the
// witnesses' values) and each rule's own first value, as the witnesses
// fix it. ok is false when a dimension has more than maxClasses.
func classesFor(e *Evaluator, d dims) (cl spaceClasses, ok bool) {
	cl.protos = slices.Clone(d.protos)
	cl.ifaces = slices.Clone(d.ifaces)
	cl.states = slices.Clone(d.states)
	cl.dsts = slices.Clone(d.dsts)
	cl.flags = slices.Clone(d.flags)
	for _, t := range d.icmp {
		cl.icmp = append(cl.icmp, [2]int{t, 0})
	}
	addIface := func(n string) {
		if !slices.Contains(cl.ifaces, n) {
			cl.ifaces = append(cl.ifaces, n)
		}
	}
	e.reachable(func(_ *cchain, cr *crule) {
		m := &cr.r.m
		if m.in.set && !m.in.neg {
			if m.in.wild {
				addIface(m.in.name + "\x7f")
			} else {
				addIface(m.in.name)
			}
		}
		for _, dd := range []struct {
			has bool
			set addrSet
		}{{m.x.hasDst, m.x.dst}, {m.x.hasOrigDst, m.x.origDst}} {
			if dd.has {
				if x, ok := dd.set.intersect(normalSpace(e.fam)).firstAddr(); ok && !slices.Contains(cl.dsts, dstClass{x, atLocal}) {
					cl.dsts = append(cl.dsts, dstClass{x, atLocal})
				}
			}
		}
		for _, s := range m.x.states {
			if !s.neg {
				for b := uint8(1); b != 0; b <<= 1 {
					if s.mask&b != 0 {
						if !slices.Contains(cl.states, b) {
							cl.states = append(cl.states, b)
						}
						break
					}
				}
			}
		}
		for _, f := range m.x.flags {
			if !f.neg && !slices.Contains(cl.flags, f.comp) {
				cl.flags = append(cl.flags, f.comp)
			}
		}
		for _, ic := range m.x.icmp {
			if !ic.neg && ic.typ >= 0 {
				if k := [2]int{ic.typ, ic.codeLo}; !slices.Contains(cl.icmp, k) {
					cl.icmp = append(cl.icmp, k)
				}
			}
		}
	})
	n := [nDims]int{len(cl.protos), len(cl.ifaces), len(cl.states), len(cl.dsts), len(cl.flags), len(cl.icmp)}
	for d, k := range n {
		if k > maxClasses || k == 0 {
			return cl, false
		}
		cl.all[d] = mask64n(k)
	}
	return cl, true
}

func mask64n(k int) uint64 {
	if k >= 64 {
		return ^uint64(0)
	}
	return 1<<k - 1
}

// part is cr's match as boxes, or nil when it matches no packet of any
// class.
func (sp *setPass) part(cr *crule) *rulePart {
	if p, ok := sp.parts[cr]; ok {
		return p
	}
	p := sp.makePart(cr)
	sp.parts[cr] = p
	return p
}

func (sp *setPass) makePart(cr *crule) *rulePart {
	m := &cr.r.m
	x := m.x
	cl := &sp.cl
	if m.never || m.frag == 1 || !x.out.test("") {
		return nil
	}
	var b pbox
	for k, pr := range cl.protos {
		ok := m.proto == -1 || (pr == int(m.proto)) != m.protoNeg
		for _, pc := range x.protos {
			ok = ok && pc.has(pr) != pc.neg
		}
		if len(x.ports) > 0 && !portProtos[pr] || (len(x.flags) > 0 || len(x.tcpOpts) > 0) && pr != 6 ||
			len(x.icmp) > 0 && pr != 1 && pr != 58 {
			ok = false
		}
		if ok {
			b.m[dimProto] |= 1 << k
		}
	}
	for k, n := range cl.ifaces {
		ok := m.in.test(n)
		for _, ic := range x.ifaces {
			ok = ok && ic.test(n, "")
		}
		if ok {
			b.m[dimIn] |= 1 << k
		}
	}
	for k, s := range cl.states {
		ok := true
		for _, c := range x.states {
			ok = ok && (s&c.mask != 0) != c.neg
		}
		if ok {
			b.m[dimState] |= 1 << k
		}
	}
	for k, dc := range cl.dsts {
		ok := (!x.hasDst || x.dst.contains(dc.addr)) && (!x.hasOrigDst || x.origDst.contains(dc.addr))
		for _, a := range x.addrtype {
			ok = ok && (a.dst == 0 || (dc.typ&a.dst != 0) != a.dstNeg)
		}
		if ok {
			b.m[dimDst] |= 1 << k
		}
	}
	for k, fl := range cl.flags {
		ok := true
		for _, f := range x.flags {
			hit := fl&f.mask == f.comp
			if f.any {
				hit = fl&f.mask != 0
			}
			ok = ok && hit != f.neg
		}
		for _, o := range x.tcpOpts {
			ok = ok && o.test(fl)
		}
		if ok {
			b.m[dimFlags] |= 1 << k
		}
	}
	for k, tc := range cl.icmp {
		ok := true
		for _, ic := range x.icmp {
			hit := (ic.typ == -1 || ic.typ == tc[0]) && tc[1] >= ic.codeLo && tc[1] <= ic.codeHi
			if ic.set != nil {
				t := tc[0]
				hit = t >= 0 && t < 256 && ic.set[t/64]&(1<<(t%64)) != 0
			}
			ok = ok && hit != ic.neg
		}
		if ok {
			b.m[dimICMP] |= 1 << k
		}
	}
	for _, mm := range x.marks {
		if !mm.test(0) {
			return nil // no rule on the way sets a mark (spaceable)
		}
	}
	for d := range b.m {
		if b.m[d] == 0 {
			return nil
		}
	}
	b.dport, b.sport = allPorts, allPorts
	var either []portSet
	for _, pm := range x.ports {
		s := normPorts(pm.ranges)
		if pm.neg {
			s = s.complement()
		}
		switch {
		case pm.kind == portSrc:
			b.sport = b.sport.intersect(s)
		case pm.kind == portEither && !pm.neg:
			either = append(either, s)
		case pm.kind == portEither:
			b.dport, b.sport = b.dport.intersect(s), b.sport.intersect(s)
		default: // portDst, portOrigDst: no translation on the way (spaceable)
			b.dport = b.dport.intersect(s)
		}
	}
	boxes := []pbox{b}
	for _, s := range either {
		// the destination port in s, or (not) and the source port in s
		var next []pbox
		for _, o := range boxes {
			d := o
			d.dport = o.dport.intersect(s)
			e := o
			e.dport = o.dport.subtract(s)
			e.sport = o.sport.intersect(s)
			next = append(next, d, e)
		}
		boxes = next
	}
	var keep []pbox
	for _, o := range boxes {
		if len(o.dport) > 0 && len(o.sport) > 0 {
			keep = append(keep, o)
		}
	}
	if len(keep) == 0 {
		return nil
	}
	p := &rulePart{boxes: keep, src: *cr.src, maybe: len(x.runtime) > 0}
	p.srcAll = len(keep) == 1 && keep[0].m == cl.all && keep[0].dport.isAll() && keep[0].sport.isAll()
	for i := range keep {
		// the bounds of every rule's ports are the classes' (spacePass)
		keep[i].dport = sp.dc.classes(keep[i].dport)
	}
	return p
}

// partIn is a rule walked within a jump whose match is ctx.
type partIn struct {
	cr  *crule
	ctx *rulePart
}

// partOf is cr's match as boxes where its chain is walked within a jump
// whose match is ctx (nil: none), or nil when they share no packet.
func (sp *setPass) partOf(cr *crule, ctx *rulePart) *rulePart {
	p := sp.part(cr)
	if ctx == nil || p == nil {
		return p
	}
	k := partIn{cr, ctx}
	if q, ok := sp.within[k]; ok {
		return q
	}
	q := p.and(ctx)
	sp.within[k] = q
	return q
}

// and is the packets of p and of q, or nil when there are none.
func (p *rulePart) and(q *rulePart) *rulePart {
	src := p.src.intersect(q.src)
	if src.isEmpty() {
		return nil
	}
	var boxes []pbox
	for _, a := range p.boxes {
		for _, b := range q.boxes {
			var o pbox
			ok := true
			for d := range o.m {
				o.m[d] = a.m[d] & b.m[d]
				ok = ok && o.m[d] != 0
			}
			o.dport, o.sport = a.dport.intersect(b.dport), a.sport.intersect(b.sport)
			if ok && len(o.dport) > 0 && len(o.sport) > 0 {
				boxes = append(boxes, o)
			}
		}
	}
	if len(boxes) == 0 {
		return nil
	}
	return &rulePart{boxes: boxes, src: src, maybe: p.maybe || q.maybe, srcAll: p.srcAll && q.srcAll}
}

// meets reports whether some packet of r is in p: a box of r, in a class
// of destination ports of a box of p, shares the other classes and ports
// with it and a source of p that r still holds.
func (sp *setPass) meets(r *region, p *rulePart) bool {
	for j := range p.boxes {
		pb := &p.boxes[j]
		sp.stamp++
		for _, sr := range pb.dport {
			if sr.Lo > sp.dc.last() {
				break
			}
			a, b := runAt(r.runs, sr.Lo), runAt(r.runs, min(sr.Hi, sp.dc.last()))
			for i := a; i <= b; i++ {
				bk := r.runs[i].b
				if bk == nil || bk.seen == sp.stamp {
					continue
				}
				bk.seen = sp.stamp
				for k := range bk.boxes {
					sp.work++
					if bk.boxes[k].othersMeet(&pb.box) && srcMeets(bk.boxes[k].src, p.src, &r.gone) {
						return true
					}
				}
			}
		}
	}
	return false
}

// srcMeets: some address is in a and b and not in gone.
func srcMeets(a, b addrSet, gone *goneSet) bool {
	found := false
	if len(a.r) > len(b.r) {
		a, b = b, a
	}
	for _, x := range a.r {
		lo, hi := b.span(x.lo, x.hi)
		for k := lo; k < hi; k++ {
			y := b.r[k]
			r := rng{maxU128(x.lo, y.lo), minU128(x.hi, y.hi)}
			if r.hi.less(r.lo) {
				continue
			}
			if gone == nil || !gone.covers(r) {
				found = true
				return found
			}
		}
	}
	return found
}

func maxU128(a, b u128) u128 {
	if a.less(b) {
		return b
	}
	return a
}

func minU128(a, b u128) u128 {
	if a.less(b) {
		return a
	}
	return b
}

// take returns the packets of r that p matches (only when keep; less r's
// gone, as their region's up) and, when cut, r less them.
func (sp *setPass) take(r *region, p *rulePart, cut, keep bool) (matched region) {
	if cut && p.srcAll && !keep {
		r.gone.add(p.src)
		return matched
	}
	matched.gone.up = &r.gone
	if keep {
		matched.runs = []run{{0, nil}}
	}
	for j := range p.boxes {
		pb := &p.boxes[j]
		ins := sp.mapRuns(r, pb.dport, keep, func(bk *bucket) (in, out *bucket) {
			var inB, outB []box
			touched := false
			for _, a := range bk.boxes {
				sp.work++
				i, o := splitBox(a, &pb.box, p.src)
				if i == nil {
					outB = append(outB, a)
					continue
				}
				touched = true
				outB = append(outB, o...)
				if keep {
					inB = append(inB, *i)
				}
			}
			if keep {
				in = sp.newBucket(inB, 0)
			}
			if !cut || !touched {
				return in, bk
			}
			return in, sp.newBucket(outB, bk.merged)
		})
		if keep {
			// the pieces of p's boxes are disjoint: their in parts add up
			matched.runs = sp.union(matched.runs, ins)
		}
	}
	return matched
}

// inlineable: a chain walked from a jump that ends the walk for what it
// matches can be walked within the jump, on the caller's region: it has
// no goto and no return but, perhaps, one that is its last rule and
// matches every packet.
func (sp *setPass) inlineable(c *cchain) bool {
	for i := range c.rules {
		cr := &c.rules[i]
		switch cr.act {
		case actGoto:
			return false
		case actReturn:
			if i != len(c.rules)-1 || !sp.matchesAll(cr) {
				return false
			}
		}
	}
	return true
}

// matchesAll: cr matches every packet, whatever the runtime state.
func (sp *setPass) matchesAll(cr *crule) bool {
	p := sp.part(cr)
	return p != nil && p.srcAll && !p.maybe && p.src.isFull()
}

// walk passes r through chain c and returns what returns from it (for a
// base chain: nothing). It marks every rule r reaches. With ctx, c is
// walked within a jump whose match is ctx, on the caller's region: each
// rule matches what it and ctx both match, what it takes leaves the
// caller's region, and what falls off c's end is still there (nothing
// is returned).
func (sp *setPass) walk(c *cchain, r *region, ctx *rulePart, depth int) region {
	var ret region
	if depth >= maxDepth {
		return ret // a loop: the walker stops there too
	}
	for i := 0; i < len(c.rules); i++ {
		if sp.cut != nil {
			return ret
		}
		if r.empty() {
			break
		}
		cr := &c.rules[i]
		if sp.work*boxOpCost >= AnalysisWork {
			sp.cut = cr
			return ret
		}
		if k := sp.srcRun(c, i, r, ctx); k > i {
			i = k - 1
			continue
		}
		p := sp.partOf(cr, ctx)
		if p == nil || !sp.meets(r, p) {
			continue
		}
		sp.reached[cr] = true
		if cr.act == actSkip {
			continue
		}
		cut := !p.maybe && cr.act != actUnknown
		switch cr.act {
		case actAccept, actDrop:
			if cut {
				sp.take(r, p, true, false)
			}
		case actReturn:
			if ctx != nil {
				return ret // the last rule (inlineable): the rest goes on in the caller
			}
			m := sp.take(r, p, cut, true)
			ret.runs = sp.unionRuns(ret.runs, sp.materialize(region{runs: m.runs, gone: r.gone}))
		case actJump, actGoto:
			if cut && cr.act == actJump && sp.inlineable(cr.to) {
				sp.inlined++
				sp.walk(cr.to, r, p, depth+1)
				continue
			}
			m := sp.take(r, p, cut, true)
			back := sp.walk(cr.to, &m, nil, depth+1)
			if !cut {
				continue // what comes back is still in r
			}
			// what comes back is as this walk holds it (less its gone)
			if cr.act == actJump {
				r.runs = sp.unionRuns(r.runs, back.runs)
			} else {
				// a goto: it returns to this chain's caller, which does
				// not see this walk's gone
				ret.runs = sp.unionRuns(ret.runs, sp.materialize(region{runs: back.runs, gone: r.gone}))
			}
		}
	}
	if !c.builtin && ctx == nil {
		ret.runs = sp.unionRuns(ret.runs, sp.materialize(*r))
	}
	return ret
}

// unionRuns is union where either may be no runs at all (nothing).
func (sp *setPass) unionRuns(a, b []run) []run {
	switch {
	case len(a) == 0:
		return b
	case len(b) == 0:
		return a
	}
	return sp.union(a, b)
}

// spacePass runs the set pass over root; ok is false where it does not
// model the input path (spaceable) or a dimension has too many classes.
func spacePass(e *Evaluator, d dims) (sp *setPass, ok bool) {
	root, ok := spaceable(e)
	if !ok {
		return nil, false
	}
	cl, ok := classesFor(e, d)
	if !ok {
		return nil, false
	}
	// the classes of destination ports: cut at the bounds of every port
	// match a rule in scope has on them
	var bounds []PortRange
	visitRules([]*cchain{root}, func(_ *cchain, cr *crule) {
		for _, pm := range cr.r.m.x.ports {
			if pm.kind != portSrc {
				bounds = append(bounds, pm.ranges...)
			}
		}
	})
	sp = &setPass{fam: e.fam, cl: cl, dc: newDportClasses(bounds), parts: map[*crule]*rulePart{}, within: map[partIn]*rulePart{}, reached: map[*crule]bool{}}
	all := box{m: cl.all, sport: allPorts, src: fullSet(e.fam)}
	r := region{runs: []run{{0, &bucket{boxes: []box{all}, merged: 1}}}}
	sp.walk(root, &r, nil, 0)
	return sp, true
}

// active: some packet of some class matches cr, the source aside.
func (sp *setPass) active(cr *crule) bool { return sp.part(cr) != nil }

// A run of rules that match on the source alone and accept or drop (a
// blocklist of 100,000 -s x/32 -j DROP) is taken in one sweep: a rule is
// reached where it is the first of the run to hold an address the region
// still has, and the region loses the union of their sources at once.
// Taken one by one, each rule would cost a pass over every source taken
// before it.

// srcRunRule: cr's match is its source alone and it ends the walk for
// whatever it matches.
func (sp *setPass) srcRunRule(cr *crule, ctx *rulePart) bool {
	p := sp.partOf(cr, ctx)
	return p != nil && p.srcAll && !p.maybe && (cr.act == actAccept || cr.act == actDrop)
}

// srcRun takes the rules of c from i on that srcRunRule holds for (and
// rules that match nothing, between them) and returns the index after
// them; runs shorter than minSrcRun are left to the rule-by-rule walk
// (returns i).
func (sp *setPass) srcRun(c *cchain, i int, r *region, ctx *rulePart) int {
	j := i
	n := 0
	for j < len(c.rules) {
		cr := &c.rules[j]
		if sp.partOf(cr, ctx) == nil {
			j++
			continue
		}
		if !sp.srcRunRule(cr, ctx) {
			break
		}
		n++
		j++
	}
	if n < minSrcRun {
		return i
	}
	boxes := sp.boxesOf(r)
	sp.work += len(boxes) + (j - i)
	type piece struct {
		rng
		k int
	}
	var ps []piece
	var all []rng
	for k := i; k < j; k++ {
		if p := sp.partOf(&c.rules[k], ctx); p != nil {
			for _, x := range p.src.r {
				ps = append(ps, piece{x, k})
			}
			all = append(all, p.src.r...)
		}
	}
	sp.work += len(ps)
	slices.SortFunc(ps, func(a, b piece) int { return a.lo.cmp(b.lo) })
	// sweep the pieces' bounds: between two, the first rule of the run
	// holding the addresses owns them
	top := maxU(sp.fam)
	bounds := make([]u128, 0, 2*len(ps))
	for _, p := range ps {
		bounds = append(bounds, p.lo)
		if p.hi != top {
			bounds = append(bounds, p.hi.inc())
		}
	}
	slices.SortFunc(bounds, func(a, b u128) int { return a.cmp(b) })
	bounds = slices.Compact(bounds)
	var act ownerHeap
	at := 0
	for bi, lo := range bounds {
		for at < len(ps) && ps[at].lo.cmp(lo) <= 0 {
			heap.Push(&act, ownerItem{ps[at].hi, ps[at].k})
			at++
		}
		for len(act) > 0 && act[0].hi.less(lo) {
			heap.Pop(&act)
		}
		if len(act) == 0 {
			continue
		}
		hi := top
		if bi+1 < len(bounds) {
			hi = bounds[bi+1].dec()
		}
		if cr := &c.rules[act[0].k]; !sp.reached[cr] {
			// reached if some box still holds some of [lo, hi]
			seg := addrSet{fam: sp.fam, r: []rng{{lo, hi}}}
			for b := range boxes {
				sp.work++
				if srcMeets(seg, boxes[b].src, &r.gone) {
					sp.reached[cr] = true
					break
				}
			}
		}
	}
	r.gone.add(setOf(sp.fam, all))
	return j
}

// boxesOf is the boxes of r's buckets, each bucket once.
func (sp *setPass) boxesOf(r *region) []*box {
	sp.stamp++
	var out []*box
	for _, x := range r.runs {
		if x.b == nil || x.b.seen == sp.stamp {
			continue
		}
		x.b.seen = sp.stamp
		for k := range x.b.boxes {
			out = append(out, &x.b.boxes[k])
		}
	}
	return out
}

// minSrcRun is the shortest run of source-only rules swept together.
const minSrcRun = 8

// ownerItem is a piece of a rule's sources in the sweep: it ends at hi.
type ownerItem struct {
	hi u128
	k  int
}

// ownerHeap orders the pieces covering the sweep's position by rule, so
// that the first is the owner; pieces that ended are dropped lazily.
type ownerHeap []ownerItem

func (h ownerHeap) Len() int           { return len(h) }
func (h ownerHeap) Less(i, j int) bool { return h[i].k < h[j].k }
func (h ownerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *ownerHeap) Push(x any)        { *h = append(*h, x.(ownerItem)) }
func (h *ownerHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// goneSet is the sources a region has lost to rules that match on the
// source alone: sorted sets in layers, each at most half the size of the
// one before, so that adding a blocklist's worth of them in many small
// runs costs about n log n, not n per run.
//
// A chain walked from a jump sees what its caller has lost too (up), but
// adds only to its own layers, so that what it returns can be put back
// into the caller's region as the caller holds it.
type goneSet struct {
	layers []addrSet
	up     *goneSet
}

// add puts s among the sources gone.
func (g *goneSet) add(s addrSet) {
	if s.isEmpty() {
		return
	}
	g.layers = append(g.layers, s)
	for n := len(g.layers); n >= 2 && 2*len(g.layers[n-1].r) >= len(g.layers[n-2].r); n = len(g.layers) {
		g.layers[n-2] = g.layers[n-2].union(g.layers[n-1])
		g.layers = g.layers[:n-1]
	}
}

// fromOwn is s less the sources gone in this chain's walk (not up).
func (g *goneSet) fromOwn(s addrSet) addrSet {
	for _, l := range g.layers {
		if s.isEmpty() {
			break
		}
		if len(s.r)*8 < len(l.r) {
			s = addrSet{fam: s.fam, r: cutOut(s.r, l)}
		} else {
			s = s.subtract(l)
		}
	}
	return s
}

// cutOut is rs less l, found by searching l for each range of rs (rs
// is much the smaller); touching pieces stay apart only where they were.
func cutOut(rs []rng, l addrSet) []rng {
	var out []rng
	for _, x := range rs {
		lo, hi := l.span(x.lo, x.hi)
		cur := x
		done := false
		for k := lo; k < hi; k++ {
			y := l.r[k]
			if y.hi.less(cur.lo) || cur.hi.less(y.lo) {
				continue // touches only
			}
			if cur.lo.less(y.lo) {
				out = append(out, rng{cur.lo, y.lo.dec()})
			}
			if !y.hi.less(cur.hi) {
				done = true
				break
			}
			cur.lo = y.hi.inc()
		}
		if !done {
			out = append(out, cur)
		}
	}
	return out
}

// covers: every address of r is gone. It steps from r's first address
// to the furthest end of a gone range holding it, and on from the address
// after that, so that the first address not gone ends the search: a
// range of the whole space that a ban set leaves in pieces costs a few
// searches, not a copy of the pieces.
func (g *goneSet) covers(r rng) bool {
	pos := r.lo
	for {
		var end u128
		held := false
		for h := g; h != nil; h = h.up {
			for _, l := range h.layers {
				i := sortSearch(len(l.r), func(k int) bool { return !l.r[k].hi.less(pos) })
				if i < len(l.r) && !pos.less(l.r[i].lo) && (!held || end.less(l.r[i].hi)) {
					end, held = l.r[i].hi, true
				}
			}
		}
		if !held {
			return false
		}
		if !end.less(r.hi) {
			return true
		}
		pos = end.inc()
	}
}
