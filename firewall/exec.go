package firewall

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"
)

// Runner runs a command and returns its standard output; the real one is
// ExecRunner. Every command fwaudit runs to read the firewall goes through
// a Runner, so tests can replay captured output. LoadLive calls Run from
// several goroutines at once.
type Runner interface {
	Run(ctx context.Context, name string, args ...string) ([]byte, error)
}

// ExecRunner runs commands with os/exec.
type ExecRunner struct{}

// Errors a caller can branch on (errors.Is).
var (
	ErrNotInstalled = errors.New("not installed")
	ErrPermission   = errors.New("permission denied")
)

// CmdError is a command that failed: its command line, stderr and cause.
type CmdError struct {
	Cmd    string
	Stderr string
	Err    error
}

func (e *CmdError) Error() string {
	if e.Stderr != "" {
		return fmt.Sprintf("running %s: %v: %s", e.Cmd, e.Err, e.Stderr)
	}
	return fmt.Sprintf("running %s: %v", e.Cmd, e.Err)
}

func (e *CmdError) Unwrap() error { return e.Err }

// Run runs name with args. A missing binary wraps ErrNotInstalled and a
// refusal for lack of privileges wraps ErrPermission.
func (ExecRunner) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err == nil {
		return out, nil
	}
	line := strings.TrimSpace(name + " " + strings.Join(args, " "))
	// one line, whatever the tool printed: it ends up inside our messages
	var lines []string
	for _, l := range strings.Split(stderr.String(), "\n") {
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			lines = append(lines, l)
		}
	}
	msg := strings.Join(lines, "; ")
	switch {
	case errors.Is(err, exec.ErrNotFound):
		err = ErrNotInstalled
	case isPermission(msg):
		err = fmt.Errorf("%w: %v", ErrPermission, err)
	}
	return out, &CmdError{Cmd: line, Stderr: msg, Err: err}
}

func isPermission(stderr string) bool {
	s := strings.ToLower(stderr)
	return strings.Contains(s, "permission denied") || strings.Contains(s, "must be root") ||
		strings.Contains(s, "operation not permitted")
}

// LegacyTables reports whether iptables-legacy holds any table of fam in
// this network namespace. The kernel lists them in /proc/net/ip_tables_names
// (ip6_tables_names); the file is missing when the module is not loaded.
func (ExecRunner) LegacyTables(fam Family) (present, known bool) {
	name := "/proc/net/ip_tables_names"
	if fam == IPv6 {
		name = "/proc/net/ip6_tables_names"
	}
	b, err := os.ReadFile(name)
	switch {
	case err == nil:
		return len(bytes.TrimSpace(b)) > 0, true
	case errors.Is(err, fs.ErrNotExist):
		return false, true
	}
	return false, false
}

// NftTables lists the nf_tables tables of this network namespace.
func (ExecRunner) NftTables() ([]NftTable, error) { return listNftTables() }
