package cmd

import (
	"os"
	"runtime/debug"
)

// fwaudit runs for a fraction of a second and builds most of its memory
// once (the compiled rules): collecting garbage as eagerly as a server
// would costs up to a quarter of its time on large rulesets. It collects
// at four times the live heap instead, within a soft limit of 1 GiB, unless
// GOGC or GOMEMLIMIT says otherwise.
func init() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(1 << 30)
	}
}
