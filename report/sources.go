package report

import (
	"math/bits"
	"net/netip"
	"sort"
)

// A sourceSet is a set of source addresses of one family, as sorted,
// disjoint, non-adjacent ranges: what a report's prefixes stand for, so
// that two reports can be compared by the addresses they admit rather than
// by how the prefixes happen to be written.
type sourceSet struct {
	v6 bool
	r  []addrRange
}

type addrRange struct{ lo, hi u128 }

// u128 is an address as a number: IPv4 addresses use the low 32 bits.
type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || a.hi == b.hi && a.lo < b.lo }

func (a u128) addOne() (u128, bool) {
	lo, c := bits.Add64(a.lo, 1, 0)
	hi, c2 := bits.Add64(a.hi, 0, c)
	return u128{hi, lo}, c2 != 0
}

func (a u128) subOne() u128 {
	lo, b := bits.Sub64(a.lo, 1, 0)
	hi, _ := bits.Sub64(a.hi, 0, b)
	return u128{hi, lo}
}

// ones is 2^n - 1.
func ones(n int) u128 {
	switch {
	case n >= 128:
		return u128{^uint64(0), ^uint64(0)}
	case n > 64:
		return u128{^uint64(0) >> (128 - n), ^uint64(0)}
	case n == 64:
		return u128{0, ^uint64(0)}
	case n <= 0:
		return u128{}
	}
	return u128{0, ^uint64(0) >> (64 - n)}
}

func (a u128) or(b u128) u128 { return u128{a.hi | b.hi, a.lo | b.lo} }

func (a u128) trailingZeros() int {
	if a.lo != 0 {
		return bits.TrailingZeros64(a.lo)
	}
	if a.hi != 0 {
		return 64 + bits.TrailingZeros64(a.hi)
	}
	return 128
}

func (s sourceSet) width() int {
	if s.v6 {
		return 128
	}
	return 32
}

func toU128(a netip.Addr) u128 {
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

func (s sourceSet) addr(n u128) netip.Addr {
	if !s.v6 {
		v := uint32(n.lo)
		return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	}
	var b [16]byte
	for i := 0; i < 8; i++ {
		b[7-i] = byte(n.hi >> (8 * i))
		b[15-i] = byte(n.lo >> (8 * i))
	}
	return netip.AddrFrom16(b)
}

// parseSources reads a report's prefixes ("10.0.0.0/8", "::/0") of one
// family; a prefix that does not parse or is of the other family is
// skipped, as no report of ours writes one.
func parseSources(v6 bool, ps []string) sourceSet {
	s := sourceSet{v6: v6}
	for _, p := range ps {
		pf, err := netip.ParsePrefix(p)
		if err != nil || pf.Addr().Is4() == v6 {
			continue
		}
		pf = pf.Masked()
		lo := toU128(pf.Addr())
		host := s.width() - pf.Bits()
		s.r = append(s.r, addrRange{lo, lo.or(ones(host))})
	}
	return s.normal()
}

func fullSources(v6 bool) sourceSet {
	s := sourceSet{v6: v6}
	return sourceSet{v6: v6, r: []addrRange{{u128{}, ones(s.width())}}}
}

// normal sorts and merges overlapping and adjacent ranges.
func (s sourceSet) normal() sourceSet {
	sort.Slice(s.r, func(i, j int) bool { return s.r[i].lo.less(s.r[j].lo) })
	var out []addrRange
	for _, r := range s.r {
		if n := len(out); n > 0 {
			last := &out[n-1]
			next, over := last.hi.addOne()
			if over || !next.less(r.lo) { // overlaps or touches
				if last.hi.less(r.hi) {
					last.hi = r.hi
				}
				continue
			}
		}
		out = append(out, r)
	}
	s.r = out
	return s
}

func (s sourceSet) isEmpty() bool { return len(s.r) == 0 }

func (s sourceSet) union(t sourceSet) sourceSet {
	return sourceSet{v6: s.v6, r: append(append([]addrRange{}, s.r...), t.r...)}.normal()
}

// minus is what s holds and t does not, in one pass over both (both are
// sorted and disjoint: a ban set of 100,000 ranges costs 100,000 steps).
func (s sourceSet) minus(t sourceSet) sourceSet {
	out := sourceSet{v6: s.v6}
	j := 0
	for _, r := range s.r {
		lo, hi := r.lo, r.hi
		done := false
		// skip t's ranges wholly below this one
		for j < len(t.r) && t.r[j].hi.less(lo) {
			j++
		}
		for k := j; k < len(t.r) && !hi.less(t.r[k].lo); k++ {
			c := t.r[k]
			if lo.less(c.lo) {
				out.r = append(out.r, addrRange{lo, c.lo.subOne()})
			}
			if !c.hi.less(hi) {
				done = true // c covers the rest of r
				break
			}
			lo, _ = c.hi.addOne()
		}
		if !done {
			out.r = append(out.r, addrRange{lo, hi})
		}
	}
	return out
}

// prefixes writes the set as the fewest CIDR prefixes, in address order.
func (s sourceSet) prefixes() []string {
	out := []string{}
	w := s.width()
	for _, r := range s.r {
		lo := r.lo
		for {
			k := lo.trailingZeros()
			if k > w {
				k = w
			}
			for ; k > 0; k-- {
				end := lo.or(ones(k))
				if !r.hi.less(end) {
					break
				}
			}
			end := lo.or(ones(k))
			out = append(out, netip.PrefixFrom(s.addr(lo), w-k).String())
			if end == r.hi {
				break
			}
			lo, _ = end.addOne()
		}
	}
	return out
}

// fraction is the share of the family's addresses the set holds, for
// saying "everyone except …" rather than listing half the internet.
func (s sourceSet) fraction() float64 {
	total := 0.0
	for _, r := range s.r {
		total += float64(r.hi.hi-r.lo.hi)*18446744073709551616.0 + float64(r.hi.lo) - float64(r.lo.lo) + 1
	}
	all := 4294967296.0
	if s.v6 {
		all = 340282366920938463463374607431768211456.0
	}
	return total / all
}
