package firewall

import (
	"hash/maphash"
	"sort"
)

// batch holds a segment's source ranges sorted by start, for sweeping.
type batch struct {
	items []bitem
	cache map[uint64][]*batchResult
}

type bitem struct {
	lo, hi u128
	k      int32 // rule index within the segment
}

// batchResult is who owns which sources in a segment for one set of
// active rules: the first active rule whose source set holds them.
type batchResult struct {
	active []int32
	groups []bgroup
	union  addrSet
	pieces []piece // who owns what, in address order (for Analyze)
}

type piece struct {
	k int32
	r rng
}

type bgroup struct {
	k     int32   // representative rule (largest share)
	rules []int32 // every rule of the group, for NAT groups one rule
	owned addrSet
	best  float64
}

func (c *cchain) batchOf(s *segment) *batch {
	if s.batch != nil {
		return s.batch
	}
	b := &batch{cache: map[uint64][]*batchResult{}}
	for k := s.lo; k < s.hi; k++ {
		for _, r := range c.rules[k].src.r {
			b.items = append(b.items, bitem{r.lo, r.hi, int32(k - s.lo)})
		}
	}
	sort.Slice(b.items, func(i, j int) bool {
		if b.items[i].lo != b.items[j].lo {
			return b.items[i].lo.less(b.items[j].lo)
		}
		return b.items[i].k < b.items[j].k
	})
	s.batch = b
	return b
}

var hashSeed = maphash.MakeSeed()

// result sweeps the segment for the given active rules (cached).
func (c *cchain) batchResult(s *segment, active []int32, isActive []bool) *batchResult {
	b := c.batchOf(s)
	var h maphash.Hash
	h.SetSeed(hashSeed)
	var buf [4]byte
	for _, k := range active {
		buf[0], buf[1], buf[2], buf[3] = byte(k), byte(k>>8), byte(k>>16), byte(k>>24)
		h.Write(buf[:])
	}
	key := h.Sum64()
	for _, br := range b.cache[key] {
		if equalInt32(br.active, active) {
			return br
		}
	}
	br := &batchResult{active: append([]int32(nil), active...)}
	fam := c.rules[s.lo].src.fam
	groupOf := map[groupKey]int{}
	owned := make([][]rng, 0, 4)
	keyOf := func(k int32) groupKey {
		cr := &c.rules[s.lo+int(k)]
		switch cr.act {
		case actAccept, actDrop, actReturn:
			return groupKey{act: cr.act}
		case actGoto:
			return groupKey{act: cr.act, to: cr.to}
		}
		return groupKey{act: cr.act, k: k}
	}
	sizes := map[int32]float64{}
	var all []rng
	emit := func(k int32, lo, hi u128) {
		gk := keyOf(k)
		g, ok := groupOf[gk]
		if !ok {
			g = len(br.groups)
			groupOf[gk] = g
			br.groups = append(br.groups, bgroup{k: k})
			owned = append(owned, nil)
		}
		grp := &br.groups[g]
		if len(grp.rules) == 0 || grp.rules[len(grp.rules)-1] != k {
			grp.rules = append(grp.rules, k)
		}
		r := rng{lo, hi}
		br.pieces = append(br.pieces, piece{k, r})
		owned[g] = appendRange(owned[g], r)
		all = appendRange(all, r)
		sz := addrSet{fam: fam, r: []rng{r}}.size()
		sizes[k] += sz
		if sizes[k] > grp.best {
			grp.best, grp.k = sizes[k], k
		}
	}
	sweep(b.items, isActive, maxU(fam), emit)
	for g := range br.groups {
		br.groups[g].owned = addrSet{fam: fam, r: owned[g]}
		rs := br.groups[g].rules
		sort.Slice(rs, func(i, j int) bool { return rs[i] < rs[j] })
		br.groups[g].rules = dedupInt32(rs)
	}
	br.union = addrSet{fam: fam, r: all}
	b.cache[key] = append(b.cache[key], br)
	return br
}

type groupKey struct {
	act actKind
	to  *cchain
	k   int32
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
		for j := i; j < n; j++ {
			if isActive[items[j].k] {
				if items[j].lo.less(end) || items[j].lo == end {
					if items[j].k < h[0].k {
						end = items[j].lo.dec()
					} else {
						// a later rule starting inside does not take over; keep looking
						continue
					}
				}
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

func equalInt32(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func dedupInt32(a []int32) []int32 {
	out := a[:0]
	for i, x := range a {
		if i == 0 || x != a[i-1] {
			out = append(out, x)
		}
	}
	return out
}
