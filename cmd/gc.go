package cmd

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
)

// fwaudit runs for a fraction of a second and builds most of its memory
// once (the compiled rules): collecting garbage as eagerly as a server
// would costs up to a quarter of its time on large rulesets. It collects
// at four times the live heap instead, within a soft limit of 1 GiB until
// the inputs are read (boundHeap), unless GOGC or GOMEMLIMIT says
// otherwise.
func init() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(1 << 30)
	}
}

// heapSlack is what the process holds outside the Go heap's limit: the
// binary's pages, thread stacks and the runtime's own structures.
const heapSlack = 10 << 20

// boundHeap sets the soft memory limit once the inputs are read and the
// rules compiled, so that the peak stays below twice the input plus 50 MiB
// (docs/PERFORMANCE.md): the collector then runs more often where a
// report would otherwise let garbage grow to four times the live heap.
// Where the heap is already more than two thirds of that budget (the
// compiled rules of a very large ruleset), a limit that tight would keep
// the collector running without end: the 1 GiB limit stays, and the peak
// may pass the budget (docs/PERFORMANCE.md says by how much).
func boundHeap(inputBytes int64) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	var heap int64
	if s[0].Value.Kind() == metrics.KindUint64 {
		heap = int64(s[0].Value.Uint64())
	}
	limit := 2*inputBytes + 50<<20 - heapSlack
	if heap > limit*2/3 {
		return
	}
	debug.SetMemoryLimit(limit)
}

// inputSize is the size of the regular files among names ("" and "-"
// count nothing: stdin's size is not known beforehand).
func inputSize(names ...string) int64 {
	var n int64
	for _, name := range names {
		if name == "" || name == "-" {
			continue
		}
		if fi, err := os.Stat(name); err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
	}
	return n
}
