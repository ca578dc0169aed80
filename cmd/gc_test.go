package cmd

import (
	"os"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestPaceHeap(t *testing.T) {
	const MiB = 1 << 20
	for _, tc := range []struct {
		name string
		live int64
		want int
	}{
		{"nothing collected yet", 0, 100},
		{"small heap: the runtime's default", 10 * MiB, 100},
		{"24 MiB: still the default", 24 * MiB, 100},
		{"32 MiB: a margin of 24 MiB", 32 * MiB, 75},
		{"48 MiB: still a margin of 24 MiB", 48 * MiB, 50},
		{"72 MiB: a third of the live heap", 72 * MiB, 33},
		{"300 MiB: a third of the live heap", 300 * MiB, 33},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := paceHeap(tc.live); got != tc.want {
				t.Errorf("paceHeap(%d MiB) = %d, want %d", tc.live/MiB, got, tc.want)
			}
		})
	}
}

// TestPaceFollowsCollections holds 40 MiB and checks that the collection
// after it sets GOGC from the live heap it found (about 60, not the
// runtime's 100): the finalizer chain of nextCycle runs after every cycle.
func TestPaceFollowsCollections(t *testing.T) {
	if os.Getenv("GOGC") != "" {
		t.Skip("GOGC is set: the runtime paces as it says")
	}
	hold := make([]byte, 40<<20)
	for i := range hold {
		hold[i] = 1
	}
	gogc := func() int {
		old := debug.SetGCPercent(100)
		debug.SetGCPercent(old)
		return old
	}
	var got, want int
	for range 50 {
		runtime.GC()
		time.Sleep(20 * time.Millisecond) // the finalizer runs after the cycle
		got, want = gogc(), paceHeap(liveHeap())
		if got == want && want < 100 {
			break
		}
	}
	runtime.KeepAlive(hold)
	if got != want || want >= 100 {
		t.Errorf("GOGC after a collection with %d MiB live = %d, want paceHeap = %d (below 100)", liveHeap()>>20, got, want)
	}
}
