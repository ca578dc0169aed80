package apply

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fwaudit/fwaudit/firewall"
)

// DefaultBackupRoot is where backups go unless the caller says otherwise.
const DefaultBackupRoot = "/var/lib/fwaudit/backup"

// stateFile is the backup directory's record for the watchdog and for
// --confirm: the deadline, how to roll back, what to persist.
const stateFile = "state.json"

// state is what a backup directory records.
type state struct {
	Created  time.Time `json:"created"`
	Deadline time.Time `json:"deadline"`
	Format   string    `json:"format"`
	// Rollback: each step is run in order, each Cmd Args File (a file
	// of the backup directory)
	Rollback []step `json:"rollback"`
	Loads    []step `json:"loads"`
	Persist  bool   `json:"persist"`
	Root     string `json:"root"` // persisted paths are under it
}

type step struct {
	Family firewall.Family `json:"family,omitempty"`
	Cmd    string          `json:"cmd"`
	Args   []string        `json:"args,omitempty"`
	File   string          `json:"file"`
}

func (s step) String() string {
	return fmt.Sprintf("%s %s", s.Cmd, joinArgs(append(append([]string{}, s.Args...), s.File)))
}

// backupSources are the dumps of today's rules taken besides those a
// rollback needs, for the admin: every iptables backend and nft's view.
var backupSources = [][]string{
	{"iptables-nft-save"}, {"ip6tables-nft-save"},
	{"iptables-legacy-save"}, {"ip6tables-legacy-save"},
	{"nft", "list", "ruleset"},
}

// backup dumps every source's rules into a new directory under root,
// named by the time, together with the files to load and the state
// record, and renames it into place only once everything is written: a
// directory in root is complete. A dump the rollback needs must work;
// the others are best effort (logged).
func backup(ctx context.Context, r firewall.Runner, root string, now time.Time, timeout time.Duration, plan *Plan, persistRoot string, log *Logger) (string, *state, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return "", nil, fmt.Errorf("creating the backup directory: %w", err)
	}
	name := now.UTC().Format("20060102T150405.000000000Z")
	tmp, err := os.MkdirTemp(root, ".partial-"+name+"-")
	if err != nil {
		return "", nil, fmt.Errorf("creating the backup directory: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	write := func(file string, data []byte) error {
		if err := os.WriteFile(filepath.Join(tmp, file), data, 0o600); err != nil {
			return fmt.Errorf("writing the backup: %w", err)
		}
		return nil
	}
	dumped := map[string][]byte{}
	dump := func(args []string) ([]byte, error) {
		key := joinArgs(args)
		if out, ok := dumped[key]; ok {
			return out, nil
		}
		out, err := r.Run(ctx, args[0], args[1:]...)
		if err != nil {
			return nil, err
		}
		dumped[key] = out
		return out, write(fileName(args), out)
	}
	for _, args := range backupSources {
		if noLegacy(r, args[0]) {
			continue
		}
		if _, err := dump(args); err != nil {
			log.Printf("backup: %s not saved: %v", joinArgs(args), err)
		}
	}
	st := &state{Created: now, Deadline: now.Add(timeout), Format: plan.Format, Persist: plan.Persist, Root: persistRoot}
	for _, l := range plan.Loads {
		if err := write(l.Name, l.Data); err != nil {
			return "", nil, err
		}
		st.Loads = append(st.Loads, step{Family: l.Family, Cmd: l.Cmd, Args: l.Args, File: l.Name})
		if l.Save == "" {
			continue
		}
		out, err := dump([]string{l.Save})
		if err != nil {
			return "", nil, fmt.Errorf("saving the current %s rules for the rollback: %w", l.Family, err)
		}
		file := "rollback-" + l.Name
		if err := write(file, rollbackRestore(out)); err != nil {
			return "", nil, err
		}
		restore := l.Cmd
		st.Rollback = append(st.Rollback, step{Family: l.Family, Cmd: restore, File: file})
	}
	if plan.Format == "nft" {
		// the load adds, replaces or deletes the tables it names (table
		// inet fwaudit, and on a native nftables host the admin's tables
		// it replaces): the rollback deletes each and puts back the ones
		// there were, in one transaction
		var rb bytes.Buffer
		var data []byte
		for _, l := range plan.Loads {
			data = append(data, l.Data...)
		}
		for _, t := range nftTablesNamed(data) {
			rb.WriteString("table " + t + "\ndelete table " + t + "\n")
		}
		for _, t := range nftTablesNamed(data) {
			f := strings.Fields(t)
			if old, err := r.Run(ctx, "nft", "list", "table", f[0], f[1]); err == nil {
				rb.Write(old)
			}
		}
		if err := write("rollback-fwaudit.nft", rb.Bytes()); err != nil {
			return "", nil, err
		}
		st.Rollback = []step{{Cmd: "nft", Args: []string{"-f"}, File: "rollback-fwaudit.nft"}}
	}
	b, _ := json.MarshalIndent(st, "", "  ")
	if err := write(stateFile, append(b, '\n')); err != nil {
		return "", nil, err
	}
	dir := filepath.Join(root, name)
	if err := syncDir(tmp); err != nil {
		return "", nil, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", nil, fmt.Errorf("writing the backup: %w", err)
	}
	if err := syncDir(root); err != nil {
		return "", nil, err
	}
	ok = true
	return dir, st, nil
}

