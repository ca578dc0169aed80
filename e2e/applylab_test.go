//go:build linux

package e2e

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Applying is one `fwaudit apply` running in the lab's host namespace.
type Applying struct {
	Backup string // its --backup-dir
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr bytes.Buffer
	done   chan struct{}
	code   int
	stdin  io.WriteCloser // the terminal's input (StartApplyTerminal)
}

func (a *Applying) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stderr.Write(p)
}

// Stderr is what it wrote on stderr so far.
func (a *Applying) Stderr() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stderr.String()
}

// PID is the fwaudit process's pid (ip netns exec execs it; script(1)'s
// with StartApplyTerminal).
func (a *Applying) PID() int { return a.cmd.Process.Pid }

// StartApply starts `fwaudit apply --backup-dir DIR --no-journal ARGS` in
// the host namespace without $SSH_CONNECTION and without a terminal. The
// process and the watchdog it leaves (by the pid in the backup
// directory) are killed when the test ends.
func (lab *Lab) StartApply(args ...string) *Applying {
	lab.T.Helper()
	return lab.startApply(false, args)
}

// StartApplyTerminal is StartApply on a terminal (script(1) gives it a
// pseudo-terminal): Type writes to it, and everything it shows is Stderr.
func (lab *Lab) StartApplyTerminal(args ...string) *Applying {
	lab.T.Helper()
	return lab.startApply(true, args)
}

// Type writes s to the terminal of StartApplyTerminal.
func (a *Applying) Type(s string) error {
	_, err := io.WriteString(a.stdin, s)
	return err
}

func (lab *Lab) startApply(terminal bool, args []string) *Applying {
	lab.T.Helper()
	requireFwaudit(lab.T)
	a := &Applying{Backup: filepath.Join(lab.Dir, "backup"), done: make(chan struct{})}
	argv := []string{"ip", "netns", "exec", lab.Host.Name, "env", "-u", "SSH_CONNECTION",
		FwauditBin, "apply", "--backup-dir", a.Backup, "--no-journal"}
	argv = append(argv, args...)
	if terminal {
		argv = []string{"script", "-qefc", strings.Join(argv, " "), "/dev/null"}
	}
	a.cmd = exec.Command(argv[0], argv[1:]...)
	a.cmd.Dir = lab.Dir
	a.cmd.Stderr = a
	if terminal {
		a.cmd.Stdout = a
		var err error
		if a.stdin, err = a.cmd.StdinPipe(); err != nil {
			lab.T.Fatal(err)
		}
	}
	if err := a.cmd.Start(); err != nil {
		lab.T.Fatalf("starting fwaudit apply: %v", err)
	}
	go func() {
		err := a.cmd.Wait()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			a.code = ee.ExitCode()
		} else if err != nil {
			a.code = -1
		}
		close(a.done)
	}()
	lab.T.Cleanup(func() {
		select {
		case <-a.done:
		default:
			a.cmd.Process.Kill()
			<-a.done
		}
		for _, pid := range a.watchdogs() {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	return a
}

// watchdogs are the pids the backup directories record.
func (a *Applying) watchdogs() []int {
	files, _ := filepath.Glob(filepath.Join(a.Backup, "*", "watchdog.pid"))
	var pids []int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && perr == nil && pid > 0 {
			if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// WaitFor waits until stderr holds s; false when the process ended first
// or timeout passed.
func (a *Applying) WaitFor(s string, timeout time.Duration) bool {
	for end := time.Now().Add(timeout); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if strings.Contains(a.Stderr(), s) {
			return true
		}
		select {
		case <-a.done:
			return strings.Contains(a.Stderr(), s)
		default:
		}
	}
	return false
}

// Wait waits for the process to end and returns its exit code; -2 when it
// did not end within timeout.
func (a *Applying) Wait(timeout time.Duration) int {
	select {
	case <-a.done:
		return a.code
	case <-time.After(timeout):
		return -2
	}
}

// Dirs are the backup directories written.
func (a *Applying) Dirs() []string {
	files, _ := filepath.Glob(filepath.Join(a.Backup, "2*"))
	return files
}

// WaitResult waits until a backup directory records a rollback result
// and returns it ("" on timeout).
func (a *Applying) WaitResult(timeout time.Duration) string {
	for end := time.Now().Add(timeout); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		for _, d := range a.Dirs() {
			if b, err := os.ReadFile(filepath.Join(d, "result")); err == nil {
				return strings.TrimSpace(string(b))
			}
		}
	}
	return ""
}

var nftCounter = regexp.MustCompile(`counter packets \d+ bytes \d+`)

// RulesNow is the host's rules as iptables-save, ip6tables-save (both
// backends) and nft list ruleset print them, without comments (dates)
// and counters.
func (lab *Lab) RulesNow() map[string]string {
	lab.T.Helper()
	out := map[string]string{}
	for _, cmd := range [][]string{{"iptables-nft-save"}, {"ip6tables-nft-save"}, {"iptables-legacy-save"}, {"ip6tables-legacy-save"}, {"nft", "list", "ruleset"}} {
		stdout, stderr, err := lab.Host.Exec(nil, cmd...)
		if err != nil {
			stdout = "error: " + err.Error() + ": " + stderr
		}
		out[strings.Join(cmd, " ")] = nftCounter.ReplaceAllString(normalizeSave(stdout), "counter")
	}
	return out
}
