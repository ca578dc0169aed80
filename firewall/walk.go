package firewall

import (
	"net/netip"
	"slices"
)

// walkRes is the fate of a set of sources entering a chain, as "may" sets:
// a source in more than one set has several possible fates (a runtime
// match went both ways) and its verdict is conditional.
type walkRes struct {
	acc, drop, ret addrSet
}

// attrib remembers which rule accepted or dropped which sources.
type attrib struct {
	rule  RuleRef
	final bool // decided in a chain whose accept is worth naming (cchain.isFinal)
	set   addrSet
	maybe bool   // the rule has a runtime match: it may not have decided
	iface string // the input interface of the packet it decided
	// pass: the ACCEPT policy of a chain with no rules (passThrough),
	// named only when nothing else in as final a chain decided
	pass bool
}

// walker walks sets of sources through chains for one packet context.
type walker struct {
	fam     Family
	p       *pktCtx
	nat     natCtx
	reasons []reason
	accBy   []attrib
	dropBy  []attrib
	depth   int
	hook    *cchain // the base chain being walked
	// forked is set once a source set went both ways (a runtime match or
	// a target of unknown effect). Before that every source has one path,
	// so a drop cannot meet an accept and drop sets need not be kept.
	forked bool
	// untracked collects sources a raw-table NOTRACK (or CT --notrack)
	// rule matched: from then on their state is UNTRACKED, not NEW
	untracked addrSet
	// rp answers reverse-path checks (nil: routes not known)
	rp *routeTable
	// markHits collects, per hook, the sources rules set a mark on, in
	// order: a later match on the same hook, and every later hook, sees
	// each source with its own mark (see classes)
	markHits []markHit
	inClass  bool
	// scratch for batches
	isActive []bool
	active   []int32
	// shadow analysis: called for every rule reached with a non-empty
	// matching set
	onMatch func(cr *crule)
	// tr traces the walk of one packet (Decide): every rule it meets,
	// the rule or policy that decided each base chain, and each runtime
	// match's two ways walked apart. Batches are off while it traces.
	tr *tracer
}

// markHit is a set of sources a rule set the mark of.
type markHit struct {
	op    markOp
	set   addrSet
	maybe bool // the rule's match depended on runtime state
}

type reason struct {
	why string
	set addrSet
}

type natCtx struct {
	local func(a netip.Addr) bool // is this DNAT address one of the host's?
	// wildcard: the socket is bound to the unspecified address, so it also
	// receives what is DNATed to a loopback address
	wildcard bool
	// target: a loopback-bound socket reached only through a DNAT to this
	// address (route_localnet); hit collects the sources so translated
	target netip.Addr
	port   uint16
	hit    addrSet
	// follow: the walk is of a packet sent to another port, and the
	// socket (on port) sees what a translation to this host sends there
	// (localTo): a REDIRECT or DNAT from the port the client used.
	// hitDst is where that translation sent it.
	follow bool
	hitDst netip.Addr
	// done: a nat hook already translated the packet; later nat chains
	// on the way in do not translate it again
	done bool
	// away collects the sources a DNAT sent to another host, with where
	// to: they leave the input path for FORWARD (Docker's published
	// ports). awayTo is natSame's scratch answer for the rule at hand.
	away   []awayHit
	awayTo netip.AddrPort
	// here, set when one packet is followed (Decide): a translation to
	// this host (localTo, with here telling its addresses) moves the
	// packet to hitDst:hitPort, and it goes on to INPUT
	here    func(a netip.Addr) bool
	hitPort uint16
}

// awayHit is a set of sources a nat rule forwarded to another host.
type awayHit struct {
	to   netip.AddrPort
	rule *crule
	base *cchain // the base chain it is in
	set  addrSet
	// drops are the sources that may have been dropped before the nat
	// hook (raw, mangle): they are not surely forwarded
	drops addrSet
	// the packet's mark when it was translated
	mark       uint32
	markUnsure bool
}

const maxDepth = 64

func (w *walker) empty() addrSet { return emptySet(w.fam) }

func (w *walker) walk(c *cchain, x addrSet) walkRes {
	return w.walkFrom(c, 0, x, walkRes{acc: w.empty(), drop: w.empty(), ret: w.empty()})
}