// noLegacy: cmd is a legacy dump and the runner knows that no legacy table
// of its family exists (running it could load the ip_tables module just
// to print nothing).
func noLegacy(r firewall.Runner, cmd string) bool {
	p, ok := r.(interface {
		LegacyTables(firewall.Family) (present, known bool)
	})
	if !ok || !strings.HasSuffix(cmd, "-legacy-save") {
		return false
	}
	fam := firewall.IPv4
	if strings.HasPrefix(cmd, "ip6") {
		fam = firewall.IPv6
	}
	present, known := p.LegacyTables(fam)
	return known && !present
}

// rollbackRestore is a save to restore. A save without a filter table
// (none was loaded) gets an empty one accepting everything: restoring the
// save alone would leave the loaded filter table in place.
func rollbackRestore(save []byte) []byte {
	if bytes.Contains(save, []byte("\n*filter\n")) || bytes.HasPrefix(save, []byte("*filter\n")) {
		return save
	}
	return append(append([]byte{}, save...), "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"...)
}

// fileName is the backup file of a dump command: "iptables-nft-save",
// "nft-list-ruleset".
func fileName(args []string) string {
	return joinArgs(args, "-")
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("writing the backup: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("writing the backup: %w", err)
	}
	return nil
}

func readState(dir string) (*state, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return nil, err
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("reading %s: %w", filepath.Join(dir, stateFile), err)
	}
	return &st, nil
}

// rollback runs the state's rollback steps, every one even when one
// fails, and reports the failures.
func rollback(ctx context.Context, r firewall.Runner, dir string, st *state, log *Logger) error {
	var errs []error
	for _, s := range st.Rollback {
		args := append(append([]string{}, s.Args...), filepath.Join(dir, s.File))
		if _, err := r.Run(ctx, s.Cmd, args...); err != nil {
			log.Printf("rollback: %s failed: %v", s, err)
			errs = append(errs, err)
			continue
		}
		log.Printf("rollback: %s: restored", s)
	}
	if len(errs) > 0 {
		return &RollbackError{Dir: dir, Err: errs[0]}
	}
	return nil
}

// RollbackError is a rollback that did not complete: the rules are in an
// unknown state; the backup is in Dir.
type RollbackError struct {
	Dir string
	Err error
}

func (e *RollbackError) Error() string {
	return fmt.Sprintf("rolling back: %v; the backup is in %s", e.Err, e.Dir)
}

func (e *RollbackError) Unwrap() error { return e.Err }
