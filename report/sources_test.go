package report

import (
	"fmt"
	"math/rand"
	"net/netip"
	"strings"
	"testing"
)

// sourceSet against a brute force over a small family: every IPv4 address
// of 10.0.0.0/24 in or out, for random prefix lists.
func TestSourceSetOps(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	randList := func() []string {
		var ps []string
		for i := rng.Intn(6); i > 0; i-- {
			bits := 24 + rng.Intn(9)
			a := netip.AddrFrom4([4]byte{10, 0, 0, byte(rng.Intn(256))})
			ps = append(ps, netip.PrefixFrom(a, bits).Masked().String())
		}
		return ps
	}
	in := func(ps []string, a netip.Addr) bool {
		for _, p := range ps {
			if netip.MustParsePrefix(p).Contains(a) {
				return true
			}
		}
		return false
	}
	for n := 0; n < 2000; n++ {
		a, b := randList(), randList()
		sa, sb := parseSources(false, a), parseSources(false, b)
		diff, union := sa.minus(sb).prefixes(), sa.union(sb).prefixes()
		for i := 0; i < 256; i++ {
			x := netip.AddrFrom4([4]byte{10, 0, 0, byte(i)})
			if got, want := in(diff, x), in(a, x) && !in(b, x); got != want {
				t.Fatalf("%v minus %v = %v: %s in it = %v, want %v", a, b, diff, x, got, want)
			}
			if got, want := in(union, x), in(a, x) || in(b, x); got != want {
				t.Fatalf("%v union %v = %v: %s in it = %v, want %v", a, b, union, x, got, want)
			}
		}
		// the fewest prefixes: written back, they read as the same set
		if back := parseSources(false, diff).prefixes(); strings.Join(back, " ") != strings.Join(diff, " ") {
			t.Fatalf("%v reads back as %v", diff, back)
		}
	}
	if got := fullSources(true).minus(parseSources(true, []string{"8000::/1"})).prefixes(); fmt.Sprint(got) != "[::/1]" {
		t.Errorf("::/0 minus 8000::/1 = %v", got)
	}
	if got := fullSources(false).prefixes(); fmt.Sprint(got) != "[0.0.0.0/0]" {
		t.Errorf("full IPv4 = %v", got)
	}
}

// A ban list of 100,000 addresses: everyone except them, in linear time.
func BenchmarkSourceSetMinus(b *testing.B) {
	var ps []string
	for i := 0; i < 100000; i++ {
		ps = append(ps, netip.AddrFrom4([4]byte{byte(1 + i>>16), byte(i >> 8), byte(i), 7}).String()+"/32")
	}
	ban := parseSources(false, ps)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if fullSources(false).minus(ban).isEmpty() {
			b.Fatal("empty")
		}
	}
}