// walkFrom walks x through the rules of c from rule k on, adding to res
// what becomes of it, and ends the chain as the kernel does (a base
// chain's policy, a regular chain's return).
func (w *walker) walkFrom(c *cchain, k int, x addrSet, res walkRes) walkRes {
	if w.depth >= maxDepth || (w.tr != nil && w.tr.budget <= 0) {
		// iptables refuses loops; a file given to us may still hold one
		res.acc, res.drop = res.acc.union(x), res.drop.union(x)
		why := "chain " + c.name + " nested too deep (loop?)"
		if w.tr != nil {
			why = "rules too deep or too many runtime branches to follow"
		}
		w.reasons = append(w.reasons, reason{why, x})
		return res
	}
	w.depth++
	defer func() { w.depth-- }()
	for si := range c.segs {
		s := &c.segs[si]
		if x.isEmpty() {
			break
		}
		if s.hi <= k {
			continue
		}
		if k <= s.lo && (s.hi-s.lo > 1 || s.swept) && !w.p.reply && w.tr == nil {
			x = w.walkBatch(c, s, x, &res)
			continue
		}
		for k = max(k, s.lo); k < s.hi && !x.isEmpty(); k++ {
			x = w.walkRule(c, k, x, &res)
			if w.tr != nil && w.tr.fork != nil {
				// a runtime match: its two ways are walked to the end
				// of the chain one after the other (see fork)
				return w.fork(c, k, x, res)
			}
		}
	}
	return w.endChain(c, x, res)
}

// endChain ends c for the sources x that reached its end: a base chain's
// policy takes them and those a RETURN sent back (or a chain it went to
// with -g), a regular chain returns them.
func (w *walker) endChain(c *cchain, x addrSet, res walkRes) walkRes {
	if c.builtin {
		x = x.union(res.ret)
		res.ret = w.empty()
		if !x.isEmpty() && w.tr != nil {
			w.tr.policy(c)
		}
		switch c.policy {
		case "DROP":
			if !x.isEmpty() {
				w.addDrop(&res, x)
				w.dropBy = append(w.dropBy, attrib{policyRef(c), w.final(), x, false, w.p.in, false})
			}
		default:
			res.acc = res.acc.union(x)
			if !x.isEmpty() && !w.p.reply {
				w.accBy = append(w.accBy, attrib{policyRef(c), w.final(), x, false, w.p.in, c.passThrough()})
			}
		}
	} else {
		if !x.isEmpty() && w.tr != nil {
			w.tr.step(c, nil, triYes, "return")
		}
		res.ret = res.ret.union(x)
	}
	return res
}

// walkRule passes x through rule k of c and returns what continues.
func (w *walker) walkRule(c *cchain, k int, x addrSet, res *walkRes) addrSet {
	cr := &c.rules[k]
	if len(cr.r.m.x.marks) > 0 && len(w.markHits) > 0 && !w.inClass {
		// a mark set earlier on this hook: each source is matched with
		// the mark it has now
		rest := w.empty()
		saved := *w.p
		w.inClass = true
		for _, cl := range w.classes(x, false) {
			w.p.mark, w.p.markUnsure = cl.mark, cl.markUnsure
			rest = rest.union(w.walkRule(c, k, cl.set, res))
		}
		w.inClass = false
		*w.p = saved
		return rest
	}
	if w.tr != nil {
		w.tr.budget--
	}
	t := cr.r.m.test(w.p)
	if t == triNo {
		w.tr.step(c, cr, triNo, "continue")
		return x
	}
	set := cr.src
	if w.p.reply {
		set = cr.dst
	}
	rpfWhy := ""
	if rc := cr.r.m.x.rpf; rc != nil && !w.p.reply {
		if m, known := rpfMatch(rc, w.rp, w.p.in, w.fam); !known {
			t, rpfWhy = triMaybe, rc.why
		} else {
			set = set.intersect(m)
		}
	}
	matched := x.intersect(set)
	if matched.isEmpty() {
		w.tr.step(c, cr, triNo, "continue")
		return x
	}
	if w.onMatch != nil {
		w.onMatch(cr)
	}
	if op := cr.r.m.x.markSet; op != nil && !w.p.reply {
		w.markHits = append(w.markHits, markHit{*op, matched, t == triMaybe})
	}
	if cr.act == actSkip {
		if w.hook != nil && w.hook.beforeConntrack() && isNotrack(cr.r) {
			w.untracked = w.untracked.union(matched)
			w.untracked.fam = w.fam
			if t == triYes {
				w.tr.step(c, cr, t, "notrack")
				return x
			}
		}
		w.tr.step(c, cr, t, "continue")
		return x // its match result cannot change the outcome
	}
	if t == triMaybe {
		w.forked = true
		if rpfWhy != "" {
			w.reasons = append(w.reasons, reason{rpfWhy, matched})
		}
		if w.tr != nil {
			// traced: the rule's two ways are walked apart (fork)
			w.tr.step(c, cr, t, "maybe "+actionName(cr))
			w.tr.fork = &matched
			return x
		}
		w.runtimeReasons(cr, matched)
	} else if cr.act == actJump {
		w.tr.step(c, cr, t, actionName(cr))
		cont := w.act(cr, matched, res)
		if len(cont.r) == len(matched.r) && cont.equal(matched) {
			return x // the chain returned every source: nothing changes
		}
		return x.subtract(set).union(cont)
	} else {
		w.tr.step(c, cr, t, actionName(cr))
		x = x.subtract(set)
	}
	if cont := w.act(cr, matched, res); !cont.isEmpty() {
		x = x.union(cont)
	}
	return x
}

