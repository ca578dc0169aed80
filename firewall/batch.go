package firewall

import (
	"slices"
	"sort"
	"sync"
)

// batch is a run of determinate ACCEPT/DROP/RETURN/goto/NAT rules walked
// as one: the first rule whose source set holds an address decides it.
// Rules with nothing but a source match (blocklists) give the same
// ownership for every query, so it is swept once ("static"); the other
// rules are swept per query and overlaid on it.
type batch struct {
	group      []int32 // per rule: its group (rules with the same effect)
	groupRule  []int32 // per group: a rule of the group, for its action
	nGroups    int
	static     []ownerPiece // owners of the source-only rules, in address order
	byRule     []int32      // indexes into static, in rule order (see keepBelow)
	dynItems   []bitem      // source ranges of the other rules, sorted by start
	dynRules   []int32      // indexes of the other rules
	staticRule []bool
	full       *batchSplit // the static rules applied to every source (cached)
	// memo holds the last few splits with what they depended on (see
	// recall); next is the entry the next one replaces
	memo [memoSize]splitMemo
	next int
	// without remembers, for the ban rule walkPastBan passes, the sets
	// taken without its sources, by the set each was taken from (the
	// remembered splits give every query the same sets); withoutRanges
	// counts the ranges both hold
	without       map[withoutKey]addrSet
	withoutRanges int
	// rest is what the ban rule's sources (banned) lack, made at the
	// first set taken without them: a set without the ban is the set
	// within rest (without1)
	banned, rest addrSet
}

// A split depends on nothing but the sources that enter the batch and
// which of its per-query rules match the packet: queries for other ports
// or interfaces that leave those alike get the same split. A walk that
// reuses a split passes the same rest to the next batch, so there the
// sources are recognised without comparing them.
type splitMemo struct {
	x      addrSet
	active []int32
	minus  *addrSet // the walker's minus when it was made (see splitBy)
	sp     *batchSplit
	ranges int // the ranges it holds (see remember)
}

// memoSize is how many splits a batch remembers: a query walks one
// interface class after another, each of which may activate other rules.
const memoSize = 4

// recall returns the split remembered for sources x with the per-query
// rules active matching, made with the walker's minus, or nil.
func (b *batch) recall(x addrSet, active []int32, minus *addrSet) *batchSplit {
	for i := range b.memo {
		m := &b.memo[i]
		if m.sp != nil && m.minus == minus && slices.Equal(m.active, active) && (x.same(m.x) || x.equal(m.x)) {
			return m.sp
		}
	}
	return nil
}

// remember keeps sp as the split of x with the rules active matching,
// while the chain's splits kept so far hold fewer than maxMemoRanges ranges:
// a long chain of blocklists would otherwise keep a copy of the sources
// left after every batch.
func (c *cchain) remember(b *batch, x addrSet, active []int32, minus *addrSet, sp *batchSplit) {
	n := len(x.r)
	if !sp.rest.same(x) {
		n += len(sp.rest.r)
	}
	for _, m := range sp.matched {
		n += len(m.r)
	}
	n += len(sp.took) / 4        // 4-byte indexes against 32-byte ranges
	old := b.memo[b.next].ranges // the entry this one replaces
	if c.memoRanges-old+n > maxMemoRanges {
		return
	}
	c.memoRanges += n - old
	b.memo[b.next] = splitMemo{x: x, active: slices.Clone(active), minus: minus, sp: sp, ranges: n}
	b.next = (b.next + 1) % memoSize
}

// maxMemoRanges bounds the address ranges a chain's remembered splits hold
// (32 bytes each: 16 MiB).
const maxMemoRanges = 1 << 19

// split is what a batch does to a set of sources: the part each group
// takes, the rule standing for each group, and what goes on.
type batchSplit struct {
	matched []addrSet
	best    []int32
	rest    addrSet
	// took lists the rules (in the owners' order) whose sources took
	// some of the sources split, for the rule analysis (tookKnown: it was
	// worked out)
	took      []int32
	tookKnown bool
}

