package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/fwaudit/fwaudit/apply"
	"github.com/fwaudit/fwaudit/firewall"
)

// apply's exit codes beyond 0, 1 and 2.
const (
	exitRefused        = 3 // a proof or another manager said no: nothing changed
	exitNotConfirmed   = 4 // loaded, not confirmed in time: the previous rules are back
	exitRollbackFailed = 5 // the rollback failed: the rules are in an unknown state
)

type applyOptions struct {
	app                       *App
	files                     []string
	policy                    policyFlags
	format                    string
	timeout                   time.Duration
	confirm, persist, dryRun  bool
	backupDir, root, watchdog string
	noJournal                 bool
}

func newApplyCmd(app *App, runF func(context.Context, *applyOptions) error) *cobra.Command {
	opts := &applyOptions{app: app}
	c := &cobra.Command{
		Use:   "apply [FILE...]",
		Short: "Load the suggested ruleset, with a backup and an automatic rollback",
		Long: `Load what fwaudit suggest would print (it takes the same policy flags), after
the proofs suggest makes, run on exactly the files loaded beside whatever stays
loaded: no live SSH session in either family is cut, and nothing is admitted
that the current rules do not admit unless --allow or --ssh-from says so.

Before anything changes, every source's current rules (iptables-nft,
iptables-legacy, nft) are saved to a new directory under the backup directory,
named by the time, written in full before it appears. A watchdog is started: a
detached process in its own session that restores the backup at the deadline
unless the new rules are confirmed, so the rollback happens even if fwaudit or
the SSH session dies while waiting; where systemd runs the host, a transient
timer runs it again just after the deadline, outside the session. Then each
family is loaded in one step (iptables-restore, ip6tables-restore; or one
nft -f transaction), both or neither: when the second fails the first is
rolled back. The rules are then read back from the kernel and every SSH
session's reconnection decided on them again; one that would be cut rolls
back at once.

Confirm by typing yes on the terminal, or by running fwaudit apply --confirm
from a new SSH session, which proves that new sessions get in. Without
confirmation within --timeout the previous rules are restored.

--format restore loads both restore files (replacing the filter table, or with
--noflush on a Docker host, which keeps Docker's chains); --format nft adds
table inet fwaudit beside today's tables. The default is nft when today's rules
are native nftables tables only, restore otherwise.

--persist, once confirmed, writes the rules where the host's boot loads them:
/etc/iptables/rules.v4 and rules.v6 (netfilter-persistent), or for nft the
whole ruleset to /etc/nftables.conf (nftables.service); previous files are kept
in the backup directory.

Hosts whose rules ufw, firewalld or kube-proxy manage are refused (their next
reload would discard the rules); so is a restore that would wipe another
tool's chains (fail2ban: use --format nft).

fwaudit apply FILE... loads reviewed files instead: iptables-restore files
(rules.v4, rules.v6: the family is recognised from the content), or one nft
file (recognised by its statements, loaded with one nft -f for both
families: the tables it deletes go, the tables it defines come, a table
loaded today that it adds to without deleting it first is refused), after
the same proofs, with nothing widened: a file that admits any source to any
listener the current rules do not is refused.

Every step is logged on stderr and, where there is one, to the journal. With
--dry-run the plan and the per-port changes go to stdout and nothing changes.

Exit codes: 0 loaded and confirmed (or --dry-run, --confirm done); 1 error
(nothing changed, or a load that failed was rolled back); 2 usage error;
3 refused before anything was loaded; 4 not confirmed in time (or
interrupted, or cut on the rules read back): the previous rules are back;
5 the rollback failed (the backup directory is named).`,
		Example: `  sudo fwaudit apply --dry-run                 # the plan, changing nothing
  sudo fwaudit apply                           # load, then type yes within 60 s
  sudo fwaudit apply --timeout 5m --persist
  sudo fwaudit apply --confirm                 # from a second SSH session
  sudo fwaudit apply rules.v4 rules.v6         # reviewed files
  sudo fwaudit apply fwaudit.nft               # a reviewed nft file
  sudo fwaudit apply --allow postgresql=10.0.0.0/8 --ssh-from 203.0.113.0/24`,
		RunE: func(c *cobra.Command, args []string) error {
			opts.files = args
			if opts.confirm {
				if len(args) > 0 {
					return usageErrorf("--confirm takes no FILE arguments")
				}
				for _, f := range []string{"allow", "deny", "ssh-from", "no-ping", "log-drops", "format", "timeout", "persist", "dry-run", "root"} {
					if c.Flags().Changed(f) {
						return usageErrorf("--confirm confirms what a running apply loaded: --%s does not go with it", f)
					}
				}
			}
			if len(args) > 0 {
				for _, f := range []string{"allow", "deny", "ssh-from", "no-ping", "log-drops", "format"} {
					if c.Flags().Changed(f) {
						return usageErrorf("--%s shapes the suggestion: it does not go with FILE arguments", f)
					}
				}
			}
			if opts.format != "" {
				if err := checkOutput(opts.format, "format", apply.Formats); err != nil {
					return err
				}
			}
			if opts.timeout <= 0 {
				return usageErrorf("--timeout must be positive (got %s)", opts.timeout)
			}
			if opts.backupDir == "" {
				opts.backupDir = apply.DefaultBackupRoot
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return applyRun(c.Context(), opts)
		},
	}
	f := c.Flags()
	opts.policy.bind(c, "open `SPEC`, even a sensitive one, as suggest --allow (repeatable)", "keep `SPEC` closed, as suggest --deny (repeatable)")
	f.StringVar(&opts.format, "format", "", "load as `FORMAT`: restore (both restore files) or nft (default: nft on a native nftables host)")
	completeValues(c, "format", apply.Formats)
	f.DurationVar(&opts.timeout, "timeout", 60*time.Second, "roll back unless confirmed within `DURATION`")
	f.BoolVar(&opts.confirm, "confirm", false, "confirm the ruleset a running apply loaded, and exit")
	f.BoolVar(&opts.persist, "persist", false, "once confirmed, write the rules where the boot loads them")
	f.BoolVar(&opts.dryRun, "dry-run", false, "print the plan and the per-port changes; change nothing")
	f.StringVar(&opts.backupDir, "backup-dir", os.Getenv("FWAUDIT_BACKUP_DIR"), "write backups under `DIR` (default "+apply.DefaultBackupRoot+", or $FWAUDIT_BACKUP_DIR)")
	f.StringVar(&opts.root, "root", "/", "--persist writes under `DIR` instead of /")
	f.StringVar(&opts.watchdog, "watchdog", "", "run as the watchdog of the apply in `DIR`")
	f.BoolVar(&opts.noJournal, "no-journal", false, "log to stderr only, not to the journal")
	f.MarkHidden("watchdog")
	return c
}

func applyRun(ctx context.Context, opts *applyOptions) error {
	cfg, err := opts.config()
	if err != nil {
		return err
	}
	defer cfg.Log.Close()
	switch {
	case opts.watchdog != "":
		return apply.Watch(ctx, cfg.Runner, opts.watchdog, cfg.Log)
	case opts.confirm:
		return apply.Confirm(ctx, cfg)
	}
	plan, err := opts.plan(ctx)
	if err != nil {
		return applyErr(err)
	}
	if opts.dryRun {
		var buf bytes.Buffer
		plan.Describe(&buf)
		_, err := opts.app.Stdout.Write(buf.Bytes())
		return err
	}
	return applyErr(apply.Run(ctx, cfg, plan))
}

// plan builds the policy as suggest does, from the live host, and plans
// loading it.
func (opts *applyOptions) plan(ctx context.Context) (*apply.Plan, error) {
	so, err := opts.policy.options()
	if err != nil {
		return nil, err
	}
	in, err := (&inputOpts{}).load(ctx, opts.app, true)
	if err != nil {
		return nil, err
	}
	so.Current = in.fw
	if len(opts.files) > 0 {
		return opts.planFiles(ctx, in, so.Current)
	}
	p, err := buildPolicy(opts.app, in.listeners, so)
	if err != nil {
		return nil, err
	}
	sessions, err := sshSessions(ctx, opts.app, true, in.listeners)
	if err != nil {
		return nil, err
	}
	return apply.Prepare(apply.Input{Policy: p, Listeners: in.listeners, Current: so.Current,
		Sessions: sessions, Format: opts.format, Persist: opts.persist})
}

// planFiles plans loading the reviewed files given as arguments.
func (opts *applyOptions) planFiles(ctx context.Context, in *inputs, cur *firewall.Loaded) (*apply.Plan, error) {
	var files []apply.File
	for _, name := range opts.files {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", name, unwrapPathError(err))
		}
		files = append(files, apply.File{Name: name, Data: b})
	}
	sessions, err := sshSessions(ctx, opts.app, true, in.listeners)
	if err != nil {
		return nil, err
	}
	readNft := func(b []byte, name string) (*firewall.NftRuleset, error) {
		return firewall.LoadNftText(ctx, firewall.ExecRunner{}, b, name)
	}
	return apply.PrepareFiles(files, in.listeners, cur, sessions, opts.persist, readNft)
}

func (opts *applyOptions) config() (apply.Config, error) {
	exe, err := os.Executable()
	if err != nil {
		return apply.Config{}, err
	}
	cfg := apply.Config{Runner: firewall.ExecRunner{}, BackupRoot: opts.backupDir, Root: opts.root,
		Timeout: opts.timeout, Exe: exe, Journal: !opts.noJournal, Log: apply.NewLogger(opts.app.Stderr, !opts.noJournal)}
	if f, ok := opts.app.Stdin.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			cfg.Terminal = f
		}
	}
	return cfg, nil
}

// applyErr gives apply's outcomes their exit codes.
func applyErr(err error) error {
	var refused *apply.Refusal
	var notConfirmed *apply.NotConfirmed
	var rollback *apply.RollbackError
	switch {
	case errors.As(err, &rollback):
		return &exitErr{code: exitRollbackFailed, err: err}
	case errors.As(err, &refused):
		return &exitErr{code: exitRefused, err: err}
	case errors.As(err, &notConfirmed):
		return &exitErr{code: exitNotConfirmed, err: err}
	}
	return err
}
