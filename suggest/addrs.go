package suggest

import (
	"net/netip"
	"slices"

	"github.com/fwaudit/fwaudit/firewall"
)

// addrs is a set of addresses of one family as sorted, disjoint,
// non-adjacent inclusive ranges. suggest needs only a little set
// arithmetic (is what the suggestion admits inside what today's rules
// admit; which side of a verdict is smaller), so it keeps its own.
type addrs []span

type span struct{ lo, hi netip.Addr }

// lastAddr is the highest address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	p = p.Masked()
	a := p.Addr()
	if a.Is4() {
		b := a.As4()
		for i := p.Bits(); i < 32; i++ {
			b[i/8] |= 0x80 >> (i % 8)
		}
		return netip.AddrFrom4(b)
	}
	b := a.As16()
	for i := p.Bits(); i < 128; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	return netip.AddrFrom16(b)
}

// addrsOf is the union of ps (all of one family).
func addrsOf(ps []netip.Prefix) addrs {
	var out addrs
	for _, p := range ps {
		if p.IsValid() {
			out = append(out, span{p.Masked().Addr(), lastAddr(p)})
		}
	}
	return out.normalize()
}

// allAddrs is the whole address space of fam.
func allAddrs(fam firewall.Family) addrs {
	if fam == firewall.IPv6 {
		return addrsOf([]netip.Prefix{netip.MustParsePrefix("::/0")})
	}
	return addrsOf([]netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")})
}

func (a addrs) normalize() addrs {
	if len(a) == 0 {
		return nil
	}
	s := slices.Clone(a)
	slices.SortFunc(s, func(x, y span) int { return x.lo.Compare(y.lo) })
	out := addrs{s[0]}
	for _, r := range s[1:] {
		last := &out[len(out)-1]
		next := last.hi.Next()
		if !next.IsValid() || r.lo.Compare(next) <= 0 {
			// overlapping or adjacent (or last already ends the space)
			if r.hi.Compare(last.hi) > 0 {
				last.hi = r.hi
			}
			continue
		}
		out = append(out, r)
	}
	return out
}

// subtract is a without b, in one pass over both (sorted): behind a ban
// set either holds 100,000 ranges.
func (a addrs) subtract(b addrs) addrs {
	var out addrs
	j := 0
	for _, r := range a {
		// b's ranges below r are below every later range of a too
		for j < len(b) && b[j].hi.Compare(r.lo) < 0 {
			j++
		}
		lo := r.lo
		done := false
		// one of b's ranges may reach into the next range of a: j stays
		for _, x := range b[j:] {
			if x.lo.Compare(r.hi) > 0 {
				break
			}
			if x.lo.Compare(lo) > 0 {
				out = append(out, span{lo, x.lo.Prev()})
			}
			if x.hi.Compare(r.hi) >= 0 {
				done = true
				break
			}
			lo = x.hi.Next()
		}
		if !done {
			out = append(out, span{lo, r.hi})
		}
	}
	return out.normalize()
}

func (a addrs) equal(b addrs) bool { return slices.Equal(a, b) }

// prefixes is the shortest list of CIDRs covering exactly a.
func (a addrs) prefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, r := range a {
		lo := r.lo
		for {
			width := lo.BitLen()
			var p netip.Prefix
			for bits := 0; bits <= width; bits++ {
				c := netip.PrefixFrom(lo, bits)
				if c.Masked().Addr() == lo && lastAddr(c).Compare(r.hi) <= 0 {
					p = c
					break
				}
			}
			out = append(out, p)
			end := lastAddr(p)
			if end.Compare(r.hi) >= 0 {
				break
			}
			lo = end.Next()
		}
	}
	return out
}

// fraction is the share of the family's address space in a, roughly.
func (a addrs) fraction(fam firewall.Family) float64 {
	var n float64
	for _, p := range a.prefixes() {
		n += pow2(p.Addr().BitLen() - p.Bits())
	}
	if fam == firewall.IPv6 {
		return n / pow2(128)
	}
	return n / pow2(32)
}

func pow2(n int) float64 {
	f := 1.0
	for range n {
		f *= 2
	}
	return f
}
