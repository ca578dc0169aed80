package firewall

import (
	"math/rand"
	"net/netip"
	"reflect"
	"slices"
	"testing"
)

func set4(t *testing.T, cidrs ...string) addrSet {
	t.Helper()
	s := emptySet(IPv4)
	for _, c := range cidrs {
		s = s.union(prefixSet(IPv4, netip.MustParsePrefix(c)))
	}
	return s
}

func prefixStrings(ps []netip.Prefix) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

func checkInvariant(t *testing.T, s addrSet) {
	t.Helper()
	for i, r := range s.r {
		if r.hi.less(r.lo) {
			t.Fatalf("range %d inverted: %+v", i, r)
		}
		if i > 0 && !s.r[i-1].hi.inc().less(r.lo) {
			t.Fatalf("ranges %d and %d overlap or touch: %+v %+v", i-1, i, s.r[i-1], r)
		}
	}
}

// model is a set of small IPv4 addresses as a bitmap, to check the
// range arithmetic against.
type model [1100]bool

// randomSet is a set of up to maxRanges ranges within [0, 1040]: large
// sets exercise the binary-search paths of the operations.
func randomSet(rnd *rand.Rand, maxRanges int) (addrSet, model) {
	var m model
	s := emptySet(IPv4)
	for n := rnd.Intn(maxRanges + 1); n > 0; n-- {
		lo := rnd.Intn(1030)
		hi := lo + rnd.Intn(8)
		for i := lo; i <= hi; i++ {
			m[i] = true
		}
		s = s.union(addrSet{fam: IPv4, r: []rng{{u128{0, uint64(lo)}, u128{0, uint64(hi)}}}})
	}
	return s, m
}

func TestAddrSetOpsAgainstModel(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	ops := []struct {
		name string
		set  func(a, b addrSet) addrSet
		mod  func(a, b bool) bool
	}{
		{"union", addrSet.union, func(a, b bool) bool { return a || b }},
		{"intersect", addrSet.intersect, func(a, b bool) bool { return a && b }},
		{"subtract", addrSet.subtract, func(a, b bool) bool { return a && !b }},
		{"complement", func(a, _ addrSet) addrSet { return a.complement() }, func(a, _ bool) bool { return !a }},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			for iter := 0; iter < 1000; iter++ {
				sizes := [][2]int{{4, 4}, {200, 3}, {3, 200}, {200, 200}, {60, 9}}[iter%5]
				a, ma := randomSet(r, sizes[0])
				b, mb := randomSet(r, sizes[1])
				got := op.set(a, b)
				checkInvariant(t, got)
				for i := range ma {
					want := op.mod(ma[i], mb[i])
					if have := got.contains(uToAddr(u128{0, uint64(i)}, IPv4)); have != want {
						t.Fatalf("%v %s %v: address %d: want %v, got %v", a.r, op.name, b.r, i, want, have)
					}
				}
				top := netip.MustParseAddr("255.255.255.255")
				if want := op.mod(false, false); got.contains(top) != want {
					t.Fatalf("%s: 255.255.255.255 membership %v, want %v", op.name, !want, want)
				}
				// prefixes cover exactly the set
				back := emptySet(IPv4)
				for _, p := range got.prefixes() {
					back = back.union(prefixSet(IPv4, p))
				}
				if !back.equal(got) {
					t.Fatalf("prefixes of %v give back %v", got.r, back.r)
				}
			}
		})
	}
}

func TestAddrSetPrefixes(t *testing.T) {
	tests := []struct {
		name string
		set  addrSet
		want []string
	}{
		{"empty", emptySet(IPv4), []string{}},
		{"full v4", fullSet(IPv4), []string{"0.0.0.0/0"}},
		{"full v6", fullSet(IPv6), []string{"::/0"}},
		{"one /24", set4(t, "10.0.0.0/24"), []string{"10.0.0.0/24"}},
		{"adjacent /25s merge", set4(t, "10.0.0.0/25", "10.0.0.128/25"), []string{"10.0.0.0/24"}},
		{"unaligned range", rangeSet(IPv4, netip.MustParseAddr("0.0.0.1"), netip.MustParseAddr("0.0.0.6")),
			[]string{"0.0.0.1/32", "0.0.0.2/31", "0.0.0.4/31", "0.0.0.6/32"}},
		{"complement of one host", set4(t, "128.0.0.1/32").complement(),
			[]string{"0.0.0.0/1", "128.0.0.0/32", "128.0.0.2/31", "128.0.0.4/30", "128.0.0.8/29", "128.0.0.16/28", "128.0.0.32/27", "128.0.0.64/26", "128.0.0.128/25", "128.0.1.0/24", "128.0.2.0/23", "128.0.4.0/22", "128.0.8.0/21", "128.0.16.0/20", "128.0.32.0/19", "128.0.64.0/18", "128.0.128.0/17", "128.1.0.0/16", "128.2.0.0/15", "128.4.0.0/14", "128.8.0.0/13", "128.16.0.0/12", "128.32.0.0/11", "128.64.0.0/10", "128.128.0.0/9", "129.0.0.0/8", "130.0.0.0/7", "132.0.0.0/6", "136.0.0.0/5", "144.0.0.0/4", "160.0.0.0/3", "192.0.0.0/2"}},
		{"v6 /64 minus one", prefixSet(IPv6, netip.MustParsePrefix("2001:db8::/126")).subtract(prefixSet(IPv6, netip.MustParsePrefix("2001:db8::3/128"))),
			[]string{"2001:db8::/127", "2001:db8::2/128"}},
		{"v6 top", prefixSet(IPv6, netip.MustParsePrefix("ffff::/16")), []string{"ffff::/16"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := prefixStrings(tt.set.prefixes())
			if !reflect.DeepEqual(tt.want, got) {
				t.Errorf("prefixes (-want +got):\n- %v\n+ %v", tt.want, got)
			}
		})
	}
}

