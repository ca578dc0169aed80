package apply

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fwaudit/fwaudit/firewall"
)

// pollEvery is how often the watchdog and the waiting apply look for a
// decision.
const pollEvery = 100 * time.Millisecond

// startWatchdog runs `exe apply --watchdog DIR` in a session of its own
// (setsid: no controlling terminal, so a hangup of the SSH session does
// not reach it), not waited for, so it outlives fwaudit even after a
// kill -9; its output goes to DIR/watchdog.log. It returns once the
// watchdog has written its pid file, proving it read the state.
func startWatchdog(exe, dir string, journal bool) (int, error) {
	logf, err := os.OpenFile(filepath.Join(dir, "watchdog.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return 0, err
	}
	defer logf.Close()
	args := []string{"apply", "--watchdog", dir}
	if !journal {
		args = append(args, "--no-journal")
	}
	cmd := exec.Command(exe, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("starting the watchdog: %w", err)
	}
	pid := cmd.Process.Pid
	// reaped in the background while fwaudit lives; after that, by init
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if b, err := os.ReadFile(filepath.Join(dir, pidFile)); err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(pid) {
			return pid, nil
		}
		select {
		case <-exited:
			return 0, fmt.Errorf("the watchdog (pid %d) exited at once; see %s", pid, filepath.Join(dir, "watchdog.log"))
		case <-time.After(20 * time.Millisecond):
		}
	}
	cmd.Process.Kill()
	return 0, fmt.Errorf("the watchdog (pid %d) did not start; see %s", pid, filepath.Join(dir, "watchdog.log"))
}

// Watch is the watchdog: it waits for the deadline of the apply in dir
// and rolls the rules back unless a decision was taken by then.
func Watch(ctx context.Context, r firewall.Runner, dir string, log *Logger) error {
	signalsIgnored()
	st, err := readState(dir)
	if err != nil {
		return err
	}
	if time.Now().Before(st.Deadline) {
		// (the systemd timer's run, after the deadline, leaves the
		// process watchdog's pid in place)
		if err := writeAtomic(filepath.Join(dir, pidFile), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
			return err
		}
	}
	for time.Now().Before(st.Deadline) {
		if d, _ := decision(dir); d != "" {
			return nil
		}
		time.Sleep(min(pollEvery, time.Until(st.Deadline)))
	}
	if d, won, err := decide(dir, rolledBack); err != nil || !won {
		if err == nil && d == confirmed {
			return nil
		}
		return err // the rollback was someone else's to do
	}
	log.Printf("no confirmation by %s: rolling back from %s", st.Deadline.Format(time.RFC3339), dir)
	return finishRollback(ctx, r, dir, st, log)
}

// finishRollback rolls back, records the result and clears the pending
// mark.
func finishRollback(ctx context.Context, r firewall.Runner, dir string, st *state, log *Logger) error {
	err := rollback(ctx, r, dir, st, log)
	result := "rolled back\n"
	if err != nil {
		result = "rollback failed: " + err.Error() + "\n"
	} else {
		log.Printf("rolled back: the rules loaded before are back")
	}
	if werr := writeAtomic(filepath.Join(dir, resultFile), []byte(result), 0o600); werr != nil && err == nil {
		err = werr
	}
	unlockPending(filepath.Dir(dir), dir)
	return err
}

// signalsIgnored: a hangup (the SSH session closing), ^C on a terminal
// it no longer has, or a broken pipe must not stop the watchdog.
func signalsIgnored() {
	signal.Ignore(syscall.SIGHUP, syscall.SIGINT, syscall.SIGPIPE)
}

// alive reports whether pid is a running process (not a zombie).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z' && s[i+2] != 'X'
	}
	return true
}

// systemdHere reports whether systemd is the init of this host
// (/run/systemd/system exists, as sd_booted(3) tests) and fwaudit runs in
// its network namespace: a unit it starts restores rules there, so inside
// another namespace (a container, a test's netns) it must not be used.
var systemdHere = func() bool {
	if _, err := os.Stat("/run/systemd/system"); err != nil {
		return false
	}
	self, err1 := os.Readlink("/proc/self/ns/net")
	pid1, err2 := os.Readlink("/proc/1/ns/net")
	return err1 == nil && err2 == nil && self == pid1
}

// systemdGuard, where systemd runs this host, also starts a transient
// timer that runs the same watchdog shortly after the deadline: a second
// guard outside the SSH session's processes, for a logind that ends them
// all with the session (KillUserProcesses=yes) and the process watchdog
// with them. The decision file keeps the two from both acting. It returns
// the timer's unit ("" when systemd does not run here).
func systemdGuard(ctx context.Context, r firewall.Runner, exe, dir string, deadline time.Time, journal bool) (string, error) {
	if !systemdHere() {
		return "", nil
	}
	unit := "fwaudit-rollback-" + strings.NewReplacer(":", "-", "+", "-").Replace(filepath.Base(dir))
	after := int(time.Until(deadline).Seconds()) + 3
	args := []string{"--unit", unit, "--on-active", strconv.Itoa(after) + "s", "--timer-property", "AccuracySec=1s",
		"--", exe, "apply", "--watchdog", dir}
	if !journal {
		args = append(args, "--no-journal")
	}
	if _, err := r.Run(ctx, "systemd-run", args...); err != nil {
		return "", err
	}
	return unit, nil
}
