package apply

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/suggest"
)

// Config is how Run reaches the host.
type Config struct {
	Runner     firewall.Runner
	BackupRoot string        // DefaultBackupRoot unless tests say otherwise
	Root       string        // --persist writes under it ("/")
	Timeout    time.Duration // how long to wait for confirmation
	Exe        string        // the fwaudit binary, run as `Exe apply --watchdog DIR`
	Journal    bool          // the watchdog logs to the journal too
	Log        *Logger
	// Terminal, when not nil, is read for a typed confirmation ("yes").
	Terminal io.Reader
	Now      func() time.Time
}

// NotConfirmed is Run's outcome when the loaded rules were taken back:
// nobody confirmed in time, or (Why) the rules read back from the kernel
// failed the session check. The rules loaded before are back.
type NotConfirmed struct {
	Dir string
	Why string
}

func (e *NotConfirmed) Error() string {
	if e.Why != "" {
		return fmt.Sprintf("%s: the previous rules were restored (backup in %s)", e.Why, e.Dir)
	}
	return fmt.Sprintf("not confirmed in time: the previous rules were restored (backup in %s)", e.Dir)
}

// checkLoaded reads the rules back from the kernel once loaded and
// decides a new connection of every session on them, as the proofs did on
// the files: what the kernel holds is what counts, beside whatever else
// stayed loaded there.
// A conditional decision (runtime state, tables it cannot read) is not a
// cut: it is logged, and the confirmation from a new session decides.
func checkLoaded(ctx context.Context, r firewall.Runner, sessions []suggest.Session, log *Logger) error {
	if len(sessions) == 0 {
		return nil
	}
	live := firewall.LoadLive(ctx, r)
	for _, s := range sessions {
		c := s.Client.Addr()
		if c.IsLoopback() {
			continue
		}
		fam, sets, unseen, err := firewall.IPv4, live.V4, live.Unseen4, live.Err4
		if c.Is6() {
			fam, sets, unseen, err = firewall.IPv6, live.V6, live.Unseen6, live.Err6
		}
		if err != nil {
			return fmt.Errorf("reading the %s rules back after loading: %w", fam, err)
		}
		ev := firewall.NewEvaluator(fam, sets, firewall.Host{Unseen: unseen})
		d := ev.Decide(firewall.Packet{Proto: "tcp", Src: c, Dst: s.Server.Addr(),
			SPort: s.Client.Port(), DPort: s.Server.Port(), InIface: "eth0"})
		if d.Verdict == "conditional" {
			log.Printf("the rules read back after loading accept a reconnection from %s to port %d only conditionally (%s): confirm from a new session to prove it", c, s.Server.Port(), strings.Join(d.Reasons, "; "))
			continue
		}
		if d.Verdict != "accept" {
			return fmt.Errorf("the rules read back after loading would cut the SSH session from %s to port %d (%s): %s by %s",
				c, s.Server.Port(), s.From, d.Verdict, d.Rule)
		}
	}
	return nil
}

// Run carries plan out (see the package comment): backup, watchdog,
// load, wait. It returns nil once the rules are confirmed (and persisted
// when the plan says so).
func Run(ctx context.Context, cfg Config, plan *Plan) error {
	log := cfg.Log
	for _, n := range plan.Notes {
		log.Printf("%s", n)
	}
	for _, c := range plan.Changes {
		if c.Changed {
			log.Printf("change over %s: %s", c.Family, c)
		}
	}
	now := time.Now
	if cfg.Now != nil {
		now = cfg.Now
	}
	if err := nonePending(cfg.BackupRoot); err != nil {
		return err // checked again, atomically, by lockPending
	}
	dir, st, err := backup(ctx, cfg.Runner, cfg.BackupRoot, now(), cfg.Timeout, plan, cfg.Root, log)
	if err != nil {
		return err
	}
	log.Printf("backup of the current rules written to %s", dir)
	if err := lockPending(cfg.BackupRoot, dir); err != nil {
		return err
	}
	pid, err := startWatchdog(cfg.Exe, dir, cfg.Journal)
	if err != nil {
		decide(dir, rolledBack) // nothing was loaded: stand it down
		unlockPending(cfg.BackupRoot, dir)
		return err
	}
	log.Printf("watchdog started (pid %d): it restores the backup at %s unless the rules are confirmed", pid, st.Deadline.Format(time.RFC3339))
	if unit, err := systemdGuard(ctx, cfg.Runner, cfg.Exe, dir, st.Deadline, cfg.Journal); err != nil {
		log.Printf("no systemd timer as a second guard (%v): the watchdog process alone restores the rules", err)
	} else if unit != "" {
		log.Printf("systemd timer %s.timer started as a second guard: it runs the watchdog again just after the deadline", unit)
	}
	if err := load(ctx, cfg.Runner, dir, st, log); err != nil {
		if _, won, _ := decide(dir, rolledBack); won {
			if rerr := finishRollback(ctx, cfg.Runner, dir, st, log); rerr != nil {
				return errors.Join(err, rerr)
			}
		}
		return err
	}
	if err := checkLoaded(ctx, cfg.Runner, plan.Sessions, log); err != nil {
		log.Printf("%v: rolling back now", err)
		if _, won, _ := decide(dir, rolledBack); won {
			if rerr := finishRollback(ctx, cfg.Runner, dir, st, log); rerr != nil {
				return errors.Join(err, rerr)
			}
		}
		return &NotConfirmed{Dir: dir, Why: err.Error()}
	}
	log.Printf("waiting %s for confirmation: type yes here, or run `fwaudit apply --confirm` from a new SSH session (which proves new sessions get in)", cfg.Timeout.Round(time.Second))
	return wait(ctx, cfg, dir, st, pid)
}