func TestAddrSetFraction(t *testing.T) {
	tests := []struct {
		name string
		set  addrSet
		want float64
	}{
		{"empty", emptySet(IPv4), 0},
		{"full", fullSet(IPv4), 1},
		{"half", set4(t, "0.0.0.0/1"), 0.5},
		{"v6 half", prefixSet(IPv6, netip.MustParsePrefix("8000::/1")), 0.5},
		{"v6 full", fullSet(IPv6), 1},
		{"/24", set4(t, "10.0.0.0/24"), 256.0 / 4294967296.0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.set.fraction(); got != tt.want {
				t.Errorf("fraction: want %v, got %v", tt.want, got)
			}
		})
	}
}

func TestAddrSetEdges(t *testing.T) {
	t.Run("v6 complement round trip", func(t *testing.T) {
		s := prefixSet(IPv6, netip.MustParsePrefix("2001:db8::/32")).union(prefixSet(IPv6, netip.MustParsePrefix("::1/128")))
		if got := s.complement().complement(); !got.equal(s) {
			t.Errorf("complement twice: got %v", got.r)
		}
		if !s.complement().contains(netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")) {
			t.Error("complement misses the top address")
		}
	})
	t.Run("full minus full is empty", func(t *testing.T) {
		if got := fullSet(IPv6).subtract(fullSet(IPv6)); !got.isEmpty() {
			t.Errorf("got %v", got.r)
		}
	})
	t.Run("union at the top does not wrap", func(t *testing.T) {
		a := set4(t, "255.255.255.255/32")
		b := set4(t, "0.0.0.0/32")
		got := prefixStrings(a.union(b).prefixes())
		want := []string{"0.0.0.0/32", "255.255.255.255/32"}
		if !reflect.DeepEqual(want, got) {
			t.Errorf("(-want +got):\n- %v\n+ %v", want, got)
		}
	})
	t.Run("contains", func(t *testing.T) {
		s := set4(t, "10.0.0.0/8", "192.168.1.0/24")
		for a, want := range map[string]bool{"10.1.2.3": true, "11.0.0.0": false, "192.168.1.255": true, "192.168.2.0": false, "9.255.255.255": false} {
			if got := s.contains(netip.MustParseAddr(a)); got != want {
				t.Errorf("contains(%s) = %v, want %v", a, got, want)
			}
		}
	})
	t.Run("mapped address in a v6 set", func(t *testing.T) {
		s := prefixSet(IPv6, netip.MustParsePrefix("::ffff:127.0.0.1/128"))
		if !s.contains(netip.MustParseAddr("::ffff:127.0.0.1")) {
			t.Error("mapped address not found")
		}
	})
}

