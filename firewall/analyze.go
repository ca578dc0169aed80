package firewall

import (
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Issue is a rule that can never change the outcome.
type Issue struct {
	// Kind is "duplicate", "shadowed" or "unfinished": the shadow
	// analysis ran out of its budget (AnalysisWork) at Rule, which and
	// whose successors were not tried with packets (a shadowed rule among
	// them may be missing; none is reported wrongly)
	Kind string
	Rule *Rule
	By   *Rule // the earlier rule that makes it dead (duplicate: the first copy)
}

// Analyze finds duplicate rules (the same matches and target as an
// earlier rule of the same chain, comments aside) in every table, and
// shadowed rules in the filter table's INPUT path: rules that no packet
// can reach with its matches true, because earlier rules decide all of
// them.
//
// Shadowing is computed with the evaluator's set walk, not by comparing
// text: for every rule still unseen it builds witness packets from the
// rule's own matches (protocol, ports, interface, destination, state,
// flags), varies each free dimension over the values the rules name one
// at a time, and walks the sources as a set. A rule whose matches hold
// for some witness but which is never reached with a non-empty source set
// is shadowed. A rule can be both a duplicate and shadowed; both are
// reported. The walks are bounded (AnalysisWork): past the bound the
// remaining rules are only checked against duplicates and earlier rules'
// sources, and an "unfinished" issue names the rule where it stopped.
func Analyze(rs *Ruleset) []Issue {
	if rs == nil {
		return nil
	}
	var out []Issue
	for _, t := range rs.Tables {
		for _, c := range t.Chains {
			first := map[string]*Rule{}
			for _, r := range c.Rules {
				k := ruleKey(r)
				if f, ok := first[k]; ok {
					out = append(out, Issue{Kind: "duplicate", Rule: r, By: f})
				} else {
					first[k] = r
				}
			}
		}
	}
	return append(out, shadowed(rs)...)
}

// ruleKey is a rule's matches and target without chain name and comments;
// for an nft rule, its statements without the place (table, chain, handle)
// and comment.
func ruleKey(r *Rule) string {
	if r.Native {
		body := r.Statements()
		if i := strings.Index(body, " comment \""); i >= 0 {
			body = body[:i]
		}
		return body + "\x00" + strconv.Itoa(r.Part())
	}
	var tk tokenizer
	toks, err := tk.split(r.Text)
	if err != nil || len(toks) < 2 {
		return r.Text
	}
	var b strings.Builder
	for i := 2; i < len(toks); i++ {
		if toks[i].s == "-m" && i+1 < len(toks) && toks[i+1].s == "comment" {
			i++
			continue
		}
		if toks[i].s == "--comment" && !toks[i].quoted {
			i++
			continue
		}
		b.WriteString(toks[i].s)
		b.WriteByte(0)
	}
	return b.String()
}

type analyzer struct {
	e       *Evaluator
	chainOf map[*crule]*cchain
	reached map[*crule]bool
	active  map[*crule]bool
	// per walk: the rules matched, in order, per chain (only while by
	// asks)
	seen map[*cchain][]int
	idx  map[*crule]int
	// walked: the packets walked so far; a walk adds to reached and to
	// nothing else, so walking one packet again adds nothing
	walked map[pktCtx]bool
	// scope is the number of rules in the chains judged (what one walk
	// costs, about); work adds it up per walk; cut is the rule at which
	// work passed AnalysisWork
	scope, work int
	cut         *crule
}

func shadowed(rs *Ruleset) []Issue {
	e := NewEvaluator(rs.Family, []*Ruleset{rs}, Host{})
	a := &analyzer{e: e, chainOf: map[*crule]*cchain{}, reached: map[*crule]bool{}, active: map[*crule]bool{}, idx: map[*crule]int{}, walked: map[pktCtx]bool{}}
	// the chains to judge: the filter chains on the input hook (iptables'
	// filter INPUT) and what they reach
	var chains []*cchain
	inScope := map[*cchain]bool{}
	var visit func(c *cchain)
	visit = func(c *cchain) {
		if inScope[c] {
			return
		}
		inScope[c] = true
		chains = append(chains, c)
		for i := range c.rules {
			a.idx[&c.rules[i]] = i
			a.chainOf[&c.rules[i]] = c
			if c.rules[i].to != nil {
				visit(c.rules[i].to)
			}
		}
	}
	for _, c := range e.paths[0].in {
		if c.isFinal() {
			visit(c)
		}
	}
	for _, c := range chains {
		a.scope += len(c.rules)
	}
	dims := a.witnessDims()
	sp, byPass := spacePass(e, dims)
	if byPass {
		a.reached = sp.reached
		a.cut = sp.cut
	}
	var out []Issue
	for _, c := range chains {
		cv := &cover{fam: a.e.fam}
		// first: an earlier rule with the same matches that ends the walk
		// for every packet it matches (no runtime match), by its key
		first := map[string]*Rule{}
		for i := range c.rules {
			cr := &c.rules[i]
			key := ""
			if a.reached[cr] || endsAlways(cr) {
				key = ruleKey(cr.r)
			}
			if a.reached[cr] {
				if _, ok := first[key]; !ok && endsAlways(cr) {
					first[key] = cr.r
				}
				continue
			}
			if r, ok := first[key]; ok && key != "" {
				// the same matches as an earlier rule that accepts or drops
				// whatever it matches: nothing is left for this one
				out = append(out, Issue{Kind: "shadowed", Rule: cr.r, By: r})
				continue
			}
			if endsAlways(cr) {
				first[key] = cr.r
			}
			if r := cv.coveredBy(c, i); r != nil {
				// earlier rules that test nothing but the source, and end
				// the walk, take every source of this one: proven
				out = append(out, Issue{Kind: "shadowed", Rule: cr.r, By: r})
				continue
			}
			if a.cut != nil {
				continue // out of budget: only the proofs above
			}
			if byPass {
				if !sp.active(cr) {
					continue
				}
				// no packet of any class reaches it. Reported where
				// witnesses trying every class could show it, as they did
				// before the set pass: where they could not (too many
				// classes), the rule is left unjudged, so the answers stay
				// the ones they were
				if ws, exact := a.witnessesFor(cr, dims); exact {
					out = append(out, Issue{Kind: "shadowed", Rule: cr.r, By: a.shadower(c, i, ws, true)})
				}
				continue
			}
			ws, exact := a.witnessesFor(cr, dims)
			if !exact {
				// its witnesses do not cover every class: walking them
				// could not prove it shadowed
				continue
			}
			for _, w := range ws {
				if cr.r.m.test(w) == triNo {
					continue
				}
				a.active[cr] = true
				if a.walked[*w] {
					continue // reached already holds what this packet reaches
				}
				if a.work >= AnalysisWork {
					a.cut = cr
					break
				}
				a.walked[*w] = true
				a.walkOne(w)
				if a.reached[cr] {
					break
				}
			}
			if a.active[cr] && !a.reached[cr] && a.cut != cr {
				// no packet of any class the rules tell apart reaches it
				out = append(out, Issue{Kind: "shadowed", Rule: cr.r, By: a.shadower(c, i, ws, false)})
			}
		}
	}
	if a.cut != nil {
		out = append(out, Issue{Kind: "unfinished", Rule: a.cut.r})
	}
	return out
}

// endsAlways: the rule accepts or drops every packet its matches take,
// whatever the runtime state (no limit, recent list, set the packet path
// fills, mark it sets).
func endsAlways(cr *crule) bool {
	x := cr.r.m.x
	return (cr.act == actAccept || cr.act == actDrop) && !cr.r.m.never &&
		(x == nil || (len(x.runtime) == 0 && x.markSet == nil && x.actWhy == "" && x.nat == nil))
}

// cover finds, walking one chain in order, the earlier rules that match on
// nothing but the source and accept or drop: once their sources together
// hold all of a rule's, no packet reaches it. It folds each such rule in
// once (in batches, as later rules ask), so a chain costs one pass, not a
// pass per unreached rule.
type cover struct {
	fam     Family
	next    int     // rules before next are folded into covered or recent
	covered addrSet // the union of their sources, but for recent
	// recent: sources folded in since covered was last made, kept apart
	// while they are few against it, so that one more rule's source does
	// not copy a covered set that holds a ban set's 100,000 ranges
	recent addrSet
}

// by returns the earlier rule of c that completes the cover of rule i's
// sources (nil when they are not covered): the first j < i where the
// sources of rules 0..j hold them all.
func (cv *cover) coveredBy(c *cchain, i int) *Rule {
	ends := func(o *crule) bool { return o.r.m.srcOnly && (o.act == actAccept || o.act == actDrop) }
	if cv.covered.fam == "" {
		cv.covered, cv.recent = emptySet(cv.fam), emptySet(cv.fam)
	}
	if cv.next < i {
		var rs []rng
		for j := cv.next; j < i; j++ {
			if o := &c.rules[j]; ends(o) {
				rs = append(rs, o.src.r...)
			}
		}
		cv.next = i
		if len(rs) > 0 {
			cv.recent = cv.recent.union(setOf(cv.fam, rs))
			if len(cv.recent.r) > max(64, len(cv.covered.r)/8) {
				cv.covered, cv.recent = cv.covered.union(cv.recent), emptySet(cv.fam)
			}
		}
	}
	// within covered ∪ recent: what recent leaves of it within covered
	cr := &c.rules[i]
	if cr.src.isEmpty() || !cr.src.subtract(cv.recent).within(cv.covered) {
		return nil
	}
	// rare (a proven shadow): find the rule that completed the cover
	covered := emptySet(cv.fam)
	for j := 0; j < i; j++ {
		o := &c.rules[j]
		if !ends(o) || !o.src.overlaps(*cr.src) {
			continue
		}
		covered = covered.union(*o.src)
		if cr.src.within(covered) {
			return o.r
		}
	}
	return nil
}

// by names the rule that shadows rule i of c: the last earlier rule
// (other than LOG and the like) that the first witness to reach any
// earlier rule matched. Only a shadowed rule asks, so its witnesses are
// walked again here rather than keeping what every walk matched.
//
// With byPass (the set pass decided which rules are reached, and no rule
// on the path changes a packet or its marks: spaceable), a witness is
// walked only where one of those earlier rules is reached and its matches
// can hold for the witness: a walk of any other witness matches none of
// them and names no rule, so skipping it names the same rule.
func (a *analyzer) shadower(c *cchain, i int, ws []*pktCtx, byPass bool) *Rule {
	defer func() { a.seen = nil }()
	byPass = byPass && skipWalks
	var cands []*crule
	if byPass {
		for j := 0; j < i; j++ {
			if o := &c.rules[j]; o.act != actSkip && a.reached[o] {
				cands = append(cands, o)
			}
		}
		if len(cands) == 0 {
			return nil
		}
	}
	for _, w := range ws {
		if c.rules[i].r.m.test(w) == triNo {
			continue
		}
		if byPass && !slices.ContainsFunc(cands, func(o *crule) bool { return o.r.m.test(w) != triNo }) {
			continue
		}
		a.seen = map[*cchain][]int{}
		a.walkOne(w)
		var by *Rule
		for _, j := range a.seen[c] {
			if j < i && c.rules[j].act != actSkip {
				by = c.rules[j].r
			}
		}
		if by != nil {
			return by
		}
	}
	return nil
}

// skipWalks lets shadower skip the walks that name no rule (a variable
// so that tests can compare with walking them all).
var skipWalks = true

func (a *analyzer) walkOne(p *pktCtx) {
	a.work += a.scope
	q := *p // a walk may translate its packet: the witness stays as it was
	w := &walker{fam: a.e.fam, p: &q, rp: a.e.rp}
	w.nat.local = func(netip.Addr) bool { return true }
	w.onMatch = func(cr *crule) {
		a.reached[cr] = true
		if a.seen != nil {
			if i, ok := a.idx[cr]; ok {
				if c := a.chainOf[cr]; c != nil {
					a.seen[c] = append(a.seen[c], i)
				}
			}
		}
	}
	w.pipeline(a.e.paths[0], fullSet(a.e.fam))
}

func (a *analyzer) witnessDims() dims {
	e := a.e
	var d dims
	protos := map[int]bool{6: true, 17: true, 1: true, 253: true}
	if e.fam == IPv6 {
		delete(protos, 1)
		protos[58] = true
	}
	var dr, sr []PortRange
	icmp := map[int]bool{8: true, 128: true}
	d.used, d.sampled = map[string]bool{}, map[string]bool{}
	e.reachable(func(_ *cchain, cr *crule) {
		m := &cr.r.m
		d.used["proto"] = d.used["proto"] || m.proto != -1 || len(m.x.protos) > 0 || len(m.x.ports) > 0 || len(m.x.icmp) > 0 || len(m.x.flags) > 0
		d.used["in"] = d.used["in"] || m.in.set || len(m.x.ifaces) > 0
		d.used["state"] = d.used["state"] || len(m.x.states) > 0
		d.used["dst"] = d.used["dst"] || m.x.hasDst || m.x.hasOrigDst || len(m.x.addrtype) > 0
		d.used["icmp"] = d.used["icmp"] || len(m.x.icmp) > 0
		d.used["flags"] = d.used["flags"] || len(m.x.flags) > 0
		for _, pm := range m.x.ports {
			d.used["dport"] = d.used["dport"] || pm.kind != portSrc
			d.used["sport"] = d.used["sport"] || pm.kind == portSrc || pm.kind == portEither
		}
		if len(m.x.runtime) > 0 || len(m.x.marks) > 0 || m.x.rpf != nil {
			d.used["other"] = true // runtime state: walked both ways already
		}
		if cr.r.m.proto > 0 {
			protos[int(cr.r.m.proto)] = true
		}
		for _, pm := range cr.r.m.x.ports {
			if pm.kind != portSrc {
				dr = append(dr, pm.ranges...)
			}
			if pm.kind == portSrc || pm.kind == portEither {
				sr = append(sr, pm.ranges...)
			}
		}
		for _, ic := range cr.r.m.x.icmp {
			if ic.typ >= 0 {
				icmp[ic.typ] = true
			}
		}
	})
	// in order: the first witness to meet an earlier rule names the
	// shadowing rule, so the order of the classes must not change between
	// runs
	for p := range protos {
		d.protos = append(d.protos, p)
	}
	slices.Sort(d.protos)
	d.dportAll, d.sportAll = portClasses(dr, 40001), portClasses(sr, defaultSPort)
	d.dports = capPorts(d.dportAll, 256)
	d.sports = capPorts(d.sportAll, 64)
	d.sampled["dport"] = len(d.dportAll) > 256
	d.sampled["sport"] = len(d.sportAll) > 64
	d.ifaces = append(append([]string{}, e.ifaces...), "lo")
	for _, x := range e.dsts {
		d.dsts = append(d.dsts, dstClass{x, atLocal})
	}
	if e.fam == IPv4 {
		d.dsts = append(d.dsts, dstClass{netip.MustParseAddr("192.0.2.200"), atUnicast},
			dstClass{netip.MustParseAddr("224.0.0.251"), atMulticast},
			dstClass{netip.MustParseAddr("255.255.255.255"), atBroadcast},
			dstClass{netip.MustParseAddr("127.0.0.1"), atLocal})
	} else {
		d.dsts = append(d.dsts, dstClass{netip.MustParseAddr("2001:db8:ffff::200"), atUnicast},
			dstClass{netip.MustParseAddr("ff02::fb"), atMulticast},
			dstClass{netip.MustParseAddr("::1"), atLocal})
	}
	d.states = []uint8{stNew, stEstablished, stRelated, stInvalid, stUntracked}
	d.flags = []uint8{tcpSYN, tcpACK, tcpRST, tcpFIN | tcpACK, tcpSYN | tcpACK, 0}
	for t := range icmp {
		d.icmp = append(d.icmp, t)
	}
	slices.Sort(d.icmp)
	return d
}

// ownCap bounds the classes a rule's own match is varied over (a port
// range spanning more classes makes the rule's witnesses inexact: it is
// not judged by them).
const ownCap = 64

// classesIn are the classes of ps (one port each, in order) inside rs.
func classesIn(ps []uint16, rs []PortRange) []uint16 {
	var out []uint16
	for _, r := range rs {
		i := sort.Search(len(ps), func(k int) bool { return ps[k] >= r.Lo })
		for ; i < len(ps) && ps[i] <= r.Hi; i++ {
			out = append(out, ps[i])
			if len(out) > ownCap {
				return out
			}
		}
	}
	return out
}

func capPorts(ps []uint16, n int) []uint16 {
	if len(ps) <= n {
		return ps
	}
	step := float64(len(ps)) / float64(n)
	out := make([]uint16, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, ps[int(float64(i)*step)])
	}
	return out
}

