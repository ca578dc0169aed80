//go:build linux

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// Paths of the binaries TestMain builds. BuildErr is set when the helper
// could not be built (every kernel test fails), FwauditErr when fwaudit
// could not (the tests that run it fail; harness tests still run).
var (
	FwauditBin string
	SvcBin     string
	BuildErr   error
	FwauditErr error
	binDir     string
)

// DaemonNames are the names the svc helper is linked to; Lab.Start takes
// one of them (or "svc").
var DaemonNames = []string{
	"sshd", "nginx", "apache2", "mysqld", "postgres", "named", "redis-server",
	"mongod", "memcached", "dnsmasq", "exim4", "dovecot", "vsftpd", "unknownd",
}

// Setup builds the binaries into a temporary directory. It is called by
// TestMain; the returned function removes them. FWAUDIT_E2E_BIN names an
// fwaudit binary to test instead of building one.
func Setup() (cleanup func()) {
	dir, err := os.MkdirTemp("", "fwaudit-e2e-")
	if err != nil {
		BuildErr, FwauditErr = err, err
		return func() {}
	}
	binDir = dir
	cleanup = func() { os.RemoveAll(dir) }
	root, err := moduleRoot()
	if err != nil {
		BuildErr, FwauditErr = err, err
		return cleanup
	}
	FwauditBin = filepath.Join(dir, "fwaudit")
	SvcBin = filepath.Join(dir, "svc")
	if prebuilt := os.Getenv("FWAUDIT_E2E_BIN"); prebuilt != "" {
		FwauditBin = prebuilt
	} else {
		FwauditErr = goBuild(root, FwauditBin, "./cmd/fwaudit")
	}
	if err := goBuild(root, SvcBin, "./e2e/internal/svc"); err != nil {
		BuildErr = err
		return cleanup
	}
	for _, n := range DaemonNames {
		if err := os.Link(SvcBin, filepath.Join(dir, n)); err != nil {
			BuildErr = fmt.Errorf("linking %s: %w", n, err)
			return cleanup
		}
	}
	return cleanup
}

func goBuild(root, out, pkg string) error {
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		goTool = "go"
	}
	cmd := exec.Command(goTool, "build", "-o", out, pkg)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// moduleRoot is the directory holding go.mod, above the test's directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for range 10 {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		dir = filepath.Dir(dir)
	}
	return "", fmt.Errorf("no go.mod above the working directory")
}

// daemonPath is the path of the helper linked under name.
func daemonPath(name string) (string, error) {
	if name == "svc" {
		return SvcBin, nil
	}
	for _, n := range DaemonNames {
		if n == name {
			return filepath.Join(binDir, n), nil
		}
	}
	return "", fmt.Errorf("no helper named %q (have %s)", name, strings.Join(DaemonNames, ", "))
}

// IsRoot reports whether the tests can create namespaces.
func IsRoot() bool { return os.Geteuid() == 0 }

// ensurePath adds the sbin directories, where ip and iptables live.
func ensurePath() {
	p := os.Getenv("PATH")
	for _, d := range []string{"/usr/sbin", "/sbin"} {
		if !strings.Contains(":"+p+":", ":"+d+":") {
			p += ":" + d
		}
	}
	os.Setenv("PATH", p)
}
