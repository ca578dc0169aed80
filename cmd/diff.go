package cmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fwaudit/fwaudit/report"
)

var diffFormats = []string{"table", "json"}

type diffOptions struct {
	app      *App
	old, cur string
	format   string
}

func newDiffCmd(app *App, runF func(context.Context, *diffOptions) error) *cobra.Command {
	opts := &diffOptions{app: app}
	c := &cobra.Command{
		Use:   "diff [flags] OLD.json NEW.json",
		Short: "What changed on one host between two of its reports",
		Long: `Compare two JSON reports of one host (fwaudit report -o json): who can
reach each listening socket, per family (a dual-stack socket is judged
for IPv4 and IPv6 apart), and the findings that are new or resolved.

Any change of the sources the firewall accepts is a change, in either
direction and even when the verdict word stays the same: "widened" when
some address can now reach a socket that could not (restricted to
10.20.0.0/16 becoming restricted to 0.0.0.0/1, or an address leaving an
"open except" list), "narrowed" for the reverse, "widened and narrowed"
for both, "changed" when only the verdict or the interfaces moved. Each
names who could and who can reach it, and the sources added (+) and
removed (-); "+?" and "-?" are sources whose access depends on runtime
state (a conditional verdict, or the doubtful sources of an open or
restricted one). A socket that appeared or went away is
"absent" on the other side.

A finding is the same in both reports when its id, family, protocol, port,
address, service and rule text are: line numbers, file names and nft
handles are not part of it, so inserting a rule above another does not
make its findings new.

Exit codes, as diff(1):
  0  nothing changed
  1  something changed
  2  usage, or a report could not be read`,
		Example: `  fwaudit diff last-week/web1.json web1.json
  fwaudit diff -o json before.json after.json`,
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usageErrorf("%s takes two reports, OLD.json and NEW.json (got %d arguments)", c.CommandPath(), len(args))
			}
			if err := checkOutput(opts.format, "diff format", diffFormats); err != nil {
				return err
			}
			opts.old, opts.cur = args[0], args[1]
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return diffRun(opts)
		},
	}
	bindOutput(c, &opts.format, "table", diffFormats)
	return c
}

func diffRun(opts *diffOptions) error {
	old, err := readOneReport(opts.old)
	if err != nil {
		return err
	}
	cur, err := readOneReport(opts.cur)
	if err != nil {
		return err
	}
	if old.Host.Hostname != cur.Host.Hostname {
		opts.app.warnf("the reports are of different hosts: %q and %q", old.Host.Hostname, cur.Host.Hostname)
	}
	d := report.NewDiff(opts.old, old, opts.cur, cur)
	if opts.format == "json" {
		err = d.WriteJSON(opts.app.Stdout)
	} else {
		err = d.WriteTable(opts.app.Stdout)
	}
	if err != nil {
		return &exitErr{code: exitUsage, notUsage: true, err: fmt.Errorf("writing diff: %w", err)}
	}
	if d.Changed {
		return &exitErr{code: 1}
	}
	return nil
}

// readOneReport reads a report for diff, whose every trouble exits 2.
func readOneReport(file string) (*report.Report, error) {
	in := readReport(file)
	if in.Err != nil {
		return nil, &exitErr{code: exitUsage, notUsage: true, err: fmt.Errorf("reading %s: %v", file, in.Err)}
	}
	return in.Report, nil
}