type bitem struct {
	lo, hi u128
	k      int32 // rule index within the segment
}

type ownerPiece struct {
	k int32
	r rng
}

type groupKey struct {
	act actKind
	to  *cchain
	k   int32
}

func (c *cchain) batchOf(s *segment) *batch {
	if s.batch != nil {
		return s.batch
	}
	n := s.hi - s.lo
	b := &batch{group: make([]int32, n), staticRule: make([]bool, n)}
	b.static = make([]ownerPiece, 0, n+1)
	groups := map[groupKey]int32{}
	simple := [actUnknown + 1]int32{} // group+1 of ACCEPT, DROP, RETURN
	for k := 0; k < n; k++ {
		cr := &c.rules[s.lo+k]
		if cr.r.m.never {
			// never matches (an ip6 rule in the IPv4 walk): it owns no
			// address, so it needs no group of its own
			b.group[k] = -1
			continue
		}
		var g int32
		switch cr.act {
		case actAccept, actDrop, actReturn:
			if simple[cr.act] == 0 {
				b.groupRule = append(b.groupRule, int32(k))
				simple[cr.act] = int32(len(b.groupRule))
			}
			g = simple[cr.act] - 1
		default:
			gk := groupKey{act: cr.act, k: int32(k)}
			if cr.act == actGoto {
				gk.k, gk.to = -1, cr.to
			}
			var ok bool
			if g, ok = groups[gk]; !ok {
				g = int32(len(b.groupRule))
				groups[gk] = g
				b.groupRule = append(b.groupRule, int32(k))
			}
		}
		b.group[k] = g
		b.staticRule[k] = cr.r.m.srcOnly
		for _, r := range cr.src.r {
			if cr.r.m.srcOnly {
				b.static = append(b.static, ownerPiece{int32(k), r})
			} else {
				b.dynItems = append(b.dynItems, bitem{r.lo, r.hi, int32(k)})
			}
		}
		if !cr.r.m.srcOnly {
			b.dynRules = append(b.dynRules, int32(k))
		}
	}
	b.nGroups = len(b.groupRule)
	sortItems(b.static)
	sortItems(b.dynItems)
	if !disjoint(b.static) {
		// the source-only rules' ranges overlap: each address goes to
		// the first rule that holds it. Where they do not (a blocklist of
		// single addresses), every range is a piece of its own already.
		items := make([]bitem, len(b.static))
		for i, p := range b.static {
			items[i] = bitem{p.r.lo, p.r.hi, p.k}
		}
		all := make([]bool, n)
		for i := range all {
			all[i] = true
		}
		b.static = b.static[:0]
		sweep(items, all, maxU(c.rules[s.lo].src.fam), func(k int32, lo, hi u128) {
			b.static = append(b.static, ownerPiece{k, rng{lo, hi}})
		})
	}
	b.byRule = make([]int32, len(b.static))
	for i := range b.byRule {
		b.byRule[i] = int32(i)
	}
	slices.SortStableFunc(b.byRule, func(i, j int32) int { return int(b.static[i].k) - int(b.static[j].k) })
	s.batch = b
	return b
}

// disjoint: each of ps (sorted by start) ends before the next starts.
func disjoint(ps []ownerPiece) bool {
	for i := 1; i < len(ps); i++ {
		if !ps[i-1].r.hi.less(ps[i].r.lo) {
			return false
		}
	}
	return true
}

// start is where an item's range starts, and its rule.
func (it bitem) start() (u128, int32)     { return it.lo, it.k }
func (p ownerPiece) start() (u128, int32) { return p.r.lo, p.k }

