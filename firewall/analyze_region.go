package firewall

import (
	"encoding/binary"
	"slices"
	"sort"
)

// The region the set pass carries: the packets still unmatched, kept per
// class of destination ports. The rules in scope cut the ports into
// classes (no rule tells two ports of one class apart), and the region
// maps each class to a bucket of boxes over the other dimensions. Classes
// next to each other with the same bucket are one run, so a rule on one
// port touches the run of that port's class and no box of any other
// port; buckets are never changed once in a region, and a rule that
// touches many runs with one bucket works on that bucket once.

// box is the packets with a class of each small dimension in m, a source
// port in sport and a source in src (their destination port is the class
// the box is kept under).
type box struct {
	m     [nDims]uint64
	sport portSet
	src   addrSet
}

// othersMeet: a and b share packets but for the source.
func (a *box) othersMeet(b *box) bool {
	for d := range a.m {
		if a.m[d]&b.m[d] == 0 {
			return false
		}
	}
	return a.sport.overlaps(b.sport)
}

// bucket is the boxes of one or more classes of destination ports; nil
// is none. merged is the number of boxes after the last merge, seen the
// stamp of the last look at it (so that a look visits it once).
type bucket struct {
	boxes  []box
	merged int
	seen   uint64
}

// run is the classes from lo to the next run's lo (the last: to the last
// class), all with bucket b.
type run struct {
	lo uint16
	b  *bucket
}

// region is a set of packets: its runs' boxes, less the sources in gone
// (taken by rules that match on the source alone; kept apart so that such
// a rule costs one union, not one subtraction per box).
type region struct {
	runs []run
	gone goneSet
}

// empty: no box is left.
func (r *region) empty() bool {
	for _, x := range r.runs {
		if x.b != nil {
			return false
		}
	}
	return true
}

// runAt is the index of the run holding class k.
func runAt(runs []run, k uint16) int {
	return sort.Search(len(runs), func(i int) bool { return runs[i].lo > k }) - 1
}

// portClasses are the classes of destination ports of the set pass: class
// k is the ports from lo[k] to lo[k+1]-1 (the last to 65535).
type dportClasses struct {
	lo []uint16
}

// newDportClasses cuts the ports at every bound of the ranges in rs.
func newDportClasses(rs []PortRange) dportClasses {
	lo := []uint16{0}
	for _, r := range rs {
		lo = append(lo, r.Lo)
		if r.Hi < 65535 {
			lo = append(lo, r.Hi+1)
		}
	}
	slices.Sort(lo)
	return dportClasses{lo: slices.Compact(lo)}
}

// of is the class of port p.
func (dc dportClasses) of(p uint16) uint16 {
	return uint16(sort.Search(len(dc.lo), func(i int) bool { return dc.lo[i] > p }) - 1)
}

// classes turns a set of ports whose bounds are those of the classes into
// the set of their classes.
func (dc dportClasses) classes(s portSet) portSet {
	out := make(portSet, 0, len(s))
	for _, r := range s {
		out = append(out, PortRange{dc.of(r.Lo), dc.of(r.Hi)})
	}
	return out
}

// last is the last class.
func (dc dportClasses) last() uint16 { return uint16(len(dc.lo) - 1) }

// mapRuns replaces the bucket of every class of set by f's out and
// returns, when keep, f's in for those classes as runs (nil elsewhere).
// f sees each bucket once (what it returns for one it returns for all
// runs that hold it) and is not called for nil.
func (sp *setPass) mapRuns(r *region, set portSet, keep bool, f func(*bucket) (in, out *bucket)) (inRuns []run) {
	type res struct{ in, out *bucket }
	memo := map[*bucket]res{}
	apply := func(b *bucket) res {
		if b == nil {
			return res{}
		}
		if x, ok := memo[b]; ok {
			return x
		}
		in, out := f(b)
		memo[b] = res{in, out}
		return memo[b]
	}
	last := sp.dc.last()
	var ins []run // in parts, in order, with their ends
	var insHi []uint16
	for _, sr := range set {
		if sr.Lo > last {
			break
		}
		lo, hi := sr.Lo, min(sr.Hi, last)
		runs := r.runs
		a, b := runAt(runs, lo), runAt(runs, hi)
		repl := make([]run, 0, b-a+3)
		if runs[a].lo < lo {
			repl = append(repl, runs[a])
		}
		for i := a; i <= b; i++ {
			sp.work++
			x := apply(runs[i].b)
			start := max(runs[i].lo, lo)
			repl = append(repl, run{start, x.out})
			if keep {
				end := last
				if i+1 < len(runs) {
					end = runs[i+1].lo - 1
				}
				ins = append(ins, run{start, x.in})
				insHi = append(insHi, min(end, hi))
			}
		}
		if hi < last && (b+1 == len(runs) || runs[b+1].lo > hi+1) {
			repl = append(repl, run{hi + 1, runs[b].b})
		}
		// join runs with one bucket, with the neighbours too
		from, to := a, b+1
		if from > 0 {
			from--
			repl = append([]run{runs[from]}, repl...)
		}
		if to < len(runs) {
			repl = append(repl, runs[to])
			to++
		}
		j := 0
		for _, x := range repl {
			if j > 0 && repl[j-1].b == x.b {
				continue
			}
			repl[j] = x
			j++
		}
		r.runs = slices.Replace(runs, from, to, repl[:j]...)
	}
	if !keep {
		return nil
	}
	// the in parts as a whole map of classes
	next := 0
	for i, x := range ins {
		if int(x.lo) > next {
			inRuns = appendRun(inRuns, run{uint16(next), nil})
		}
		inRuns = appendRun(inRuns, x)
		next = int(insHi[i]) + 1
	}
	if next <= int(last) {
		inRuns = appendRun(inRuns, run{uint16(next), nil})
	}
	return inRuns
}