// load loads every file of st in order; when one fails, the caller rolls
// back the ones loaded before it (both families or neither).
func load(ctx context.Context, r firewall.Runner, dir string, st *state, log *Logger) error {
	for _, l := range st.Loads {
		args := append(append([]string{}, l.Args...), filepath.Join(dir, l.File))
		if _, err := r.Run(ctx, l.Cmd, args...); err != nil {
			return fmt.Errorf("loading %s: %w", l.File, err)
		}
		log.Printf("loaded %s (%s)", l.File, l)
	}
	return nil
}

// wait waits for the decision: a "yes" typed on the terminal, --confirm
// (the decision file), or the watchdog's rollback at the deadline. Should
// the watchdog be gone by then, fwaudit rolls back itself.
func wait(ctx context.Context, cfg Config, dir string, st *state, pid int) error {
	typed := make(chan struct{}, 1)
	if cfg.Terminal != nil {
		go func() {
			sc := bufio.NewScanner(cfg.Terminal)
			for sc.Scan() {
				if strings.EqualFold(strings.TrimSpace(sc.Text()), "yes") {
					typed <- struct{}{}
					return
				}
				cfg.Log.Printf("type yes to keep the new rules")
			}
		}()
	}
	// ^C or a termination request rolls back at once rather than at the
	// deadline
	interrupted, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	grace := st.Deadline.Add(30 * time.Second)
	for {
		select {
		case <-typed:
			return confirmIn(ctx, cfg.Runner, dir, st, cfg.Log, "on the terminal")
		case <-interrupted.Done():
			if _, won, _ := decide(dir, rolledBack); won {
				cfg.Log.Printf("interrupted: rolling back now")
				if err := finishRollback(ctx, cfg.Runner, dir, st, cfg.Log); err != nil {
					return err
				}
				return &NotConfirmed{Dir: dir, Why: "interrupted"}
			}
			stop()
			interrupted = ctx // decided meanwhile: read it below
		case <-time.After(pollEvery):
		}
		d, err := decision(dir)
		if err != nil {
			return err
		}
		switch {
		case d == confirmed:
			cfg.Log.Printf("confirmed by fwaudit apply --confirm")
			return nil
		case d == rolledBack:
			if res, ok := result(dir); ok {
				if res != "rolled back" {
					return &RollbackError{Dir: dir, Err: errors.New(strings.TrimPrefix(res, "rollback failed: "))}
				}
				return &NotConfirmed{Dir: dir}
			}
		case time.Now().After(grace) || time.Now().After(st.Deadline) && !alive(pid):
			if _, won, _ := decide(dir, rolledBack); won {
				cfg.Log.Printf("the watchdog (pid %d) did not roll back: rolling back", pid)
				if err := finishRollback(ctx, cfg.Runner, dir, st, cfg.Log); err != nil {
					return err
				}
				return &NotConfirmed{Dir: dir}
			}
		}
		if time.Now().After(grace.Add(30 * time.Second)) {
			return &RollbackError{Dir: dir, Err: errors.New("the rollback did not report back")}
		}
	}
}

func result(dir string) (string, bool) {
	b, err := os.ReadFile(filepath.Join(dir, resultFile))
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(b)), true
}

// Confirm confirms the applied ruleset waiting under cfg.BackupRoot.
func Confirm(ctx context.Context, cfg Config) error {
	dir, err := pending(cfg.BackupRoot)
	if err != nil {
		return err
	}
	st, err := readState(dir)
	if err != nil {
		return err
	}
	return confirmIn(ctx, cfg.Runner, dir, st, cfg.Log, "by fwaudit apply --confirm")
}

// confirmIn records the confirmation of dir, then persists the rules when
// the plan says so.
func confirmIn(ctx context.Context, r firewall.Runner, dir string, st *state, log *Logger, how string) error {
	d, won, err := decide(dir, confirmed)
	if err != nil {
		return err
	}
	if !won {
		if d == confirmed {
			log.Printf("already confirmed")
			return nil
		}
		return fmt.Errorf("too late: the rules are being rolled back (deadline %s; backup in %s)", st.Deadline.Format(time.RFC3339), dir)
	}
	unlockPending(filepath.Dir(dir), dir)
	log.Printf("confirmed %s: the new rules stay", how)
	if st.Persist {
		return persist(ctx, r, dir, st, log)
	}
	return nil
}

// WatchdogPID is the watchdog's pid for the apply in dir (0 when it has
// not started), for tests and for the admin.
func WatchdogPID(dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, pidFile))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}
