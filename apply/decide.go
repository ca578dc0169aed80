package apply

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The decision on a loaded ruleset is taken once: the first of the
// confirmation (terminal or --confirm) and the rollback (the watchdog at
// the deadline, or fwaudit itself when a load fails) to create the
// decision file wins; the others read it. os.Link fails when the name
// exists, so creating it with its content is one atomic step.
const (
	decisionFile = "decision"
	resultFile   = "result" // written after a rollback: "rolled back" or the failure
	pidFile      = "watchdog.pid"
	pendingLink  = "pending" // in the backup root: the directory awaiting a decision

	confirmed  = "confirmed"
	rolledBack = "rollback"
)

// decide records d unless a decision exists; it returns the decision in
// force and whether it is d.
func decide(dir, d string) (string, bool, error) {
	tmp, err := os.CreateTemp(dir, ".decision-")
	if err != nil {
		return "", false, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(d + "\n"); err != nil {
		tmp.Close()
		return "", false, err
	}
	if err := tmp.Close(); err != nil {
		return "", false, err
	}
	err = os.Link(tmp.Name(), filepath.Join(dir, decisionFile))
	if err == nil {
		return d, true, nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return "", false, err
	}
	got, err := decision(dir)
	return got, false, err
}

// decision is the decision taken ("" when none).
func decision(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, decisionFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	return strings.TrimSpace(string(b)), err
}

// writeAtomic writes data to path through a temporary file in the same
// directory and a rename: readers see the old file or the whole new one.
func writeAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// pending is the backup directory awaiting a decision under root.
func pending(root string) (string, error) {
	name, err := os.Readlink(filepath.Join(root, pendingLink))
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("no applied ruleset is waiting for confirmation (nothing pending in %s)", root)
	}
	if err != nil {
		return "", err
	}
	return filepath.Join(root, name), nil
}

// lockPending marks dir as the one awaiting a decision; it fails while
// another is (one that was decided is cleared).
func lockPending(root, dir string) error {
	link := filepath.Join(root, pendingLink)
	for range 2 {
		err := os.Symlink(filepath.Base(dir), link)
		if err == nil {
			return nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("marking the apply pending: %w", err)
		}
		if err := nonePending(root); err != nil {
			return err
		}
		os.Remove(link) // decided, or gone: stale
	}
	return fmt.Errorf("marking the apply pending: %s keeps reappearing", link)
}

// unlockPending clears the pending mark if it is dir's.
func unlockPending(root, dir string) {
	if name, err := os.Readlink(filepath.Join(root, pendingLink)); err == nil && name == filepath.Base(dir) {
		os.Remove(filepath.Join(root, pendingLink))
	}
}

// nonePending fails while an applied ruleset under root awaits its
// decision.
func nonePending(root string) error {
	other, err := pending(root)
	if err != nil {
		return nil
	}
	if d, _ := decision(other); d == "" {
		if _, err := os.Stat(other); err == nil {
			return fmt.Errorf("another applied ruleset is waiting for confirmation (%s): confirm it with fwaudit apply --confirm, or wait for its rollback", other)
		}
	}
	return nil
}