// runtimeReasons records why cr's match depends on runtime state, for the
// sources it matched.
func (w *walker) runtimeReasons(cr *crule, matched addrSet) {
	for _, why := range cr.r.m.x.runtime {
		w.reasons = append(w.reasons, reason{why, matched})
	}
	if len(cr.r.m.x.marks) > 0 && w.p.markUnsure {
		w.reasons = append(w.reasons, reason{markWhy, matched})
	}
}

// fork walks the two ways of rule k of c, a runtime match traced: first
// the rule's target (untraced), then the rest of the chain, each to the
// chain's end. Where they end differently, the match's runtime state
// decides, and the first such rule is the one a conditional answer names.
func (w *walker) fork(c *cchain, k int, x addrSet, res walkRes) walkRes {
	matched := *w.tr.fork
	w.tr.fork = nil
	cr := &c.rules[k]
	w.tr.off++
	taken := walkRes{acc: w.empty(), drop: w.empty(), ret: w.empty()}
	cont := w.act(cr, matched, &taken)
	taken = w.walkFrom(c, k+1, cont, taken)
	w.tr.off--
	passed := w.walkFrom(c, k+1, x, walkRes{acc: w.empty(), drop: w.empty(), ret: w.empty()})
	if fateOf(taken, matched) != fateOf(passed, matched) {
		w.runtimeReasons(cr, matched)
		if w.tr.cond == nil {
			w.tr.cond = cr.r
		}
	}
	res.acc = res.acc.union(taken.acc).union(passed.acc)
	res.drop = res.drop.union(taken.drop).union(passed.drop)
	res.ret = res.ret.union(taken.ret).union(passed.ret)
	return res
}

// fateOf is what became of the sources x in r: accepted, dropped or
// returned (several when a runtime match went both ways).
func fateOf(r walkRes, x addrSet) uint8 {
	var o uint8
	if r.acc.overlaps(x) {
		o |= oAcc
	}
	if r.drop.overlaps(x) {
		o |= oDrop
	}
	if r.ret.overlaps(x) {
		o |= oRet
	}
	return o
}

func (w *walker) final() bool { return w.hook != nil && w.hook.isFinal() }

// uncertain: whether cr matches can depend on runtime state.
func (w *walker) uncertain(cr *crule) bool {
	x := cr.r.m.x
	return len(x.runtime) > 0 || (len(x.marks) > 0 && w.p.markUnsure) || (x.rpf != nil && w.rp == nil && w.p.in != "lo")
}

// addDrop records dropped sources where they can still matter.
func (w *walker) addDrop(res *walkRes, set addrSet) {
	if w.forked || w.tr != nil {
		res.drop = res.drop.union(set)
	}
}

