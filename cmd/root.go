// Package cmd holds fwaudit's command-line interface: cobra commands that
// fill an options struct and hand off to scan, firewall, report and suggest.
// Only this package imports cobra.
//
// Output rules: stdout carries data only (a table, JSON, a ruleset);
// everything else goes to stderr as "fwaudit: error: …", "warning: …" or
// "hint: …", lowercase, without a final period.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes, as DESIGN.md fixes them.
const (
	exitOK         = 0
	exitError      = 1
	exitUsage      = 2
	exitFindings   = 3
	exitIncomplete = 4 // report --fail-on: checks skipped for lack of input
)

// exitErr carries an exit code other than 1 out of a command. A nil err
// exits silently with code.
type exitErr struct {
	code int
	err  error
	hint string // printed after the error
	// notUsage: exit with code 2 without the usage hint (suggest --diff
	// exits 2 on any trouble, as diff(1) does)
	notUsage bool
}

func (e *exitErr) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitErr) Unwrap() error { return e.err }

func usageErrorf(format string, a ...any) error {
	return &exitErr{code: exitUsage, err: fmt.Errorf(format, a...)}
}

// App is everything a command touches outside itself, so that tests can run
// commands against captured files and buffers.
type App struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string

	warned map[string]bool
}

// warnf prints a warning on stderr, once per distinct message.
func (a *App) warnf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if a.warned == nil {
		a.warned = map[string]bool{}
	}
	if a.warned[msg] {
		return
	}
	a.warned[msg] = true
	fmt.Fprintf(a.Stderr, "warning: %s\n", msg)
}

// notef says on stderr what fwaudit chose for the user, and why.
func (a *App) notef(format string, args ...any) {
	fmt.Fprintf(a.Stderr, "note: %s\n", fmt.Sprintf(format, args...))
}

func (a *App) hintf(format string, args ...any) {
	fmt.Fprintf(a.Stderr, "hint: %s\n", fmt.Sprintf(format, args...))
}

// Main runs fwaudit with the process's arguments and returns its exit code.
func Main() int {
	app := &App{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
	return app.Run(context.Background(), os.Args[1:])
}

// Run executes one command line and maps its error to an exit code.
func (a *App) Run(ctx context.Context, args []string) int {
	if _, ok := a.Stderr.(safeStderr); !ok {
		a.Stderr = safeStderr{a.Stderr}
	}
	root := newRootCmd(a)
	root.SetArgs(args)
	root.SetOut(a.Stdout)
	root.SetErr(a.Stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	code := exitError
	usage := false
	var ee *exitErr
	if errors.As(err, &ee) {
		code = ee.code
		usage = code == exitUsage && !ee.notUsage
		if ee.err == nil {
			return code
		}
	} else if isCobraUsageError(err) {
		code, usage = exitUsage, true
	}
	fmt.Fprintf(a.Stderr, "fwaudit: error: %s\n", strings.TrimSuffix(err.Error(), "."))
	if usage {
		a.hintf("run 'fwaudit --help' for usage")
	}
	if ee != nil && ee.hint != "" {
		a.hintf("%s", ee.hint)
	}
	return code
}

// isCobraUsageError recognises the errors cobra itself returns for an
// unknown command; flag errors are wrapped by the FlagErrorFunc.
func isCobraUsageError(err error) bool {
	return strings.HasPrefix(err.Error(), "unknown command") ||
		strings.HasPrefix(err.Error(), "unknown shorthand flag") ||
		strings.HasPrefix(err.Error(), "unknown flag")
}

func newRootCmd(app *App) *cobra.Command {
	root := &cobra.Command{
		Use:   "fwaudit",
		Short: "Audit which listening services your firewall lets in, and harden it",
		Long: `fwaudit lists what listens on this host, names each service, works out from
the real rules (iptables and ip6tables, legacy or nft backend, and native
nftables) who can reach it (evaluating them the way the kernel does), and
writes a hardened ruleset for what runs.

Every live source has a file twin, so captured data from other hosts can be
audited offline: --sockets (ss -tunlp or netstat -tunlp output), --rules
(iptables-save), --rules6 (ip6tables-save), --nft (nft list ruleset). One
of them may be - to read stdin: iptables-save | fwaudit scan --rules -`,
		Example: `  sudo fwaudit scan                      # what listens, what it is, who can reach it
  sudo fwaudit scan -o json              # the same, machine-readable
  sudo fwaudit explain tcp/3306          # the rules that decide one port
  sudo fwaudit suggest > rules.v4        # hardened iptables-restore ruleset
  sudo fwaudit suggest --format nft      # the same policy for nft -f
  sudo fwaudit report --fail-on high     # compliance report for CI
  fwaudit fleet reports/                 # many hosts' reports in one view
  fwaudit diff old.json new.json         # what changed on one host
  fwaudit scan --offline --sockets ss.txt --rules rules.v4 --rules6 rules.v6`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// --version, as the version command prints it; defined here so that
	// cobra does not also take -v for it
	root.Version = Version()
	root.SetVersionTemplate("fwaudit {{.Version}}\n")
	root.Flags().Bool("version", false, "print fwaudit's version")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitErr{code: exitUsage, err: err}
	})
	root.AddCommand(
		newScanCmd(app, nil),
		newExplainCmd(app, nil),
		newReportCmd(app, nil),
		newSuggestCmd(app, nil),
		newApplyCmd(app, nil),
		newFleetCmd(app, nil),
		newDiffCmd(app, nil),
		newServicesCmd(app),
		newVersionCmd(app),
	)
	return root
}

// exactArgs is cobra.ExactArgs with a usage exit code.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return usageErrorf("%s takes %s (got %d arguments)", c.CommandPath(), what, len(args))
		}
		return nil
	}
}

func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErrorf("%s takes no arguments (got %q)", c.CommandPath(), strings.Join(args, " "))
	}
	return nil
}
