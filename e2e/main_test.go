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
		fmt.Fprintln(os.Stderr, "\n*** e2e: NOT ROOT: every kernel test SKIPS. Run `sudo make e2e` to prove fwaudit against the kernel. ***")
		os.Exit(m.Run())
	}
	cleanup := Setup()
	code := m.Run()
	cleanup()
	os.Exit(code)
}
