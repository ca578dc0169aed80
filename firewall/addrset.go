package firewall

import (
	"math"
	"math/bits"
	"net/netip"
)

// u128 is an address as a 128-bit number; IPv4 addresses use lo only.
type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo) }
func (a u128) cmp(b u128) int {
	switch {
	case a.less(b):
		return -1
	case b.less(a):
		return 1
	}
	return 0
}
func (a u128) inc() u128 {
	lo := a.lo + 1
	hi := a.hi
	if lo == 0 {
		hi++
	}
	return u128{hi, lo}
}
func (a u128) dec() u128 {
	lo := a.lo - 1
	hi := a.hi
	if a.lo == 0 {
		hi--
	}
	return u128{hi, lo}
}

func addrToU(a netip.Addr) u128 {
	if a.Is4() {
		b := a.As4()
		return u128{0, uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])}
	}
	b := a.As16()
	var hi, lo uint64
	for i := 0; i < 8; i++ {
		hi = hi<<8 | uint64(b[i])
		lo = lo<<8 | uint64(b[i+8])
	}
	return u128{hi, lo}
}

func uToAddr(u u128, fam Family) netip.Addr {
	if fam == IPv4 {
		v := uint32(u.lo)
		return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	}
	var b [16]byte
	for i := 0; i < 8; i++ {
		b[7-i] = byte(u.hi >> (8 * i))
		b[15-i] = byte(u.lo >> (8 * i))
	}
	return netip.AddrFrom16(b)
}

// maxU is the largest address of a family.
func maxU(fam Family) u128 {
	if fam == IPv4 {
		return u128{0, math.MaxUint32}
	}
	return u128{math.MaxUint64, math.MaxUint64}
}

// rng is an inclusive address range.
type rng struct{ lo, hi u128 }

// addrSet is a set of addresses of one family: sorted, disjoint,
// non-adjacent inclusive ranges. The zero value is the empty set of the
// family it is combined with; use fullSet/emptySet to name the family.
type addrSet struct {
	fam Family
	r   []rng
}

var (
	full4 = []rng{{u128{}, maxU(IPv4)}}
	full6 = []rng{{u128{}, maxU(IPv6)}}
)

func emptySet(fam Family) addrSet { return addrSet{fam: fam} }

// fullSet shares one range list per family: sets are never changed in
// place.
func fullSet(fam Family) addrSet {
	if fam == IPv4 {
		return addrSet{fam: fam, r: full4}
	}
	return addrSet{fam: fam, r: full6}
}

// prefixSet is the set of addresses of p (masked).
func prefixSet(fam Family, p netip.Prefix) addrSet {
	return addrSet{fam: fam, r: []rng{prefixRange(fam, p)}}
}

func prefixRange(fam Family, p netip.Prefix) rng {
	p = p.Masked()
	lo := addrToU(p.Addr())
	width := 32
	if fam == IPv6 {
		width = 128
	}
	host := width - p.Bits()
	hi := lo
	// set the host bits
	if host >= 64 {
		hi.lo = math.MaxUint64
		hi.hi |= mask64(host - 64)
	} else {
		hi.lo |= mask64(host)
	}
	return rng{lo, hi}
}

// mask64 has the low n bits set (n <= 64).
func mask64(n int) uint64 {
	if n >= 64 {
		return math.MaxUint64
	}
	return 1<<uint(n) - 1
}

func rangeSet(fam Family, lo, hi netip.Addr) addrSet {
	l, h := addrToU(lo), addrToU(hi)
	if h.less(l) {
		return emptySet(fam)
	}
	return addrSet{fam: fam, r: []rng{{l, h}}}
}

func (s addrSet) isEmpty() bool { return len(s.r) == 0 }

// same tells whether s and t are one range list (sets are never changed
// in place, so one list is one set): interfaces of one class, or a set
// combined with what it was made from, share theirs.
func (s addrSet) same(t addrSet) bool {
	return len(s.r) == len(t.r) && (len(s.r) == 0 || &s.r[0] == &t.r[0])
}
func (s addrSet) isFull() bool {
	return len(s.r) == 1 && s.r[0].lo == (u128{}) && s.r[0].hi == maxU(s.fam)
}

