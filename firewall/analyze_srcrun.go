package firewall

import (
	"container/heap"
	"slices"
)

// A run of rules that match on the source alone and accept or drop (a
// blocklist of 100,000 -s x/32 -j DROP) is taken in one sweep: a rule is
// reached where it is the first of the run to hold an address the region
// still has, and the region loses the union of their sources at once.
// Taken one by one, each rule would cost a pass over every source taken
// before it.

// srcRunRule: cr's match is its source alone and it ends the walk for
// whatever it matches.
func (sp *setPass) srcRunRule(cr *crule) bool {
	p := sp.part(cr)
	return p != nil && p.srcAll && !p.maybe && (cr.act == actAccept || cr.act == actDrop)
}

// srcRun takes the rules of c from i on that srcRunRule holds for (and
// rules that match nothing, between them) and returns the index after
// them; runs shorter than minSrcRun are left to the rule-by-rule walk
// (returns i).
func (sp *setPass) srcRun(c *cchain, i int, r *region) int {
	j := i
	n := 0
	for j < len(c.rules) {
		cr := &c.rules[j]
		if sp.part(cr) == nil {
			j++
			continue
		}
		if !sp.srcRunRule(cr) {
			break
		}
		n++
		j++
	}
	if n < minSrcRun {
		return i
	}
	sp.work += len(r.boxes) + (j - i)
	type piece struct {
		rng
		k int
	}
	var ps []piece
	var all []rng
	for k := i; k < j; k++ {
		if p := sp.part(&c.rules[k]); p != nil {
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
			for b := range r.boxes {
				sp.work++
				if srcMeets(seg, r.boxes[b].src, &r.gone) {
					sp.reached[cr] = true
					break
				}
			}
		}
	}
	r.gone.add(setOf(sp.fam, all))
	return j
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