// act applies cr's target to matched and returns the sources that
// continue with the next rule of the chain.
func (w *walker) act(cr *crule, matched addrSet, res *walkRes) addrSet {
	switch cr.act {
	case actAccept:
		w.tr.decide(cr.r)
		res.acc = res.acc.union(matched)
		if !w.p.reply {
			w.accBy = append(w.accBy, attrib{ruleRef(cr.r), w.final(), matched, w.uncertain(cr), w.p.in, false})
		}
	case actDrop:
		w.tr.decide(cr.r)
		w.addDrop(res, matched)
		w.dropBy = append(w.dropBy, attrib{ruleRef(cr.r), w.final(), matched, false, w.p.in, false})
	case actReturn:
		res.ret = res.ret.union(matched)
	case actJump:
		sub := w.walk(cr.to, matched)
		res.acc = res.acc.union(sub.acc)
		res.drop = res.drop.union(sub.drop)
		return sub.ret
	case actGoto:
		sub := w.walk(cr.to, matched)
		res.acc = res.acc.union(sub.acc)
		res.drop = res.drop.union(sub.drop)
		res.ret = res.ret.union(sub.ret)
	case actNAT:
		w.tr.decide(cr.r)
		if w.nat.here != nil {
			if a, port, ok := localTo(cr.r, w.p.dst, w.p.dport, w.nat.here); ok {
				// the packet followed (Decide) is translated to this
				// host: it goes on to INPUT with its new destination
				// (see pipelineFrom)
				res.acc = res.acc.union(matched)
				w.nat.hit = w.nat.hit.union(matched)
				w.nat.hit.fam, w.nat.hitDst, w.nat.hitPort = w.fam, a, port
				break
			}
		}
		if w.nat.follow {
			if a, port, ok := localTo(cr.r, w.p.dst, w.p.dport, w.nat.local); ok && port == w.nat.port {
				res.acc = res.acc.union(matched) // the nat table ends; delivered to the socket
				w.nat.hit = w.nat.hit.union(matched)
				w.nat.hit.fam, w.nat.hitDst = w.fam, a
			} else {
				w.addDrop(res, matched) // delivered elsewhere, not to this socket
			}
			break
		}
		w.nat.awayTo = netip.AddrPort{}
		same, why := w.natSame(cr)
		if !same && why == "" && w.nat.awayTo.IsValid() {
			w.nat.away = append(w.nat.away, awayHit{to: w.nat.awayTo, rule: cr, base: w.hook, set: matched, mark: w.p.mark, markUnsure: w.p.markUnsure})
		}
		if same {
			res.acc = res.acc.union(matched) // the nat table ends; delivery unchanged
			w.nat.hit = w.nat.hit.union(matched)
			w.nat.hit.fam = w.fam
		} else {
			w.addDrop(res, matched) // delivered elsewhere, not to this socket
			w.dropBy = append(w.dropBy, attrib{ruleRef(cr.r), w.final(), matched, false, w.p.in, false})
			if why != "" {
				w.forked = true
				w.reasons = append(w.reasons, reason{why, matched})
				res.acc = res.acc.union(matched)
			}
		}
	case actUnknown:
		w.forked = true
		w.accBy = append(w.accBy, attrib{ruleRef(cr.r), w.final(), matched, true, w.p.in, false})
		res.acc = res.acc.union(matched)
		res.drop = res.drop.union(matched)
		w.reasons = append(w.reasons, reason{cr.why, matched})
		return matched
	}
	return w.empty()
}

func (w *walker) walkBatch(c *cchain, s *segment, x addrSet, res *walkRes) addrSet {
	b := c.batchOf(s)
	n := s.hi - s.lo
	if cap(w.isActive) < n {
		w.isActive = make([]bool, n)
	}
	isActive := w.isActive[:n]
	active := w.active[:0]
	for _, k := range b.dynRules {
		if c.rules[s.lo+int(k)].r.m.test(w.p) == triYes {
			isActive[k] = true
			active = append(active, k)
		}
	}
	w.active = active
	sp := b.recall(x, active)
	if sp != nil && w.onMatch != nil && !sp.tookKnown {
		sp = nil // the rule analysis needs the rules that took sources
	}
	if sp == nil {
		sp = w.split(b, x, isActive, len(active) > 0)
		c.remember(b, x, active, sp)
	}
	for _, k := range active {
		isActive[k] = false
	}
	if w.onMatch != nil {
		for _, k := range sp.took {
			w.onMatch(&c.rules[s.lo+int(k)])
		}
	}
	for g := 0; g < b.nGroups; g++ {
		if !sp.matched[g].isEmpty() {
			w.act(&c.rules[s.lo+int(sp.best[g])], sp.matched[g], res)
		}
	}
	return sp.rest
}

