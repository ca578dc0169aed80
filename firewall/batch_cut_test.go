package firewall

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestCutOwnersSkips checks the owners' cut and ownersTaking, which skip
// owners below what is left of x, against a pass over every address of
// a small space: each address of x goes to the group of the owner
// holding it, or on; an owner takes something when it holds an address
// of x.
func TestCutOwnersSkips(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 21))
	const space = 200
	// ranges draws disjoint, sorted ranges over [0, space) taking about
	// one address in every density
	ranges := func(density int) []rng {
		var out []rng
		for a := 0; a < space; {
			if rnd.IntN(density) != 0 {
				a++
				continue
			}
			hi := min(a+rnd.IntN(4), space-1)
			out = append(out, rng{u128{0, uint64(a)}, u128{0, uint64(hi)}})
			a = hi + 1 + rnd.IntN(3)
		}
		return out
	}
	for round := range 2000 {
		var owners []ownerPiece
		for i, r := range ranges(1 + rnd.IntN(6)) {
			owners = append(owners, ownerPiece{int32(i % 7), r})
		}
		b := &batch{group: []int32{0, 1, 2, 0, 1, 2, 0}, nGroups: 3}
		x := addrSet{fam: IPv4, r: ranges(1 + rnd.IntN(40))}

		want := map[uint64]int32{} // address: group, -1 for on
		var wantTook []int32
		for _, r := range x.r {
			for a := r.lo.lo; a <= r.hi.lo; a++ {
				want[a] = -1
			}
		}
		for _, pc := range owners {
			took := false
			for a := pc.r.lo.lo; a <= pc.r.hi.lo; a++ {
				if _, in := want[a]; in {
					want[a], took = b.group[pc.k], true
				}
			}
			if took {
				wantTook = append(wantTook, pc.k)
			}
		}
		got := map[uint64]int32{}
		var last u128
		first := true
		note := func(g int32, r rng) {
			if !first && !last.less(r.lo) {
				t.Fatalf("round %d: pieces out of address order at %v", round, r)
			}
			first, last = false, r.hi
			for a := r.lo.lo; a <= r.hi.lo; a++ {
				got[a] = g
			}
		}
		(&walker{fam: IPv4}).cutOwners(b, owners, x, func(g, _ int32, r rng) { note(g, r) }, func(r rng) { note(-1, r) })
		if len(got) != len(want) {
			t.Fatalf("round %d: cut covers %d addresses, x holds %d", round, len(got), len(want))
		}
		for a, g := range want {
			if got[a] != g {
				t.Fatalf("round %d: address %d went to %d, want %d", round, a, got[a], g)
			}
		}
		if took := ownersTaking(owners, x, nil); !slices.Equal(took, wantTook) {
			t.Fatalf("round %d: ownersTaking = %v, want %v", round, took, wantTook)
		}
	}
}

func TestGallop(t *testing.T) {
	for n := range 40 {
		for from := 0; from <= n; from++ {
			for cut := from; cut <= n; cut++ {
				if got := gallop(n, from, func(i int) bool { return i < cut }); got != cut {
					t.Fatalf("gallop(%d, %d) with the cut at %d = %d", n, from, cut, got)
				}
			}
		}
	}
}
