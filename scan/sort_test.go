package scan

import (
	"math/rand/v2"
	"net/netip"
	"strconv"
	"testing"
)

// TestSortListeners: random listeners come out ordered by
// compareListeners, and those with equal keys keep their input order.
func TestSortListeners(t *testing.T) {
	tests := []struct {
		name string
		n    int
	}{{"empty", 0}, {"one", 1}, {"few", 7}, {"many", 2000}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tt.n), 9))
			addrs := []netip.Addr{netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::")}
			ls := make([]Listener, tt.n)
			for i := range ls {
				ls[i] = Listener{Port: uint16(rng.IntN(5)), Proto: []string{"tcp", "udp"}[rng.IntN(2)],
					Family: []string{"ipv4", "ipv6"}[rng.IntN(2)], Address: addrs[rng.IntN(3)],
					PID: rng.IntN(2), Process: strconv.Itoa(i)} // Process: the input position
			}
			sortListeners(ls)
			for i := 1; i < len(ls); i++ {
				c := compareListeners(&ls[i-1], &ls[i])
				if c > 0 || (c == 0 && pos(ls[i-1]) > pos(ls[i])) {
					t.Fatalf("out of order at %d: %+v before %+v", i, ls[i-1], ls[i])
				}
			}
			seen := map[string]bool{}
			for _, l := range ls {
				seen[l.Process] = true
			}
			if len(seen) != tt.n {
				t.Errorf("%d distinct listeners after sorting, want %d", len(seen), tt.n)
			}
		})
	}
}

func pos(l Listener) int {
	n, _ := strconv.Atoi(l.Process)
	return n
}
