package suggest

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

// subtract gives what a bitmap of the same addresses does, on random
// sets of a small space, the ends of the IPv4 space among them, with
// ranges of b that reach across several ranges of a and into the next.
func TestSubtractAgainstBitmap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const size = 600
	addr := func(i int) netip.Addr {
		if i >= size/2 { // the top of the space: its last address too
			i = 0xffffffff - (size - 1 - i)
		}
		return netip.AddrFrom4([4]byte{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)})
	}
	random := func(bits *[size]bool) addrs {
		var ps []span
		for range r.IntN(30) {
			lo := r.IntN(size)
			hi := min(lo+r.IntN([]int{3, 40, 300}[r.IntN(3)]), size-1)
			if lo < size/2 && hi >= size/2 {
				hi = size/2 - 1 // one run of the space to the other is no range
			}
			for i := lo; i <= hi; i++ {
				bits[i] = true
			}
			ps = append(ps, span{addr(lo), addr(hi)})
		}
		return addrs(ps).normalize()
	}
	for range 3000 {
		var ab, bb [size]bool
		a, b := random(&ab), random(&bb)
		got := a.subtract(b)
		var want [size]bool
		for i := range want {
			want[i] = ab[i] && !bb[i]
		}
		var back [size]bool
		for i := range back {
			x := addr(i)
			for _, s := range got {
				if s.lo.Compare(x) <= 0 && x.Compare(s.hi) <= 0 {
					back[i] = true
				}
			}
		}
		if back != want {
			t.Fatalf("%v without %v: %v", a, b, got)
		}
		if !got.equal(got.normalize()) {
			t.Fatalf("%v without %v: %v is not sorted and joined", a, b, got)
		}
	}
}

// outermost keeps what the pairwise check keeps, in the same order, on
// random lists of nested, equal and disjoint prefixes of both families.
func TestOutermostAgainstPairs(t *testing.T) {
	pairwise := func(ps []netip.Prefix) []netip.Prefix {
		var out []netip.Prefix
		for i, p := range ps {
			inside := false
			for j, q := range ps {
				if i != j && q.Bits() <= p.Bits() && q.Contains(p.Addr()) && (q.Bits() < p.Bits() || j < i) {
					inside = true
				}
			}
			if !inside {
				out = append(out, p)
			}
		}
		return out
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 3000 {
		var ps []netip.Prefix
		for range r.IntN(25) {
			var p netip.Prefix
			if r.IntN(5) == 0 {
				p = netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(r.IntN(4))}), 30+r.IntN(10))
			} else {
				p = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(r.IntN(4)), byte(r.IntN(4)), byte(r.IntN(8))}), 8+r.IntN(25))
			}
			ps = append(ps, p.Masked())
		}
		if got, want := outermost(ps), pairwise(ps); !slices.Equal(got, want) {
			t.Fatalf("outermost(%v) = %v, want %v", ps, got, want)
		}
	}
}
