package firewall

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
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

// sbinDirs are searched after PATH: iptables, ip6tables and nft live in
// /usr/sbin (or /sbin), which the PATH of cron jobs and of unprivileged
// users (/usr/bin:/bin) leaves out.
var sbinDirs = []string{"/usr/sbin", "/sbin"}

// lookCommand resolves a command name the way a shell would, then in
// sbinDirs. A name holding a slash is used as it is.
func lookCommand(name string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	path, err := exec.LookPath(name)
	if err == nil {
		return path, nil
	}
	for _, dir := range sbinDirs {
		p := filepath.Join(dir, name)
		if fi, statErr := os.Stat(p); statErr == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", err
}

// Run runs name with args, found in PATH or else in /usr/sbin or /sbin. A
// missing binary wraps ErrNotInstalled and a refusal for lack of
// privileges wraps ErrPermission.
func (ExecRunner) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	line := strings.TrimSpace(name + " " + strings.Join(args, " "))
	path, err := lookCommand(name)
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			err = ErrNotInstalled
		}
		return nil, &CmdError{Cmd: line, Err: err}
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Args[0] = name // multi-call binaries (xtables-nft-multi) dispatch on it
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err == nil {
		return out, nil
	}
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

// ReadFile reads a configuration file a manager keeps (ufw's user rules).
func (ExecRunner) ReadFile(path string) ([]byte, error) { return os.ReadFile(path) }
