package report

import (
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// TestSortSockets: sortSockets gives the order of a stable sort by port,
// proto, family and address, on input in that order already, in the
// scanner's order (addresses as numbers, "10.0.0.9" before "10.0.0.10")
// and shuffled; sockets equal in the keys keep their order.
func TestSortSockets(t *testing.T) {
	addrs := []string{"10.0.0.9", "10.0.0.10", "::1", "127.0.0.1", "0.0.0.0", "::"}
	rng := rand.New(rand.NewPCG(1, 2))
	var in []Socket
	for i := range 500 {
		in = append(in, Socket{
			Port: uint16(rng.IntN(20)), Proto: []string{"tcp", "udp"}[rng.IntN(2)],
			Family: []string{"ipv4", "ipv6"}[rng.IntN(2)], Address: addrs[rng.IntN(len(addrs))],
			PID: i, // tells equal keys apart
		})
	}
	want := slices.Clone(in)
	sort.SliceStable(want, func(i, j int) bool {
		a, b := want[i], want[j]
		if a.Port != b.Port {
			return a.Port < b.Port
		}
		if a.Proto != b.Proto {
			return a.Proto < b.Proto
		}
		if a.Family != b.Family {
			return a.Family < b.Family
		}
		return a.Address < b.Address
	})
	for name, socks := range map[string][]Socket{"shuffled": in, "sorted": slices.Clone(want)} {
		got := slices.Clone(socks)
		sortSockets(got)
		for i := range want {
			if got[i].PID != want[i].PID {
				t.Fatalf("%s: position %d holds socket %d, want %d", name, i, got[i].PID, want[i].PID)
			}
		}
	}
	// the scanner's order: 10.0.0.9 before 10.0.0.10 on one port
	got := []Socket{{Port: 80, Proto: "tcp", Family: "ipv4", Address: "10.0.0.9"}, {Port: 80, Proto: "tcp", Family: "ipv4", Address: "10.0.0.10"}}
	sortSockets(got)
	if got[0].Address != "10.0.0.10" || got[1].Address != "10.0.0.9" {
		t.Fatalf("got %s, %s; want 10.0.0.10, 10.0.0.9", got[0].Address, got[1].Address)
	}
}