// split divides x among the groups of batch b, given which of its
// per-query rules match the packet (isActive, any of them: anyDyn).
func (w *walker) split(b *batch, x addrSet, isActive []bool, anyDyn bool) *split {
	top := maxU(w.fam)
	var dyn []piece
	if anyDyn {
		sweep(b.dynItems, isActive, top, func(k int32, lo, hi u128) {
			dyn = append(dyn, piece{k, rng{lo, hi}})
		})
	}
	if x.isFull() && len(dyn) <= 1024 && w.onMatch == nil && patchCost(b, dyn) <= 4096 {
		if b.full == nil {
			b.full = w.splitBy(b, b.static, x)
		}
		if len(dyn) > 0 {
			return w.patch(b, b.full, dyn)
		}
		return b.full
	}
	owners := b.static
	if len(dyn) > 0 {
		owners = make([]piece, 0, len(b.static)+len(dyn))
		overlay(b.static, dyn, top, func(k int32, lo, hi u128) {
			owners = append(owners, piece{k, rng{lo, hi}})
		})
	}
	sp := w.splitBy(b, owners, x)
	if w.onMatch != nil {
		sp.took, sp.tookKnown = ownersTaking(owners, x), true
	}
	return sp
}

// splitBy divides x among the owners' groups. A first pass counts the
// ranges each group takes (an upper bound: touching pieces merge), so that
// every group's ranges are cut from one array of the size needed.
func (w *walker) splitBy(b *batch, owners []piece, x addrSet) *split {
	counts := make([]int, b.nGroups+1) // the last counts what goes on
	w.cutOwners(b, owners, x, func(g int32, _ int32, _ rng) { counts[g]++ }, func(rng) { counts[b.nGroups]++ })
	total := 0
	for _, n := range counts[:b.nGroups] {
		total += n
	}
	if total == 0 {
		// no owner holds any of x: it all goes on, as it is
		return &split{matched: make([]addrSet, b.nGroups), best: slices.Clone(b.groupRule), rest: x}
	}
	total += counts[b.nGroups]
	buf := make([]rng, 0, total)
	matched := make([][]rng, b.nGroups)
	for g, n := range counts[:b.nGroups] {
		matched[g] = buf[len(buf) : len(buf) : len(buf)+n]
		buf = buf[:len(buf)+n]
	}
	rest := buf[len(buf) : len(buf) : len(buf)+counts[b.nGroups]]
	sp := &split{matched: make([]addrSet, b.nGroups), best: make([]int32, b.nGroups)}
	bestSize := make([]u128, b.nGroups)
	for g := range sp.best {
		sp.best[g] = b.groupRule[g]
	}
	w.cutOwners(b, owners, x, func(g int32, k int32, r rng) {
		matched[g] = appendRange(matched[g], r)
		if sz := (u128{r.hi.hi - r.lo.hi, r.hi.lo - r.lo.lo}); bestSize[g].less(sz) {
			sp.best[g], bestSize[g] = k, sz
		}
	}, func(r rng) { rest = appendRange(rest, r) })
	for g := range matched {
		sp.matched[g] = addrSet{fam: w.fam, r: matched[g]}
	}
	sp.rest = addrSet{fam: w.fam, r: rest}
	return sp
}

// cutOwners cuts x along the owners (sorted, disjoint pieces): take gets
// each part an owner holds, with the owner's group and rule, and rest each
// part no owner holds, both in address order.
func (w *walker) cutOwners(b *batch, owners []piece, x addrSet, take func(g, k int32, r rng), rest func(rng)) {
	xi := 0
	var cur rng
	if len(x.r) > 0 {
		cur = x.r[0]
	}
	for _, pc := range owners {
		for xi < len(x.r) && cur.hi.less(pc.r.lo) {
			rest(cur)
			xi++
			if xi < len(x.r) {
				cur = x.r[xi]
			}
		}
		for xi < len(x.r) && !pc.r.hi.less(cur.lo) {
			if cur.lo.less(pc.r.lo) {
				rest(rng{cur.lo, pc.r.lo.dec()})
				cur.lo = pc.r.lo
			}
			hi := cur.hi
			if pc.r.hi.less(hi) {
				hi = pc.r.hi
			}
			take(b.group[pc.k], pc.k, rng{cur.lo, hi})
			if pc.r.hi.less(cur.hi) {
				cur.lo = pc.r.hi.inc()
				break
			}
			xi++
			if xi < len(x.r) {
				cur = x.r[xi]
			}
		}
	}
	if xi < len(x.r) {
		rest(cur)
		for _, r := range x.r[xi+1:] {
			rest(r)
		}
	}
}

