package cmd

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// fwaudit runs for a fraction of a second to a few seconds and allocates
// many times what it keeps: the compiled rules stay, the analysis'
// intermediate sets do not. The runtime's default (collect when the heap
// has doubled since the last collection) lets a report on 10,000 nft rules
// (about 55 MiB live) reach 140 MB, while collecting at a fixed small
// margin makes the report on a 100,000-element ban set (up to 300 MiB live,
// gigabytes allocated) collect hundreds of times.
//
// One rule paces the collector instead, from the first collection on:
// after each one, the next comes when the heap has grown by the larger of
// 32 MiB and half the live heap it found (paceHeap). A small heap (inputs
// still being read, a few hundred rules) is not collected every few MiB;
// past 64 MiB live the margin grows with the heap, so that the collector's
// work per byte allocated (it marks the live heap once per cycle) stays
// bounded. Measured with scripts/bench-report.sh (docs/PERFORMANCE.md):
// 10,000 nft rules peak at about 115 MB, 100,000 iptables rules (about
// 100 MiB live) at 160-175 MB, the ban-set report at about 500 MB, in
// the time the runtime's lazier GOGC 400 took.
//
// GOGC in the environment replaces the rule (the runtime then paces as
// it says). GOMEMLIMIT keeps its meaning: the runtime collects at the
// lower of the rule's goal and the limit.
func init() {
	if os.Getenv("GOGC") != "" {
		return
	}
	debug.SetGCPercent(paceHeap(0))
	runtime.SetFinalizer(new(gcCycle), nextCycle)
}

// paceHeap is the GOGC that starts the next collection once the heap
// has grown by max(32 MiB, live/2) past live bytes. It is at most 400:
// the runtime also holds the heap to at least 4 MiB × GOGC/100, which a
// larger value would lift past the margin while the heap is small.
func paceHeap(live int64) int {
	const floor, most = 32 << 20, 400
	if live <= 0 {
		return most
	}
	return int(min(most, 100*max(floor, live/2)/live))
}

// nextCycle runs once after each collection (a finalizer on an object
// nothing else holds runs after the cycle that finds it unreachable),
// paces the next one from the live heap that collection found, and sets
// itself on a new object for the cycle after.
func nextCycle(*gcCycle) {
	debug.SetGCPercent(paceHeap(liveHeap()))
	runtime.SetFinalizer(new(gcCycle), nextCycle)
}

// gcCycle is what nextCycle is set on: 16 bytes, so that it is an object
// of its own (smaller pointer-free objects share a block, whose
// finalizers may never run).
type gcCycle struct{ _ [2]int64 }

// liveHeap is the heap the last collection marked live, in bytes.
func liveHeap() int64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64())
}