// exhaustive bounds the witnesses of the full product of classes tried for
// one rule before it may be called shadowed.
const exhaustive = 4096

// witnesses are packets satisfying as much of cr's own matches as can be
// read off it, then each free dimension varied one at a time, then pairs,
// then (where it is small enough) every combination of the classes of the
// dimensions the rules test. exact says whether that last walk covers
// every class, so that a rule none of them reaches can never be reached.
func (a *analyzer) witnessesFor(cr *crule, d dims) (ws []*pktCtx, exact bool) {
	m := &cr.r.m
	// start from the generic interface and address: they match no rule
	// that names one
	base := pktCtx{proto: 6, sport: defaultSPort, dport: defaultSPort + 1, in: a.e.ifaces[len(a.e.ifaces)-1], state: stNew, flags: tcpSYN, icmpType: 8}
	if len(a.e.dsts) > 0 {
		base.dst, base.dstType = a.e.dsts[0], atLocal
	}
	if m.proto > 0 && !m.protoNeg {
		base.proto = int(m.proto)
	}
	if base.proto == 58 {
		base.icmpType = 128
	}
	fixed := map[string]bool{}
	if m.proto > 0 && !m.protoNeg {
		fixed["proto"] = true
	}
	// own: the classes of ports inside the ranges that fixed a port
	own := map[string][]uint16{}
	for _, pm := range m.x.ports {
		if pm.neg || len(pm.ranges) == 0 {
			continue
		}
		switch pm.kind {
		case portDst, portEither, portOrigDst:
			base.dport, fixed["dport"] = pm.ranges[0].Lo, true
			own["dport"] = classesIn(d.dportAll, pm.ranges)
		case portSrc:
			base.sport, fixed["sport"] = pm.ranges[0].Lo, true
			own["sport"] = classesIn(d.sportAll, pm.ranges)
		}
	}
	if m.in.set && !m.in.neg {
		base.in, fixed["in"] = m.in.name, true
		if m.in.wild {
			// a name of the wildcard's that no rule names exactly: the
			// named ones are tried below with the rule's other classes
			base.in += "\x7f"
		}
	}
	for _, d := range []struct {
		has bool
		set addrSet
	}{{m.x.hasDst, m.x.dst}, {m.x.hasOrigDst, m.x.origDst}} {
		if d.has && !fixed["dst"] {
			if x, ok := d.set.intersect(normalSpace(a.e.fam)).firstAddr(); ok {
				base.dst, base.dstType, fixed["dst"] = x, atLocal, true
			}
		}
	}
	for _, s := range m.x.states {
		if !s.neg {
			for b := uint8(1); b != 0; b <<= 1 {
				if s.mask&b != 0 {
					base.state, fixed["state"] = b, true
					break
				}
			}
		}
	}
	if base.state != stNew {
		base.flags = tcpACK
	}
	for _, f := range m.x.flags {
		if !f.neg {
			base.flags, fixed["flags"] = f.comp, true
		}
	}
	for _, ic := range m.x.icmp {
		if !ic.neg && ic.typ >= 0 {
			base.icmpType, base.icmpCode, fixed["icmp"] = ic.typ, ic.codeLo, true
		}
	}
	for _, at := range m.x.addrtype {
		if at.dst != 0 && !at.dstNeg {
			for _, dc := range d.dsts {
				if dc.typ&at.dst != 0 {
					base.dst, base.dstType, fixed["dst"] = dc.addr, dc.typ, true
					break
				}
			}
		}
	}
	type dim = witnessDim
	all := []dim{
		{"proto", len(d.protos), func(p *pktCtx, i int) { p.proto = d.protos[i] }},
		{"in", len(d.ifaces), func(p *pktCtx, i int) { p.in = d.ifaces[i] }},
		{"state", len(d.states), func(p *pktCtx, i int) {
			p.state = d.states[i]
			if p.state != stNew && !fixed["flags"] {
				p.flags = tcpACK
			}
		}},
		{"dst", len(d.dsts), func(p *pktCtx, i int) { p.dst, p.dstType = d.dsts[i].addr, d.dsts[i].typ }},
		{"icmp", len(d.icmp), func(p *pktCtx, i int) { p.icmpType = d.icmp[i] }},
		{"flags", len(d.flags), func(p *pktCtx, i int) { p.flags = d.flags[i] }},
		{"dport", len(d.dports), func(p *pktCtx, i int) { p.dport = d.dports[i] }},
		{"sport", len(d.sports), func(p *pktCtx, i int) { p.sport = d.sports[i] }},
	}
	var free, ownDims []dim
	for _, x := range all {
		if !fixed[x.name] {
			free = append(free, x)
		}
	}
	// a dimension fixed above at the rule's first value still varies over
	// the other classes the rule's match holds for: a --dport 1000:2000
	// after a --dport 1000 DROP is reached at 1001, a -i eth+ after a -i
	// eth0 DROP on eth1, a NEW,ESTABLISHED after a NEW DROP with
	// ESTABLISHED
	inexact := false
	for _, x := range all {
		if !fixed[x.name] {
			continue
		}
		var vals []func(p *pktCtx)
		if ps, ok := own[x.name]; ok {
			for _, v := range ps {
				if x.name == "dport" {
					vals = append(vals, func(p *pktCtx) { p.dport = v })
				} else {
					vals = append(vals, func(p *pktCtx) { p.sport = v })
				}
			}
		} else {
			for i := 0; i < x.n; i++ {
				vals = append(vals, func(p *pktCtx) { x.set(p, i) })
			}
		}
		var keep []func(p *pktCtx)
		for _, set := range vals {
			p := base
			set(&p)
			if p != base && m.test(&p) != triNo {
				keep = append(keep, set)
			}
		}
		if len(keep) == 0 {
			continue // the rule's own value is the only class it matches
		}
		if len(keep) > ownCap {
			inexact = true
			continue
		}
		keep = append([]func(p *pktCtx){func(*pktCtx) {}}, keep...)
		ownDims = append(ownDims, dim{x.name, len(keep), func(p *pktCtx, i int) { keep[i](p) }})
	}
	ws, exact = a.vary(base, free, d, nil)
	if len(ownDims) == 0 {
		return ws, exact && !inexact
	}
	// the rule's own classes after the witnesses above, in the same
	// order, so that the first witness to meet an earlier rule (by) stays
	// the one it was wherever those found one
	more, exact := a.vary(base, append(free, ownDims...), d, fixed)
	seen := map[pktCtx]bool{}
	for _, w := range ws {
		seen[*w] = true
	}
	for _, w := range more {
		if !seen[*w] {
			seen[*w] = true
			ws = append(ws, w)
		}
	}
	return ws, exact && !inexact
}