func TestAddrSetOverlaps(t *testing.T) {
	s := set4(t, "10.0.0.0/24", "10.0.2.0/24")
	tests := []struct {
		name string
		t    addrSet
		want bool
	}{
		{"inside", set4(t, "10.0.0.5/32"), true},
		{"in the gap", set4(t, "10.0.1.0/24"), false},
		{"touching only", set4(t, "10.0.1.255/32", "10.0.3.0/32"), false},
		{"spanning", set4(t, "10.0.0.0/16"), true},
		{"empty", emptySet(IPv4), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.overlaps(tt.t); got != tt.want {
				t.Errorf("overlaps = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestPrefixesLargestBlocks: the prefixes of random sets in both
// families are those of the search for the largest aligned block within
// each range that remains, block by block.
func TestPrefixesLargestBlocks(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	slow := func(s addrSet, width int) []netip.Prefix {
		var out []netip.Prefix
		for _, rg := range s.r {
			lo := rg.lo
			for {
				n := trailingZeros(lo, width)
				for ; n > 0 && rg.hi.less(addBlock(lo, n)); n-- {
				}
				out = append(out, netip.PrefixFrom(uToAddr(lo, s.fam), width-n))
				end := addBlock(lo, n)
				if !end.less(rg.hi) {
					break
				}
				lo = end.inc()
			}
		}
		return out
	}
	for i := 0; i < 3000; i++ {
		fam, width := IPv4, 32
		if i%2 == 1 {
			fam, width = IPv6, 128
		}
		s := emptySet(fam)
		for range 1 + r.Intn(6) {
			a, b := u128{r.Uint64(), r.Uint64()}, u128{r.Uint64(), r.Uint64()}
			if fam == IPv4 {
				a, b = u128{0, uint64(r.Uint32())}, u128{0, uint64(r.Uint32())}
			} else if r.Intn(2) == 0 {
				b.hi = a.hi // within one half
			}
			if b.less(a) {
				a, b = b, a
			}
			s = s.union(addrSet{fam: fam, r: []rng{{a, b}}})
		}
		if r.Intn(5) == 0 {
			s = s.complement()
		}
		if got, want := s.prefixes(), slow(s, width); !slices.Equal(got, want) {
			t.Fatalf("%v: prefixes %v, want %v", s.r, got, want)
		}
	}
}

// intersectFew gives what the merge does, on sets of a few ranges against
// sets of thousands, the edges of the address space among them.
func TestIntersectFewAgainstMerge(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	random := func(n int, width uint64) addrSet {
		var rs []rng
		for range n {
			lo := uint64(r.Int63n(int64(1) << 32))
			hi := min(lo+uint64(r.Int63n(int64(width))), 0xffffffff)
			if r.Intn(4*n) == 0 {
				lo = 0
			}
			if r.Intn(4*n) == 0 {
				hi = 0xffffffff
			}
			rs = append(rs, rng{u128{0, lo}, u128{0, hi}})
		}
		return setOf(IPv4, rs)
	}
	few := 0
	for i := range 400 {
		big := random(2000+r.Intn(3000), 1<<16)
		small := random(1+r.Intn(60), []uint64{1 << 8, 1 << 24, 1 << 31}[i%3])
		if i%7 == 0 {
			big = big.complement()
		}
		want := small.mergeIntersect(big)
		for _, got := range []addrSet{small.intersectFew(big), small.intersect(big), big.intersect(small)} {
			checkInvariant(t, got)
			if !got.equal(want) {
				t.Fatalf("case %d: %d ranges within %d: intersectFew %d ranges, merge %d", i, len(small.r), len(big.r), len(got.r), len(want.r))
			}
		}
		if len(small.r) > smallOp && len(small.r)*fewOf <= len(big.r) {
			few++
		}
	}
	if few < 100 {
		t.Errorf("intersect took intersectFew in %d of 400 cases", few)
	}
}

// A union of two large sets is the set of both's ranges, in a list no
// longer than it: counted first (exactFrom).
func TestLargeUnionExact(t *testing.T) {
	r := rand.New(rand.NewSource(11))
	for i := range 20 {
		var a, b []rng
		for range exactFrom/2 + r.Intn(exactFrom) {
			lo := uint64(r.Int63n(1 << 32))
			hi := min(lo+uint64(r.Intn(1<<12)), 0xffffffff)
			if i%4 == 0 && len(a) == 0 {
				lo, hi = 0, 1<<20 // the first address
			}
			a = append(a, rng{u128{0, lo}, u128{0, hi}})
			if r.Intn(3) > 0 { // most ranges in both
				b = append(b, rng{u128{0, lo}, u128{0, hi}})
			} else {
				b = append(b, rng{u128{0, hi &^ 0xff}, u128{0, min(hi|0xfff, 0xffffffff)}})
			}
		}
		if i%5 == 0 {
			b = append(b, rng{u128{0, 0xfffff000}, u128{0, 0xffffffff}}) // the last
		}
		sa, sb := setOf(IPv4, slices.Clone(a)), setOf(IPv4, slices.Clone(b))
		got := sa.mergeUnion(sb)
		want := setOf(IPv4, append(slices.Clone(a), b...))
		checkInvariant(t, got)
		if !got.equal(want) {
			t.Fatalf("case %d: union of %d and %d ranges: %d ranges, want %d", i, len(sa.r), len(sb.r), len(got.r), len(want.r))
		}
		if len(sa.r)+len(sb.r) > exactFrom && cap(got.r) != len(got.r) {
			t.Fatalf("case %d: a union of %d ranges made in a list of %d", i, len(got.r), cap(got.r))
		}
	}
}