// patch applies a few per-query rules (dyn, sorted, disjoint) on top of
// the cached split of the static rules over every source: where a dyn rule
// comes first, its group takes the addresses.
func (w *walker) patch(b *batch, full *split, dyn []piece) *split {
	taken := make([]addrSet, b.nGroups)
	all := emptySet(w.fam)
	for _, d := range dyn {
		// static pieces overlapping d with a lower rule index keep theirs
		var mine addrSet
		if b.staticBefore(d.k) == len(b.static) {
			// every static rule comes before d: d takes what none of
			// them holds (full split the whole address space)
			mine = full.rest.intersect(addrSet{fam: w.fam, r: []rng{d.r}})
		} else {
			keep := b.keepBelow(d)
			mine = addrSet{fam: w.fam, r: []rng{d.r}}.subtract(addrSet{fam: w.fam, r: keep})
		}
		g := b.group[d.k]
		taken[g] = taken[g].union(mine)
		taken[g].fam = w.fam
		all = all.union(mine)
	}
	sp := &split{matched: make([]addrSet, b.nGroups), best: append([]int32(nil), full.best...)}
	for g := range sp.matched {
		m := full.matched[g]
		m.fam = w.fam
		if m.overlaps(all) {
			m = m.subtract(all)
		}
		if !taken[g].isEmpty() {
			if taken[g].size() >= m.size() {
				// the per-query rules decide most of this group
				best, bestSize := int32(-1), -1.0
				for _, d := range dyn {
					if b.group[d.k] == int32(g) {
						if sz := (addrSet{fam: w.fam, r: []rng{d.r}}).size(); sz > bestSize {
							best, bestSize = d.k, sz
						}
					}
				}
				sp.best[g] = best
			}
			m = m.union(taken[g])
		}
		sp.matched[g] = m
	}
	sp.rest = full.rest.subtract(all)
	return sp
}

// patchCost is the number of static pieces patch looks at for dyn (see
// keepBelow).
func patchCost(b *batch, dyn []piece) int {
	n := 0
	for _, d := range dyn {
		before := b.staticBefore(d.k)
		if before == len(b.static) {
			continue // see patch
		}
		i, j := b.staticSpan(d.r)
		n += min(j-i, before)
	}
	return n
}

// staticSpan is the index range of the static pieces that overlap r.
func (b *batch) staticSpan(r rng) (int, int) {
	i := sortSearch(len(b.static), func(k int) bool { return !b.static[k].r.hi.less(r.lo) })
	j := sortSearch(len(b.static), func(k int) bool { return r.hi.less(b.static[k].r.lo) })
	return i, j
}

// staticBefore is the number of static pieces of rules before rule k.
func (b *batch) staticBefore(k int32) int {
	return sortSearch(len(b.byRule), func(i int) bool { return b.static[b.byRule[i]].k >= k })
}

// keepBelow is, in address order, the parts of d's range that static
// pieces of earlier rules own: d does not take those. It looks at the
// static pieces d's range overlaps or at those of earlier rules, whichever
// are fewer: a rule with no source match early in a long blocklist
// overlaps every piece but comes after few of them.
func (b *batch) keepBelow(d piece) []rng {
	var keep []rng
	i, j := b.staticSpan(d.r)
	if n := b.staticBefore(d.k); n < j-i {
		for _, si := range b.byRule[:n] {
			if r := b.static[si].r; !r.hi.less(d.r.lo) && !d.r.hi.less(r.lo) {
				keep = append(keep, r)
			}
		}
		slices.SortFunc(keep, func(x, y rng) int { return x.lo.cmp(y.lo) })
		// pieces of different rules may touch: merge them as a set's are
		out := keep[:0]
		for _, r := range keep {
			out = appendRange(out, r)
		}
		return out
	}
	for ; i < j; i++ {
		if b.static[i].k < d.k {
			keep = appendRange(keep, b.static[i].r)
		}
	}
	return keep
}

// ownersTaking lists, in the owners' order, the rule of each owner piece
// that takes some of x (a rule holding several pieces is listed for each).
func ownersTaking(owners []piece, x addrSet) []int32 {
	var out []int32
	for _, pc := range owners {
		if x.overlaps(addrSet{fam: x.fam, r: []rng{pc.r}}) {
			out = append(out, pc.k)
		}
	}
	return out
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