// witnessDim is a dimension witnesses vary: n classes, set puts the i-th
// into a packet.
type witnessDim struct {
	name string
	n    int
	set  func(p *pktCtx, i int)
}

// vary builds witnesses from base: each dimension of free varied alone,
// then pairs of the small ones, then every combination of the classes of
// the dimensions the rules test where there are few enough; exact says
// whether that last covers every class. A dimension the rule fixed
// (fixed) holds the classes its match takes, all of them: not a sample.
func (a *analyzer) vary(base pktCtx, free []witnessDim, d dims, fixed map[string]bool) (out []*pktCtx, exact bool) {
	out = []*pktCtx{&base}
	// one free dimension at a time
	for _, x := range free {
		for i := 0; i < x.n; i++ {
			p := base
			x.set(&p, i)
			out = append(out, &p)
		}
	}
	// then pairs of the small dimensions (ports stay at the base or are
	// varied alone above)
	const pairCap = 16
	for a := 0; a < len(free); a++ {
		for b := a + 1; b < len(free); b++ {
			x, y := free[a], free[b]
			if x.n > pairCap || y.n > pairCap {
				continue
			}
			for i := 0; i < x.n; i++ {
				for j := 0; j < y.n; j++ {
					p := base
					x.set(&p, i)
					y.set(&p, j)
					out = append(out, &p)
				}
			}
		}
	}
	// then every combination of the classes of the dimensions the rules
	// test, within a budget: only that proves a rule unreachable
	var prod []witnessDim
	size := 1
	exact = true
	for _, x := range free {
		if !d.used[x.name] {
			continue // no rule tells packets apart on it: the base value stands for all
		}
		if d.sampled[x.name] && !fixed[x.name] {
			exact = false
		}
		prod = append(prod, x)
		if size *= x.n; size > exhaustive {
			return out, false
		}
	}
	if len(prod) > 2 || len(prod) == 2 && (prod[0].n > pairCap || prod[1].n > pairCap) {
		idx := make([]int, len(prod))
		for {
			p := base
			for k, x := range prod {
				x.set(&p, idx[k])
			}
			out = append(out, &p)
			k := 0
			for ; k < len(prod); k++ {
				if idx[k]++; idx[k] < prod[k].n {
					break
				}
				idx[k] = 0
			}
			if k == len(prod) {
				break
			}
		}
	}
	return out, exact
}
