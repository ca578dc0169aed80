package cmd

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// fwaudit runs for a fraction of a second to a few seconds and allocates
// many times what it keeps: the compiled rules stay, the analysis'
// intermediate sets do not. Collecting when the heap has doubled since
// the last collection (the runtime's default) lets a report on 10,000 nft
// rules (about 55 MiB live) reach 140 MB.
//
// One rule paces the collector instead, from the first collection on:
// after each one, the next comes when the heap has grown by the larger of
// 24 MiB and a third of the live heap that collection found, but by no
// more than the live heap itself (paceHeap). Small heaps (inputs being
// read, a report on 20,000 listeners: 13 MiB) are collected as the
// runtime's default would; between 24 and 72 MiB live the margin stays 24
// MiB, so that the collector does not run every few MiB; past 72 MiB it
// grows with the heap, so that the collector's work per byte allocated
// (it marks the live heap once per cycle) stays bounded. Measured with
// scripts/bench-report.sh (docs/PERFORMANCE.md): the report on 10,000 nft
// rules peaks at about 105 MB for about a fifth more CPU time than when it
// may grow to 180 MB, the one on 100,000 iptables rules at about 130 MB,
// the one on 1,000 rules behind a 100,000-element set (about 51 MiB live)
// at about 95 MB; when that one held 75 MiB, a margin of half the live
// heap let it reach 130-137 MB for a tenth less CPU time.
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

// paceHeap is the GOGC that starts the next collection once the heap has
// grown past live bytes by max(24 MiB, live/3), at most by live: a GOGC
// between 33 and 100. Not more than 100, because the runtime scales two
// other bounds with GOGC: the smallest heap it collects (4 MiB ×
// GOGC/100) and how far past its goal it lets a growing heap go within
// one cycle (GOGC% of the goal). Under GOGC 400 the first collection of
// the report on 10,000 nft rules, started at 16 MiB, could end with 80
// MiB in the heap, all of it counted live.
func paceHeap(live int64) int {
	const floor = 24 << 20
	if live <= 0 {
		return 100
	}
	return int(min(100, 100*max(floor, live/3)/live))
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
