//go:build linux

package e2e

import (
	"fmt"
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	ensurePath()
	if !IsRoot() {
		fmt.Fprintln(os.Stderr, "\n*** e2e: NOT ROOT: every kernel test SKIPS (offline CLI tests still run). Run `sudo make e2e` to prove fwaudit against the kernel. ***")
	}
	cleanup := Setup()
	code := m.Run()
	cleanup()
	os.Exit(code)
}
