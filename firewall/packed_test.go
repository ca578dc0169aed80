package firewall

import (
	"math/rand"
	"net/netip"
	"reflect"
	"testing"
)

// unpacked is r with its packed lists (Result.Packed) put back as
// prefixes, in r and in each interface's answer.
func unpacked(t *testing.T, r Result) Result {
	t.Helper()
	if p := r.Packed; p != nil {
		for _, l := range []struct {
			packed []uint64
			ps     *[]netip.Prefix
		}{{p.Sources, &r.Sources}, {p.Except, &r.Except}, {p.Doubtful, &r.Doubtful}} {
			if l.packed == nil {
				continue
			}
			if *l.ps != nil {
				t.Fatalf("a list both packed and not: %v", *l.ps)
			}
			for i, x := range l.packed {
				if i > 0 && l.packed[i-1]&0xffffffff+1 >= x>>32 {
					t.Fatalf("packed ranges %#x and %#x overlap, touch or are out of order", l.packed[i-1], x)
				}
				EachPackedPrefix(x, func(v uint64) {
					a := uint32(v >> 8)
					*l.ps = append(*l.ps, netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}), int(v&0xff)))
				})
			}
		}
		r.Packed = nil
	}
	if r.ByInterface != nil {
		each := make([]IfaceResult, len(r.ByInterface))
		for i, x := range r.ByInterface {
			each[i] = IfaceResult{Iface: x.Iface, Result: unpacked(t, x.Result)}
		}
		r.ByInterface = each
	}
	return r
}

// A query that takes its long lists packed gets the lists of one that
// does not, packed: on random rulesets behind a ban set, with every list
// packed (packedMin 1), offline and on a host with two interfaces.
func TestPackedListsMatchPrefixes(t *testing.T) {
	defer func(n int) { packedMin = n }(packedMin)
	packedMin = 1
	r := rand.New(rand.NewSource(7))
	queries := []Query{tcp(22), tcp(80), tcp(443), udp(53), tcp(9)}
	hosts := []Host{{}, {Interfaces: []string{"eth0", "eth1"}}}
	packed := 0
	for iter := 0; iter < 150; iter++ {
		text := randomBanRuleset(r, 30)
		n, err := ParseNftText([]byte(text), "ban.nft", nil)
		if err != nil {
			t.Fatalf("%v\n%s", err, text)
		}
		for _, h := range hosts {
			e := NewEvaluator(IPv4, []*Ruleset{n.Family(IPv4)}, h)
			for _, q := range queries {
				want := e.Evaluate(q)
				q.Packed = true
				got := e.Evaluate(q)
				if got.Packed != nil {
					packed++
				}
				if u := unpacked(t, got); !reflect.DeepEqual(u, want) {
					t.Fatalf("ruleset:\n%s\nquery %+v, host %+v:\npacked   %+v\nunpacked %+v", text, q, h, u, want)
				}
			}
		}
	}
	if packed < 100 {
		t.Fatalf("only %d answers had a packed list", packed)
	}
	// IPv6 lists never come packed
	n, err := ParseNftText([]byte("table inet f {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n\t\tip6 saddr 2001:db8::/32 tcp dport 22 accept\n\t}\n}\n"), "v6.nft", nil)
	if err != nil {
		t.Fatal(err)
	}
	q := tcp(22)
	q.Packed = true
	if got := NewEvaluator(IPv6, []*Ruleset{n.Family(IPv6)}, Host{}).Evaluate(q); got.Packed != nil || len(got.Sources) != 1 {
		t.Fatalf("IPv6 answer %+v", got)
	}
}

// EachPackedPrefix and PackedPrefixCount give what addrSet.prefixes does
// for one range, on random ranges of every size and the edges of the
// address space.
func TestEachPackedPrefix(t *testing.T) {
	r := rand.New(rand.NewSource(9))
	cases := [][2]uint64{{0, 0xffffffff}, {0, 0}, {0xffffffff, 0xffffffff}, {1, 0xfffffffe}, {0, 0x7fffffff}, {0x80000000, 0xffffffff}}
	for range 20000 {
		lo := uint64(r.Uint32())
		if r.Intn(4) == 0 {
			lo &^= 1<<r.Intn(32) - 1
		}
		hi := lo + uint64(r.Int63n(1<<r.Intn(33)))
		cases = append(cases, [2]uint64{lo, min(hi, 0xffffffff)})
	}
	for _, c := range cases {
		x := c[0]<<32 | c[1]
		var got []netip.Prefix
		EachPackedPrefix(x, func(p uint64) {
			a := uint32(p >> 8)
			got = append(got, netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}), int(p&0xff)))
		})
		want := addrSet{fam: IPv4, r: []rng{{u128{0, c[0]}, u128{0, c[1]}}}}.prefixes()
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("range %#x-%#x: EachPackedPrefix gives %v, prefixes %v", c[0], c[1], got, want)
		}
		if n := PackedPrefixCount(x); n != len(want) {
			t.Fatalf("range %#x-%#x: PackedPrefixCount %d, want %d", c[0], c[1], n, len(want))
		}
	}
}