// appendRun appends x to runs, joined with the last run when they have
// one bucket.
func appendRun(runs []run, x run) []run {
	if n := len(runs); n > 0 && runs[n-1].b == x.b {
		return runs
	}
	return append(runs, x)
}

// union is the packets of a or b (by class; the buckets' boxes together,
// merged); gone is a's.
func (sp *setPass) union(a, b []run) []run {
	type pair struct{ x, y *bucket }
	memo := map[pair]*bucket{}
	var out []run
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		lo := max(a[i].lo, b[j].lo)
		x, y := a[i].b, b[j].b
		var nb *bucket
		switch {
		case x == nil:
			nb = y
		case y == nil:
			nb = x
		default:
			k := pair{x, y}
			var ok bool
			if nb, ok = memo[k]; !ok {
				boxes := make([]box, 0, len(x.boxes)+len(y.boxes))
				boxes = append(append(boxes, x.boxes...), y.boxes...)
				nb = sp.merge(boxes)
				memo[k] = nb
			}
		}
		sp.work++
		out = appendRun(out, run{lo, nb})
		// step past whichever run ends first
		endA, endB := 65536, 65536
		if i+1 < len(a) {
			endA = int(a[i+1].lo)
		}
		if j+1 < len(b) {
			endB = int(b[j+1].lo)
		}
		if endA <= endB {
			i++
		}
		if endB <= endA {
			j++
		}
	}
	return out
}

// merge makes a bucket of boxes, joining those that differ in their
// sources only (the pieces of a split that a jump's return brings back,
// say), so that a bucket holds about as many boxes as the classes rules
// name; nil when there are none.
func (sp *setPass) merge(boxes []box) *bucket {
	if len(boxes) == 0 {
		return nil
	}
	if len(boxes) == 1 {
		return &bucket{boxes: boxes, merged: 1}
	}
	at := make(map[string]int, len(boxes))
	out := make([]box, 0, len(boxes))
	var key []byte
	for _, b := range boxes {
		sp.work++
		key = key[:0]
		for _, w := range b.m {
			key = binary.LittleEndian.AppendUint64(key, w)
		}
		for _, x := range b.sport {
			key = binary.LittleEndian.AppendUint16(key, x.Lo)
			key = binary.LittleEndian.AppendUint16(key, x.Hi)
		}
		if k, ok := at[string(key)]; ok {
			out[k].src = out[k].src.union(b.src)
			continue
		}
		at[string(key)] = len(out)
		out = append(out, b)
	}
	return &bucket{boxes: out, merged: len(out)}
}

// newBucket makes a bucket of boxes, merged when they have grown well
// past the last merge of the bucket they came from (merged).
func (sp *setPass) newBucket(boxes []box, merged int) *bucket {
	if len(boxes) == 0 {
		return nil
	}
	if len(boxes) > 2*merged+8 {
		return sp.merge(boxes)
	}
	return &bucket{boxes: boxes, merged: merged}
}

// splitBox divides a into the packets in b with a source in src (in) and
// the rest (out, as disjoint boxes); in is nil when they share none.
func splitBox(a box, b *box, src addrSet) (in *box, out []box) {
	if !a.othersMeet(b) || !a.src.overlaps(src) {
		return nil, []box{a}
	}
	cur := a
	for d := range cur.m {
		if rest := cur.m[d] &^ b.m[d]; rest != 0 {
			o := cur
			o.m[d] = rest
			out = append(out, o)
			cur.m[d] &= b.m[d]
		}
	}
	if !b.sport.isAll() {
		if rest := cur.sport.subtract(b.sport); len(rest) > 0 {
			o := cur
			o.sport = rest
			out = append(out, o)
		}
		cur.sport = cur.sport.intersect(b.sport)
	}
	if !src.isFull() {
		if rest := cur.src.subtract(src); !rest.isEmpty() {
			o := cur
			o.src = rest
			out = append(out, o)
		}
		cur.src = cur.src.intersect(src)
	}
	return &cur, out
}

// materialize applies the sources r's walk has lost (not those of the
// chains that called it) to its boxes: they are then as the caller holds
// its own.
func (sp *setPass) materialize(r region) []run {
	if len(r.gone.layers) == 0 || len(r.runs) == 0 {
		return r.runs
	}
	r.runs = slices.Clone(r.runs) // the caller's runs stay as they are
	all := portSet{{0, sp.dc.last()}}
	sp.mapRuns(&r, all, false, func(b *bucket) (_, out *bucket) {
		var boxes []box
		for _, x := range b.boxes {
			sp.work++
			if s := r.gone.fromOwn(x.src); !s.isEmpty() {
				x.src = s
				boxes = append(boxes, x)
			}
		}
		if len(boxes) == len(b.boxes) && slices.EqualFunc(boxes, b.boxes, func(x, y box) bool { return x.src.same(y.src) }) {
			return nil, b
		}
		return nil, sp.newBucket(boxes, b.merged)
	})
	return r.runs
}
