package firewall

import "slices"

// batch is a run of determinate ACCEPT/DROP/RETURN/goto/NAT rules walked
// as one: the first rule whose source set holds an address decides it.
// Rules with nothing but a source match (blocklists) give the same
// ownership for every query, so it is swept once ("static"); the other
// rules are swept per query and overlaid on it.
type batch struct {
	group      []int32 // per rule: its group (rules with the same effect)
	groupRule  []int32 // per group: a rule of the group, for its action
	nGroups    int
	static     []piece // owners of the source-only rules, in address order
	byRule     []int32 // indexes into static, in rule order (see keepBelow)
	dynItems   []bitem // source ranges of the other rules, sorted by start
	dynRules   []int32 // indexes of the other rules
	staticRule []bool
	full       *split // the static rules applied to every source (cached)
	// memo holds the last few splits with what they depended on (see
	// recall); next is the entry the next one replaces
	memo [memoSize]splitMemo
	next int
}

// A split depends on nothing but the sources that enter the batch and
// which of its per-query rules match the packet: queries for other ports
// or interfaces that leave those alike get the same split. A walk that
// reuses a split passes the same rest to the next batch, so there the
// sources are recognised without comparing them.
type splitMemo struct {
	x      addrSet
	active []int32
	sp     *split
	ranges int // the ranges it holds (see remember)
}

// memoSize is how many splits a batch remembers: a query walks one
// interface class after another, each of which may activate other rules.
const memoSize = 4

// recall returns the split remembered for sources x with the per-query
// rules active matching, or nil.
func (b *batch) recall(x addrSet, active []int32) *split {
	for i := range b.memo {
		m := &b.memo[i]
		if m.sp != nil && slices.Equal(m.active, active) && (x.same(m.x) || x.equal(m.x)) {
			return m.sp
		}
	}
	return nil
}

// remember keeps sp as the split of x with the rules active matching,
// while the chain's splits kept so far hold fewer than memoRanges ranges:
// a long chain of blocklists would otherwise keep a copy of the sources
// left after every batch.
func (c *cchain) remember(b *batch, x addrSet, active []int32, sp *split) {
	n := len(x.r)
	if !sp.rest.same(x) {
		n += len(sp.rest.r)
	}
	for _, m := range sp.matched {
		n += len(m.r)
	}
	n += len(sp.took) / 4        // 4-byte indexes against 32-byte ranges
	old := b.memo[b.next].ranges // the entry this one replaces
	if c.memoRanges-old+n > memoRanges {
		return
	}
	c.memoRanges += n - old
	b.memo[b.next] = splitMemo{x: x, active: slices.Clone(active), sp: sp, ranges: n}
	b.next = (b.next + 1) % memoSize
}

// memoRanges bounds the address ranges a chain's remembered splits hold
// (32 bytes each: 16 MiB).
const memoRanges = 1 << 19

// split is what a batch does to a set of sources: the part each group
// takes, the rule standing for each group, and what goes on.
type split struct {
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

type piece struct {
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
	staticItems := make([]bitem, 0, n)
	b.static = make([]piece, 0, n+1)
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
			it := bitem{r.lo, r.hi, int32(k)}
			if cr.r.m.srcOnly {
				staticItems = append(staticItems, it)
			} else {
				b.dynItems = append(b.dynItems, it)
			}
		}
		if !cr.r.m.srcOnly {
			b.dynRules = append(b.dynRules, int32(k))
		}
	}
	b.nGroups = len(b.groupRule)
	sortItems(staticItems)
	sortItems(b.dynItems)
	all := make([]bool, n)
	for i := range all {
		all[i] = true
	}
	top := maxU(c.rules[s.lo].src.fam)
	sweep(staticItems, all, top, func(k int32, lo, hi u128) {
		b.static = append(b.static, piece{k, rng{lo, hi}})
	})
	b.byRule = make([]int32, len(b.static))
	for i := range b.byRule {
		b.byRule[i] = int32(i)
	}
	slices.SortStableFunc(b.byRule, func(i, j int32) int { return int(b.static[i].k) - int(b.static[j].k) })
	s.batch = b
	return b
}

func sortItems(items []bitem) {
	if len(items) > 64 && len(items) < 1<<32 && allV4(items) {
		// IPv4 start and item index fit one integer key, and items were
		// appended in rule order, so the index breaks ties as the rule
		// index would: a plain integer sort is several times faster
		keys := make([]uint64, len(items))
		for i, it := range items {
			keys[i] = it.lo.lo<<32 | uint64(i)
		}
		slices.Sort(keys)
		old := slices.Clone(items)
		for i, key := range keys {
			items[i] = old[uint32(key)]
		}
		return
	}
	slices.SortFunc(items, func(a, b bitem) int {
		if c := a.lo.cmp(b.lo); c != 0 {
			return c
		}
		return int(a.k - b.k)
	})
}

func allV4(items []bitem) bool {
	for _, it := range items {
		if it.lo.hi != 0 || it.lo.lo > 0xffffffff {
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
func overlay(a, b []piece, top u128, emit func(k int32, lo, hi u128)) {
	i, j := 0, 0
	var pos u128
	started := false
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
			switch {
			case i >= len(a):
				pos = b[j].r.lo
			case j >= len(b):
				pos = a[i].r.lo
			case a[i].r.lo.less(b[j].r.lo):
				pos = a[i].r.lo
			default:
				pos = b[j].r.lo
			}
		}
		ca := i < len(a) && !pos.less(a[i].r.lo)
		cb := j < len(b) && !pos.less(b[j].r.lo)
		if !ca && !cb {
			switch {
			case i >= len(a):
				pos = b[j].r.lo
			case j >= len(b):
				pos = a[i].r.lo
			case a[i].r.lo.less(b[j].r.lo):
				pos = a[i].r.lo
			default:
				pos = b[j].r.lo
			}
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