// sortItems sorts items (appended in rule order) by start address, then
// rule index.
func sortItems[T interface{ start() (u128, int32) }](items []T) {
	if len(items) > 64 && len(items) < 1<<32 && allV4(items) {
		// IPv4 start and item index fit one integer key, and items were
		// appended in rule order, so the index breaks ties as the rule
		// index would: a plain integer sort is several times faster
		keys := make([]uint64, len(items))
		for i, it := range items {
			lo, _ := it.start()
			keys[i] = lo.lo<<32 | uint64(i)
		}
		slices.Sort(keys)
		// place items[keys[i]] at i, one cycle of the permutation at a
		// time, rather than copying them all: a 100,000-rule blocklist
		// holds 4 MB of items
		done := make([]uint64, (len(items)+63)/64)
		for i := range items {
			if done[i/64]&(1<<(i%64)) != 0 {
				continue
			}
			first := items[i]
			j := i
			for {
				done[j/64] |= 1 << (j % 64)
				from := int(uint32(keys[j]))
				if from == i {
					items[j] = first
					break
				}
				items[j] = items[from]
				j = from
			}
		}
		return
	}
	slices.SortFunc(items, func(a, b T) int {
		alo, ak := a.start()
		blo, bk := b.start()
		if c := alo.cmp(blo); c != 0 {
			return c
		}
		return int(ak - bk)
	})
}

func allV4[T interface{ start() (u128, int32) }](items []T) bool {
	for _, it := range items {
		if lo, _ := it.start(); lo.hi != 0 || lo.lo > 0xffffffff {
			return false
		}
	}
	return true
}

// sweep assigns every address covered by an active item to the active
// item with the lowest rule index (first match wins), calling emit for
// each maximal piece in address order.
func sweep(items []bitem, isActive []bool, top u128, emit func(k int32, lo, hi u128)) {
	var h minHeap
	i, n := 0, len(items)
	var pos u128
	for {
		if len(h) == 0 {
			for i < n && !isActive[items[i].k] {
				i++
			}
			if i >= n {
				return
			}
			if pos.less(items[i].lo) {
				pos = items[i].lo
			}
		}
		for i < n && !pos.less(items[i].lo) {
			if isActive[items[i].k] {
				h.push(items[i])
			}
			i++
		}
		for len(h) > 0 && h[0].hi.less(pos) {
			h.pop()
		}
		if len(h) == 0 {
			continue
		}
		end := h[0].hi
		for j := i; j < n && !end.less(items[j].lo); j++ {
			// a lower-numbered rule starting inside takes over there
			if isActive[items[j].k] && items[j].k < h[0].k {
				end = items[j].lo.dec()
				break
			}
		}
		emit(h[0].k, pos, end)
		if end == top {
			return
		}
		pos = end.inc()
	}
}

// overlay merges two owner lists (each sorted and disjoint) into one,
// giving each address to the lower rule index.
func overlay(a, b []ownerPiece, top u128, emit func(k int32, lo, hi u128)) {
	i, j := 0, 0
	var pos u128
	started := false
	// lowest is where the next piece of either list starts
	lowest := func() u128 {
		switch {
		case i >= len(a):
			return b[j].r.lo
		case j >= len(b):
			return a[i].r.lo
		case a[i].r.lo.less(b[j].r.lo):
			return a[i].r.lo
		}
		return b[j].r.lo
	}
	for {
		for i < len(a) && started && a[i].r.hi.less(pos) {
			i++
		}
		for j < len(b) && started && b[j].r.hi.less(pos) {
			j++
		}
		if i >= len(a) && j >= len(b) {
			return
		}
		if !started {
			started = true
			pos = lowest()
		}
		ca := i < len(a) && !pos.less(a[i].r.lo)
		cb := j < len(b) && !pos.less(b[j].r.lo)
		if !ca && !cb {
			pos = lowest()
			continue
		}
		var owner int32
		var end u128
		switch {
		case ca && cb:
			owner, end = a[i].k, a[i].r.hi
			if b[j].k < owner {
				owner = b[j].k
			}
			if b[j].r.hi.less(end) {
				end = b[j].r.hi
			}
		case ca:
			owner, end = a[i].k, a[i].r.hi
			if j < len(b) && !end.less(b[j].r.lo) {
				end = b[j].r.lo.dec()
			}
		default:
			owner, end = b[j].k, b[j].r.hi
			if i < len(a) && !end.less(a[i].r.lo) {
				end = a[i].r.lo.dec()
			}
		}
		emit(owner, pos, end)
		if end == top {
			return
		}
		pos = end.inc()
	}
}