func (s addrSet) equal(t addrSet) bool {
	if len(s.r) != len(t.r) {
		return false
	}
	for i := range s.r {
		if s.r[i] != t.r[i] {
			return false
		}
	}
	return true
}

func (s addrSet) contains(a netip.Addr) bool {
	u := addrToU(a)
	lo, hi := 0, len(s.r)
	for lo < hi {
		m := (lo + hi) / 2
		if s.r[m].hi.less(u) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo < len(s.r) && !u.less(s.r[lo].lo)
}

// within reports whether every address of s is in t (s ⊆ t), with a
// binary search in t per range of s: cheap when s is small and t large.
func (s addrSet) within(t addrSet) bool {
	for _, r := range s.r {
		lo, hi := 0, len(t.r)
		for lo < hi {
			m := (lo + hi) / 2
			if t.r[m].hi.less(r.lo) {
				lo = m + 1
			} else {
				hi = m
			}
		}
		// t's ranges never touch, so one of them must hold all of r
		if lo == len(t.r) || r.lo.less(t.r[lo].lo) || t.r[lo].hi.less(r.hi) {
			return false
		}
	}
	return true
}

// appendRange adds r to a sorted range list, merging with the last range
// when they overlap or touch.
func appendRange(out []rng, r rng) []rng {
	if n := len(out); n > 0 {
		last := &out[n-1]
		if joins(*last, r) {
			if last.hi.less(r.hi) {
				last.hi = r.hi
			}
			return out
		}
	}
	return append(out, r)
}

// joins tells whether r, starting no lower than last, overlaps or
// touches it: the two are one range.
func joins(last, r rng) bool {
	return last.hi.hi == math.MaxUint64 && last.hi.lo == math.MaxUint64 || !last.hi.inc().less(r.lo)
}

// smallOp is the operand size below which set operations on a large set
// use binary search and copy the untouched parts instead of merging.
const smallOp = 8

// span is the index range [i, j) of s's ranges that overlap or touch
// [lo, hi].
func (s addrSet) span(lo, hi u128) (int, int) {
	n := len(s.r)
	i := sortSearch(n, func(k int) bool { return !s.r[k].hi.inc().less(lo) || s.r[k].hi == maxU(s.fam) })
	j := sortSearch(n, func(k int) bool { return hi.inc().less(s.r[k].lo) && hi != maxU(s.fam) })
	if hi == maxU(s.fam) {
		j = n
	}
	return i, j
}

func sortSearch(n int, f func(int) bool) int {
	lo, hi := 0, n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if !f(m) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// spliceOp applies op to the part of big near small and copies the rest.
func spliceOp(big, small addrSet, op func(a, b addrSet) addrSet) addrSet {
	lo, hi := small.r[0].lo, small.r[len(small.r)-1].hi
	i, j := big.span(lo, hi)
	mid := op(addrSet{fam: big.fam, r: big.r[i:j]}, small)
	if mid.equal(addrSet{fam: big.fam, r: big.r[i:j]}) {
		return big // nothing changed: share the ranges (sets are immutable)
	}
	out := make([]rng, 0, i+len(mid.r)+len(big.r)-j)
	out = append(out, big.r[:i]...)
	for _, r := range mid.r {
		out = appendRange(out, r)
	}
	for _, r := range big.r[j:] {
		if len(out) > 0 && !out[len(out)-1].hi.less(r.lo.dec()) && r.lo != (u128{}) {
			out = appendRange(out, r)
			continue
		}
		out = append(out, r)
	}
	return addrSet{fam: big.fam, r: out}
}

// overlaps tells whether s and t share an address, in O(n log m) for the
// smaller n and the larger m of their sizes.
func (s addrSet) overlaps(t addrSet) bool {
	if len(t.r) > len(s.r) {
		s, t = t, s // search the larger one
	}
	for _, r := range t.r {
		i := sortSearch(len(s.r), func(k int) bool { return !s.r[k].hi.less(r.lo) })
		if i < len(s.r) && !r.hi.less(s.r[i].lo) {
			return true
		}
	}
	return false
}

func (s addrSet) union(t addrSet) addrSet {
	// equal sets: the union of what each interface admits is most often
	// one set of 100,000 ranges met again; comparing costs no memory
	if len(t.r) == 0 || s.same(t) || len(s.r) == len(t.r) && s.equal(t) {
		return s
	}
	if len(s.r) == 0 {
		return addrSet{fam: t.fam, r: t.r}
	}
	if len(t.r) <= smallOp && len(s.r) > 4*smallOp {
		return spliceOp(s, t, addrSet.mergeUnion)
	}
	if len(s.r) <= smallOp && len(t.r) > 4*smallOp {
		return spliceOp(t, s, addrSet.mergeUnion)
	}
	return s.mergeUnion(t)
}

func (s addrSet) mergeUnion(t addrSet) addrSet {
	if len(t.r) == 0 {
		return s
	}
	if len(s.r) == 0 {
		return addrSet{fam: t.fam, r: t.r}
	}
	n := len(s.r) + len(t.r)
	if n > exactFrom {
		// two sets of 100,000 ranges most often share most of them:
		// counted first, the list is not made twice as long as it needs
		n = 0
		s.eachUnion(t, func(*rng) { n++ })
	}
	out := make([]rng, 0, n)
	s.eachUnion(t, func(r *rng) { out = append(out, *r) })
	return addrSet{fam: s.fam, r: out}
}

// exactFrom is the number of ranges from which mergeUnion counts its
// output before making it.
const exactFrom = 1 << 14

// eachUnion calls f with each range of s ∪ t, in address order: the
// ranges s.mergeUnion(t) holds, without making the list.
func (s addrSet) eachUnion(t addrSet, f func(*rng)) {
	var cur rng
	started := false
	i, j := 0, 0
	for i < len(s.r) || j < len(t.r) {
		var r rng
		if j >= len(t.r) || (i < len(s.r) && s.r[i].lo.less(t.r[j].lo)) {
			r = s.r[i]
			i++
		} else {
			r = t.r[j]
			j++
		}
		switch {
		case !started:
			cur, started = r, true
		case joins(cur, r):
			if cur.hi.less(r.hi) {
				cur.hi = r.hi
			}
		default:
			f(&cur)
			cur = r
		}
	}
	if started {
		f(&cur)
	}
}

func (s addrSet) intersect(t addrSet) addrSet {
	if len(s.r) == 0 || len(t.r) == 0 {
		return addrSet{fam: s.fam}
	}
	if s.same(t) {
		return s
	}
	if t.isFull() {
		return s
	}
	if s.isFull() {
		return addrSet{fam: s.fam, r: t.r}
	}
	if s.fewAgainst(t) {
		return s.intersectFew(t)
	}
	if t.fewAgainst(s) {
		return t.intersectFew(s)
	}
	return s.mergeIntersect(t)
}

// fewOf: a set of at most 1/fewOf the ranges of another is intersected
// with it range by range (intersectFew).
const fewOf = 32

// fewAgainst tells whether s is intersected with t range by range: it
// holds at most smallOp ranges against more than 4*smallOp, or at most
// 1/fewOf of t's.
func (s addrSet) fewAgainst(t addrSet) bool {
	return len(s.r) <= smallOp && len(t.r) > 4*smallOp || len(s.r)*fewOf <= len(t.r)
}

// intersectFew is s ∩ t for an s of far fewer ranges than t: for each
// range of s, the ranges of t it overlaps, found by binary search and
// copied as they are, the two at its ends cut to it. A set of 100 ranges
// within a ban set's complement of 100,000 costs 200 searches and a copy,
// where a merge calls a function for every range.
func (s addrSet) intersectFew(t addrSet) addrSet {
	type run struct{ i, j int }
	runs := make([]run, len(s.r))
	n := 0
	for k, a := range s.r {
		// the ranges of t that end at or after a's start and start at
		// or before its end
		i := sortSearch(len(t.r), func(m int) bool { return !t.r[m].hi.less(a.lo) })
		j := i + sortSearch(len(t.r)-i, func(m int) bool { return a.hi.less(t.r[i+m].lo) })
		runs[k] = run{i, j}
		n += j - i
	}
	out := make([]rng, 0, n)
	for k, a := range s.r {
		i, j := runs[k].i, runs[k].j
		if i == j {
			continue
		}
		out = append(out, t.r[i:j]...)
		first, last := &out[len(out)-(j-i)], &out[len(out)-1]
		if first.lo.less(a.lo) {
			first.lo = a.lo
		}
		if a.hi.less(last.hi) {
			last.hi = a.hi
		}
	}
	return addrSet{fam: s.fam, r: out}
}

func (s addrSet) mergeIntersect(t addrSet) addrSet {
	// counting first is cheaper than growing the output
	n := 0
	s.eachIntersection(t, func(rng) { n++ })
	out := make([]rng, 0, n)
	s.eachIntersection(t, func(r rng) { out = append(out, r) })
	return addrSet{fam: s.fam, r: out}
}

// eachIntersection calls f with each range of s ∩ t, in address order.
func (s addrSet) eachIntersection(t addrSet, f func(rng)) {
	i, j := 0, 0
	for i < len(s.r) && j < len(t.r) {
		a, b := &s.r[i], &t.r[j]
		lo, hi := a.lo, a.hi
		if lo.less(b.lo) {
			lo = b.lo
		}
		if b.hi.less(hi) {
			hi = b.hi
		}
		if !hi.less(lo) {
			f(rng{lo, hi})
		}
		if a.hi.less(b.hi) {
			i++
		} else {
			j++
		}
	}
}

func (s addrSet) complement() addrSet {
	out := make([]rng, 0, len(s.r)+1)
	s.eachGap(func(r rng) { out = append(out, r) })
	return addrSet{fam: s.fam, r: out}
}

// eachGap calls f with each range of what s lacks, in address order: the
// ranges s.complement() holds, without making the list.
func (s addrSet) eachGap(f func(rng)) {
	next := u128{}
	top := maxU(s.fam)
	for _, r := range s.r {
		if next.less(r.lo) {
			f(rng{next, r.lo.dec()})
		}
		if r.hi == top {
			return
		}
		next = r.hi.inc()
	}
	f(rng{next, top})
}

func (s addrSet) subtract(t addrSet) addrSet {
	if len(s.r) == 0 || len(t.r) == 0 {
		return s
	}
	if s.same(t) {
		return addrSet{fam: s.fam}
	}
	if t.isFull() {
		return addrSet{fam: s.fam}
	}
	if len(t.r) <= smallOp && len(s.r) > 4*smallOp {
		return spliceOp(s, t, addrSet.mergeSubtract)
	}
	return s.mergeSubtract(t)
}

func (s addrSet) mergeSubtract(t addrSet) addrSet {
	if len(s.r) == 0 || len(t.r) == 0 {
		return s
	}
	// a range of t cuts at most one range of s in two, so out holds at
	// most a range more than s per range of t within s's span; the ranges
	// of t below a range of s are skipped by galloping, so that a few
	// ranges taken from a large t (a ban set) cost searches, not a pass
	// (eachDifference)
	ti, tj := t.span(s.r[0].lo, s.r[len(s.r)-1].hi)
	out := make([]rng, 0, len(s.r)+tj-ti)
	s.eachDifference(t, func(r rng) { out = append(out, r) })
	return addrSet{fam: s.fam, r: out}
}

// eachDifference calls f with each range of s without t, in address
// order: the ranges s.subtract(t) holds, without making the list.
func (s addrSet) eachDifference(t addrSet, f func(rng)) {
	if len(s.r) == 0 {
		return
	}
	j := 0
	if len(t.r) > 0 {
		j, _ = t.span(s.r[0].lo, s.r[len(s.r)-1].hi)
	}
	for _, a := range s.r {
		cur := a
		j = gallop(len(t.r), j, func(k int) bool { return t.r[k].hi.less(cur.lo) })
		k := j
		alive := true
		for k < len(t.r) && !cur.hi.less(t.r[k].lo) {
			b := t.r[k]
			if cur.lo.less(b.lo) {
				f(rng{cur.lo, b.lo.dec()})
			}
			if b.hi.less(cur.hi) {
				cur.lo = b.hi.inc()
				k++
				continue
			}
			alive = false
			break
		}
		if alive {
			f(cur)
		}
	}
}

// size is the number of addresses, as a float (IPv6 sets are large).
func (s addrSet) size() float64 {
	var n float64
	for _, r := range s.r {
		n += r.size()
	}
	return n
}

func (r rng) size() float64 {
	d := u128{r.hi.hi - r.lo.hi, r.hi.lo - r.lo.lo}
	if r.hi.lo < r.lo.lo {
		d.hi--
	}
	return float64(d.hi)*18446744073709551616.0 + float64(d.lo) + 1
}

// intersectSize is s.intersect(t).size(), without making the intersection
// (its ranges are met in the same order, so the sum is the same).
func (s addrSet) intersectSize(t addrSet) float64 {
	switch {
	case len(s.r) == 0 || len(t.r) == 0:
		return 0
	case s.same(t) || t.isFull():
		return s.size()
	case s.isFull():
		return t.size()
	}
	if len(t.r) < len(s.r) {
		s, t = t, s // narrow the larger one to the smaller one's span
	}
	i, j := t.span(s.r[0].lo, s.r[len(s.r)-1].hi)
	var n float64
	s.eachIntersection(addrSet{fam: t.fam, r: t.r[i:j]}, func(r rng) { n += r.size() })
	return n
}

// fraction is the share of the family's address space in s.
func (s addrSet) fraction() float64 {
	if s.fam == IPv4 {
		return s.size() / 4294967296.0
	}
	return s.size() / (18446744073709551616.0 * 18446744073709551616.0)
}

// prefixes is the minimal list of CIDR prefixes covering exactly s.
func (s addrSet) prefixes() []netip.Prefix {
	if len(s.r) == 0 {
		return nil
	}
	// counted first: the list of a ban set's 100,000 ranges is large
	out := make([]netip.Prefix, 0, s.prefixCount())
	s.eachPrefix(s.width(), func(lo u128, bits int) { out = append(out, netip.PrefixFrom(uToAddr(lo, s.fam), bits)) })
	return out
}

// prefixCount is the length of s.prefixes().
func (s addrSet) prefixCount() int {
	n := 0
	s.eachPrefix(s.width(), func(u128, int) { n++ })
	return n
}

// packedRanges is an IPv4 set's ranges, or with complement those of
// what it lacks, each packed as its first address<<32 | its last
// (PackedLists); nil for none.
func (s addrSet) packedRanges(complement bool) []uint64 {
	out := make([]uint64, 0, len(s.r)+1)
	pack := func(r rng) { out = append(out, r.lo.lo<<32|r.hi.lo) }
	if complement {
		s.eachGap(pack)
	} else {
		for _, r := range s.r {
			pack(r)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// EachPackedPrefix calls f with each prefix of the minimal list of CIDR
// prefixes covering the packed IPv4 range x (PackedLists), in address
// order, each packed as its address<<8 | its length: what
// addrSet.prefixes gives for the range, in 64-bit arithmetic.
func EachPackedPrefix(x uint64, f func(p uint64)) {
	lo, end := x>>32, x&0xffffffff+1
	for lo < end {
		// the largest block lo is aligned to that ends within the range
		n := min(bits.TrailingZeros64(lo), bits.Len64(end-lo)-1)
		f(lo<<8 | uint64(32-n))
		lo += 1 << n
	}
}

// PackedPrefixCount is the number of prefixes EachPackedPrefix gives for
// x. With the range [a, b) and k the highest bit in which a and b differ,
// c = b with the bits below k cleared splits it: [a, c) takes a block for
// each bit of c-a, [c, b) one for each bit of b-c.
func PackedPrefixCount(x uint64) int {
	a, b := x>>32, x&0xffffffff+1
	c := b &^ (1<<(bits.Len64(a^b)-1) - 1)
	return bits.OnesCount64(c-a) + bits.OnesCount64(b-c)
}

// width is the family's address length in bits.
func (s addrSet) width() int {
	if s.fam == IPv6 {
		return 128
	}
	return 32
}

// eachPrefix calls f with the start and length of each prefix of the
// minimal list covering s, in address order.
func (s addrSet) eachPrefix(width int, f func(lo u128, bits int)) {
	for _, r := range s.r {
		eachRangePrefix(r, width, f)
	}
}

// eachRangePrefix calls f with the start and length of each prefix of
// the minimal list covering r, in address order.
func eachRangePrefix(r rng, width int, f func(lo u128, bits int)) {
	lo := r.lo
	for {
		// the largest block starting at lo that stays within r
		tz := trailingZeros(lo, width)
		var n int
		if lo.hi == r.hi.hi && r.hi.lo-lo.lo < math.MaxUint64 {
			// the range left is hi-lo+1 addresses: the largest
			// power of two in it, if lo is aligned to it
			n = min(tz, bits.Len64(r.hi.lo-lo.lo+1)-1)
		} else {
			for n = tz; n > 0; n-- {
				end := addBlock(lo, n)
				if !r.hi.less(end) {
					break
				}
			}
		}
		f(lo, width-n)
		end := addBlock(lo, n)
		if !end.less(r.hi) {
			return
		}
		lo = end.inc()
	}
}

// addBlock is lo + 2^n - 1 (lo is aligned to 2^n).
func addBlock(lo u128, n int) u128 {
	if n >= 64 {
		return u128{lo.hi | mask64(n-64), math.MaxUint64}
	}
	return u128{lo.hi, lo.lo | mask64(n)}
}

func trailingZeros(u u128, width int) int {
	var tz int
	if u.lo != 0 {
		tz = bits.TrailingZeros64(u.lo)
	} else if u.hi != 0 {
		tz = 64 + bits.TrailingZeros64(u.hi)
	} else {
		tz = 128
	}
	if tz > width {
		tz = width
	}
	return tz
}

// firstAddr is the lowest address in s; ok is false for the empty set.
func (s addrSet) firstAddr() (netip.Addr, bool) {
	if len(s.r) == 0 {
		return netip.Addr{}, false
	}
	return uToAddr(s.r[0].lo, s.fam), true
}

// maskBits is the prefix length of a netmask (255.255.255.0 is 24), -1
// when the mask is not contiguous.
func maskBits(m netip.Addr) int {
	b := m.AsSlice()
	n := 0
	seenZero := false
	for _, x := range b {
		for i := 7; i >= 0; i-- {
			if x&(1<<uint(i)) != 0 {
				if seenZero {
					return -1
				}
				n++
			} else {
				seenZero = true
			}
		}
	}
	return n
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

// unionAll is the union of sets, made in one pass over them all and held
// in one list of the size it needs: what each interface admits is, behind
// a ban set, about 100,000 ranges, and uniting nine of them two at a time
// copied 100,000 ranges eight times. A set met again (the same list, or
// an equal one) counts once; when one set is left it is the answer.
func unionAll(fam Family, sets []addrSet) addrSet {
	var distinct []addrSet
	for _, s := range sets {
		if s.isEmpty() {
			continue
		}
		dup := false
		for _, d := range distinct {
			if d.same(s) || d.equal(s) {
				dup = true
				break
			}
		}
		if !dup {
			distinct = append(distinct, s)
		}
	}
	switch len(distinct) {
	case 0:
		return emptySet(fam)
	case 1:
		return addrSet{fam: fam, r: distinct[0].r}
	case 2:
		return distinct[0].union(distinct[1])
	}
	n := 0
	mergeEach(distinct, func(rng) { n++ })
	out := make([]rng, 0, n)
	mergeEach(distinct, func(r rng) { out = append(out, r) })
	return addrSet{fam: fam, r: out}
}

// mergeEach calls f with each range of the union of sets, in address
// order, ranges that overlap or touch merged (as appendRange does).
func mergeEach(sets []addrSet, f func(rng)) {
	next := make([]int, len(sets))
	var cur rng
	have := false
	for {
		k := -1
		for i, s := range sets {
			if next[i] < len(s.r) && (k < 0 || s.r[next[i]].lo.less(sets[k].r[next[k]].lo)) {
				k = i
			}
		}
		if k < 0 {
			break
		}
		r := sets[k].r[next[k]]
		next[k]++
		switch {
		case !have:
			cur, have = r, true
		case cur.hi.hi == math.MaxUint64 && cur.hi.lo == math.MaxUint64 || !cur.hi.inc().less(r.lo):
			if cur.hi.less(r.hi) {
				cur.hi = r.hi
			}
		default:
			f(cur)
			cur = r
		}
	}
	if have {
		f(cur)
	}
}
