package cmd

import (
	"os"
	"runtime"
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
// A limit close to the live heap would keep the collector running without
// end: where the heap already holds two thirds of the budget, the limit
// is largeHeap instead, and after every collection watchHeap lifts the
// limit again as soon as the live heap comes close to it or the collector
// costs too much. The peak may then pass the budget; docs/PERFORMANCE.md
// says where.
func boundHeap(inputBytes int64) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	limit := 2*inputBytes + 50<<20 - heapSlack
	live := limit * 2 / 3 // the live heap that lifts the limit
	if heapBytes("/memory/classes/heap/objects:bytes") > live {
		limit = max(limit, largeHeap)
		if live = limit * 7 / 8; heapBytes("/memory/classes/heap/objects:bytes") > limit*2/3 {
			return
		}
	}
	debug.SetMemoryLimit(limit)
	watchHeap(live)
}

// largeHeap is the soft limit where the compiled rules alone pass the
// budget (a host with 100,000 rules or a ban set of 100,000 addresses):
// the report on 100,000 iptables rules holds up to about 160 MiB live
// while it analyses them, and the collector keeps the peak under 200 MB
// without costing more time than the garbage it saves paging in.
const largeHeap = 192<<20 - heapSlack

// watchHeap checks after each collection (a finalizer runs once per
// cycle on an object nothing else holds) whether the limit costs too
// much: the live heap past live bytes, or the collector past a
// quarter of the CPU time spent since the limit was set. It then lifts
// the limit back to 1 GiB.
func watchHeap(live int64) {
	gc0, all0 := cpuSeconds()
	var watch func(*gcCycle)
	watch = func(*gcCycle) {
		gc, all := cpuSeconds()
		if heapBytes("/gc/heap/live:bytes") > live || (all-all0 > 0.02 && gc-gc0 > (all-all0)/4) {
			debug.SetMemoryLimit(1 << 30)
			return
		}
		runtime.SetFinalizer(new(gcCycle), watch)
	}
	runtime.SetFinalizer(new(gcCycle), watch)
}

// cpuSeconds is the CPU time the collector and the whole process have
// spent, as the runtime estimates them.
func cpuSeconds() (gc, all float64) {
	s := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}, {Name: "/cpu/classes/total:cpu-seconds"}}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindFloat64 && s[1].Value.Kind() == metrics.KindFloat64 {
		return s[0].Value.Float64(), s[1].Value.Float64()
	}
	return 0, 0
}

// gcCycle is what watchHeap's finalizer is set on: 16 bytes, so that it
// is an object of its own (smaller pointer-free objects share a block,
// whose finalizers may never run).
type gcCycle struct{ _ [2]int64 }

func heapBytes(name string) int64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64())
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