type minHeap []bitem

func (h *minHeap) push(x bitem) {
	*h = append(*h, x)
	a := *h
	j := len(a) - 1
	for j > 0 {
		p := (j - 1) / 2
		if a[p].k <= a[j].k {
			break
		}
		a[p], a[j] = a[j], a[p]
		j = p
	}
}

func (h *minHeap) pop() {
	a := *h
	n := len(a) - 1
	a[0] = a[n]
	a = a[:n]
	j := 0
	for {
		l := 2*j + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && a[r].k < a[l].k {
			m = r
		}
		if a[j].k <= a[m].k {
			break
		}
		a[j], a[m] = a[m], a[j]
		j = m
	}
	*h = a
}

// segment is a run of rules handled together: a batch of determinate
// ACCEPT/DROP/RETURN/goto/NAT rules, or a single other rule.
type segment struct {
	lo, hi int // rule indexes [lo, hi)
	batch  *batch
	swept  bool // a single rule swept as a batch
}

// segmentChain groups consecutive determinate rules into batches.
func segmentChain(rules []crule) []segment {
	var segs []segment
	batchable := func(c *crule) bool {
		if c.r.m.never {
			return true // never matches (an ip6 rule in the IPv4 walk): no effect on a run
		}
		if len(c.r.m.x.runtime) > 0 || c.r.m.x.rpf != nil || len(c.r.m.x.marks) > 0 || c.r.m.x.markSet != nil {
			return false
		}
		switch c.act {
		case actAccept, actDrop, actReturn, actGoto, actNAT:
			return true
		}
		return false
	}
	big := func(c *crule) bool { return batchable(c) && len(c.src.r) >= bigSet }
	for i := 0; i < len(rules); {
		if big(&rules[i]) {
			// a rule with a large source set (a ban set) is swept alone,
			// so that its split of every source is kept between queries
			segs = append(segs, segment{lo: i, hi: i + 1, swept: true})
			i++
			continue
		}
		j := i
		for j < len(rules) && batchable(&rules[j]) && !big(&rules[j]) {
			j++
		}
		if j-i >= minBatch {
			segs = append(segs, segment{lo: i, hi: j})
			i = j
			continue
		}
		if j == i {
			j = i + 1
		}
		for k := i; k < j; k++ {
			segs = append(segs, segment{lo: k, hi: k + 1})
		}
		i = j
	}
	return segs
}

// bigSet is the number of source ranges from which one rule is swept as
// a batch of its own.
const bigSet = 64

// activeBufs holds the per-rule flags walkBatch marks the rules that
// match the packet in, all false between uses: every query walks the
// same batches, and a flag per rule of a 100,000-rule batch for each
// query's walker would be garbage.
var activeBufs = sync.Pool{New: func() any { return new([]bool) }}

// minBatch is the run length from which consecutive rules are swept
// together instead of one set operation per rule.
var minBatch = 4

func (w *walker) walkBatch(c *cchain, s *segment, x addrSet, res *walkRes) addrSet {
	b := c.batchOf(s)
	n := s.hi - s.lo
	buf := activeBufs.Get().(*[]bool)
	defer activeBufs.Put(buf)
	if cap(*buf) < n {
		*buf = make([]bool, n)
	}
	isActive := (*buf)[:n]
	active := w.active[:0]
	for _, k := range b.dynRules {
		if c.rules[s.lo+int(k)].r.m.test(w.p) == triYes {
			isActive[k] = true
			active = append(active, k)
		}
	}
	w.active = active
	sp := b.recall(x, active, w.minus)
	if sp != nil && w.onMatch != nil && !sp.tookKnown {
		sp = nil // the rule analysis needs the rules that took sources
	}
	if sp == nil {
		sp = w.splitBatch(b, x, isActive, len(active) > 0)
		c.remember(b, x, active, w.minus, sp)
	}
	for _, k := range active {
		isActive[k] = false
	}
	if w.onMatch != nil {
		// a rule is listed for each piece it took (a ban set's rule,
		// 100,000 times): told once for a run of its pieces
		prev := int32(-1)
		for _, k := range sp.took {
			if k != prev {
				w.onMatch(&c.rules[s.lo+int(k)])
			}
			prev = k
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
func (w *walker) splitBatch(b *batch, x addrSet, isActive []bool, anyDyn bool) *batchSplit {
	top := maxU(w.fam)
	var dyn []ownerPiece
	if anyDyn {
		sweep(b.dynItems, isActive, top, func(k int32, lo, hi u128) {
			dyn = append(dyn, ownerPiece{k, rng{lo, hi}})
		})
	}
	if x.isFull() && len(dyn) <= 1024 && w.onMatch == nil && w.minus == nil && patchCost(b, dyn) <= 4096 {
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
		owners = make([]ownerPiece, 0, len(b.static)+len(dyn))
		overlay(b.static, dyn, top, func(k int32, lo, hi u128) {
			owners = append(owners, ownerPiece{k, rng{lo, hi}})
		})
	}
	sp := w.splitBy(b, owners, x)
	if w.onMatch != nil {
		sp.took, sp.tookKnown = ownersTaking(owners, x, w.minus), true
	}
	return sp
}

// splitBy divides x among the owners' groups. A first pass counts the
// ranges each group takes (an upper bound: touching pieces merge), so that
// every group's ranges are cut from one array of the size needed.
//
// The rule standing for a group is the one that takes its largest range.
// While the walker's minus is set (walkPastBan), x still holds the
// addresses of minus, and the ranges compared are those each part leaves
// without them: those a walk of x without minus would have cut.
func (w *walker) splitBy(b *batch, owners []ownerPiece, x addrSet) *batchSplit {
	counts := make([]int, b.nGroups+1) // the last counts what goes on
	w.cutOwners(b, owners, x, func(g int32, _ int32, _ rng) { counts[g]++ }, func(rng) { counts[b.nGroups]++ })
	total := 0
	for _, n := range counts[:b.nGroups] {
		total += n
	}
	if total == 0 {
		// no owner holds any of x: it all goes on, as it is
		return &batchSplit{matched: make([]addrSet, b.nGroups), best: slices.Clone(b.groupRule), rest: x}
	}
	total += counts[b.nGroups]
	buf := make([]rng, 0, total)
	matched := make([][]rng, b.nGroups)
	for g, n := range counts[:b.nGroups] {
		matched[g] = buf[len(buf) : len(buf) : len(buf)+n]
		buf = buf[:len(buf)+n]
	}
	rest := buf[len(buf) : len(buf) : len(buf)+counts[b.nGroups]]
	sp := &batchSplit{matched: make([]addrSet, b.nGroups), best: make([]int32, b.nGroups)}
	bestSize := make([]u128, b.nGroups)
	for g := range sp.best {
		sp.best[g] = b.groupRule[g]
	}
	w.cutOwners(b, owners, x, func(g int32, k int32, r rng) {
		matched[g] = appendRange(matched[g], r)
		sz := rangeSpan(r)
		if w.minus != nil {
			var ok bool
			if sz, ok = widestOutside(r, *w.minus); !ok {
				return
			}
		}
		if bestSize[g].less(sz) {
			sp.best[g], bestSize[g] = k, sz
		}
	}, func(r rng) { rest = appendRange(rest, r) })
	for g := range matched {
		sp.matched[g] = addrSet{fam: w.fam, r: matched[g]}
	}
	sp.rest = addrSet{fam: w.fam, r: rest}
	return sp
}

// rangeSpan is the size of r less one, as splitBy compares ranges.
func rangeSpan(r rng) u128 { return u128{r.hi.hi - r.lo.hi, r.hi.lo - r.lo.lo} }

// widestOutside is the rangeSpan of the widest range of r that set t does
// not hold (the first of equal ones), and false when t holds all of r.
func widestOutside(r rng, t addrSet) (u128, bool) {
	var best u128
	found := false
	see := func(p rng) {
		if sz := rangeSpan(p); !found || best.less(sz) {
			best, found = sz, true
		}
	}
	i := sortSearch(len(t.r), func(k int) bool { return !t.r[k].hi.less(r.lo) })
	pos := r.lo
	for ; i < len(t.r) && !r.hi.less(t.r[i].lo); i++ {
		b := t.r[i]
		if pos.less(b.lo) {
			see(rng{pos, b.lo.dec()})
		}
		if !b.hi.less(r.hi) {
			return best, found // t holds the rest of r
		}
		pos = b.hi.inc()
	}
	see(rng{pos, r.hi})
	return best, found
}

// cutOwners cuts x along the owners (sorted, disjoint pieces): take gets
// each part an owner holds, with the owner's group and rule, and rest each
// part no owner holds, both in address order.
func (w *walker) cutOwners(b *batch, owners []ownerPiece, x addrSet, take func(g, k int32, r rng), rest func(rng)) {
	xi := 0
	var cur rng
	if len(x.r) > 0 {
		cur = x.r[0]
	}
	// Owners wholly below what is left of x take nothing: they are
	// skipped by galloping, so that a witness packet's few sources cost
	// a search of a ban set's owners, not a pass over them.
	for oi := 0; oi < len(owners) && xi < len(x.r); oi++ {
		if owners[oi].r.hi.less(cur.lo) {
			if oi = gallop(len(owners), oi, func(i int) bool { return owners[i].r.hi.less(cur.lo) }); oi == len(owners) {
				break
			}
		}
		pc := owners[oi]
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
func (w *walker) patch(b *batch, full *batchSplit, dyn []ownerPiece) *batchSplit {
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
	sp := &batchSplit{matched: make([]addrSet, b.nGroups), best: append([]int32(nil), full.best...)}
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
func patchCost(b *batch, dyn []ownerPiece) int {
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
func (b *batch) keepBelow(d ownerPiece) []rng {
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
func ownersTaking(owners []ownerPiece, x addrSet, minus *addrSet) []int32 {
	var out []int32
	xi := 0
	for oi := 0; oi < len(owners) && xi < len(x.r); {
		pc := owners[oi]
		switch {
		case pc.r.hi.less(x.r[xi].lo):
			oi = gallop(len(owners), oi, func(i int) bool { return owners[i].r.hi.less(x.r[xi].lo) })
		case x.r[xi].hi.less(pc.r.lo):
			xi = gallop(len(x.r), xi, func(i int) bool { return x.r[i].hi.less(pc.r.lo) })
		case minus != nil && overlapWithin(pc.r, x.r[xi], *minus):
			// what they share is all in minus (walkPastBan): x without
			// minus does not meet this piece here
			if pc.r.hi.less(x.r[xi].hi) {
				oi++
			} else {
				xi++
			}
		default: // they overlap
			out = append(out, pc.k)
			oi++
		}
	}
	return out
}

// overlapWithin reports whether the addresses two overlapping ranges
// share are all in t.
func overlapWithin(a, b rng, t addrSet) bool {
	lo, hi := a.lo, a.hi
	if lo.less(b.lo) {
		lo = b.lo
	}
	if b.hi.less(hi) {
		hi = b.hi
	}
	return addrSet{fam: t.fam, r: []rng{{lo, hi}}}.within(t)
}

// gallop returns the first index i >= from, below n, for which below(i)
// is false (n if none), below being true and then false: it looks at
// from+1, +2, +4... and then searches the last step, so that skipping d
// elements costs about 2 log d tests.
func gallop(n, from int, below func(int) bool) int {
	if from >= n || !below(from) {
		return from
	}
	lo, step := from, 1 // below(lo) holds
	hi := from + step
	for hi < n && below(hi) {
		lo, step = hi, step*2
		hi = from + step
	}
	hi = min(hi, n) // the answer is in (lo, hi]
	return lo + 1 + sort.Search(hi-lo-1, func(j int) bool { return !below(lo + 1 + j) })
}
