package cmd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fwaudit/fwaudit/report"
)

var fleetFormats = []string{"table", "json", "markdown", "html"}

type fleetOptions struct {
	app             *App
	paths           []string
	format          string
	failOn          string
	allowIncomplete bool
	baseline        string
	failOnChange    bool
	all             bool
}

// exitChanged: fleet --baseline --fail-on-change found a change.
const exitChanged = 5

func newFleetCmd(app *App, runF func(context.Context, *fleetOptions) error) *cobra.Command {
	opts := &fleetOptions{app: app}
	c := &cobra.Command{
		Use:   "fleet [flags] PATH...",
		Short: "Many hosts' reports in one view: worst severity per host, exposed services, changes",
		Long: `Read the JSON reports of many hosts (fwaudit report -o json), each PATH a
report file or a directory of them (its *.json files, not its
subdirectories), and show them as one fleet: per host the worst severity,
the findings per severity and the failed checks; every sensitive service
(database, cache, admin interface) open to the world; every finding with
its host. A host is named by its report's hostname, or by the file's name
without .json when the report has none.

A directory that fwaudit report --output-dir DIR --keep N fills holds
several reports of each host (HOST-TIME.json): the newest of each host is
the host's, and the older ones are counted; --all lists every report of
each host in the host table, oldest first (its history), while findings,
exposed services and --baseline use the newest. Two reports of one host
are duplicates only when their times match (two machines sharing a
name), which is an error.

With --baseline (an earlier directory of reports) it also shows what
changed: findings new or resolved on the hosts in both runs, who can
reach what (per socket and family, as fwaudit diff: widened or narrowed,
with the sources added and removed, even when no finding changed), and
hosts added or removed. A finding is the same across runs when its host, id,
family, protocol, port, address, service and rule text are: line numbers,
file names and nft handles are not part of it, so inserting a rule above
another does not make its findings new.

A report that cannot be read (missing, truncated, not an fwaudit report,
a second report of the same host at the same time) is listed under errors
and on stderr, never dropped silently, and the exit code is 1. A
directory without any *.json file is such an error too.

Exit codes:
  0  every report was read, and no finding is at or above --fail-on
  1  a report (or a baseline report) could not be read, or no report was
     found; this wins over 3 and 4: the fleet is not fully known
  2  usage
  3  a host has a finding at or above --fail-on
  4  with --fail-on: no such finding, but a host's audit is incomplete
     (checks skipped for lack of input); --allow-incomplete lets it exit 0
  5  with --baseline and --fail-on-change: none of the above, but
     something changed since the baseline`,
		Example: `  fwaudit fleet fwaudit-reports/
  fwaudit fleet --all /var/lib/fwaudit/reports/
  fwaudit fleet -o json fwaudit-reports/ > fleet.json
  fwaudit fleet -o html fwaudit-reports/ > fleet.html
  fwaudit fleet --fail-on high fwaudit-reports/ || echo "a host has a high finding"
  fwaudit fleet --baseline last-week/ fwaudit-reports/
  fwaudit fleet --baseline last-week/ --fail-on-change fwaudit-reports/ || mail -s changed admin`,
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErrorf("%s takes one or more report files or directories", c.CommandPath())
			}
			if err := checkOutput(opts.format, "fleet format", fleetFormats); err != nil {
				return err
			}
			if opts.failOn != "" {
				if _, err := report.ParseSeverity(opts.failOn); err != nil {
					return usageErrorf("--fail-on: %v", err)
				}
			}
			if opts.failOnChange && opts.baseline == "" {
				return usageErrorf("--fail-on-change needs --baseline")
			}
			opts.paths = args
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return fleetRun(opts)
		},
	}
	f := c.Flags()
	bindOutput(c, &opts.format, "table", fleetFormats)
	f.StringVar(&opts.failOn, "fail-on", "", "exit 3 when a host has a finding at or above `SEVERITY` (critical, high, medium, low, info)")
	f.BoolVar(&opts.allowIncomplete, "allow-incomplete", false, "with --fail-on, pass hosts whose audit is incomplete instead of exiting 4")
	f.StringVar(&opts.baseline, "baseline", "", "earlier reports to compare with: a directory of them or one report `PATH`")
	f.BoolVar(&opts.all, "all", false, "list every report of each host (its history), not only the newest")
	f.BoolVar(&opts.failOnChange, "fail-on-change", false, "with --baseline, exit 5 when anything changed (findings, who can reach what, hosts)")
	var severities []string
	for _, s := range report.Severities {
		severities = append(severities, s.String())
	}
	completeValues(c, "fail-on", severities)
	return c
}

func fleetRun(opts *fleetOptions) error {
	var cur []report.FleetInput
	for _, p := range opts.paths {
		cur = append(cur, readReports(p)...)
	}
	var base []report.FleetInput
	if opts.baseline != "" {
		base = readReports(opts.baseline)
	}
	fl := report.NewFleetOf(cur, base, opts.all)
	if err := opts.write(fl); err != nil {
		return err
	}
	for _, e := range fl.Errors {
		what := e.File
		if e.Baseline {
			what = "baseline " + what
		}
		opts.app.warnf("%s: %s", what, e.Error)
	}
	if n := len(fl.Errors); n > 0 {
		return fmt.Errorf("%d of %s could not be read (see errors)", n, report.Plural(len(cur)+len(base), "report"))
	}
	return opts.exit(fl)
}

// write writes the fleet in its format to stdout.
func (opts *fleetOptions) write(fl *report.Fleet) error {
	w := opts.app.Stdout
	var err error
	switch opts.format {
	case "json":
		err = fl.WriteJSON(w)
	case "markdown":
		err = fl.WriteMarkdown(w)
	case "html":
		err = fl.WriteHTML(w)
	default:
		err = fl.WriteTable(w)
	}
	if err != nil {
		return fmt.Errorf("writing fleet: %w", err)
	}
	return nil
}

// exit says on stderr which hosts' audits are incomplete, and fails as
// --fail-on and --fail-on-change ask.
func (opts *fleetOptions) exit(fl *report.Fleet) error {
	if inc := fl.Incomplete(); len(inc) > 0 {
		opts.app.warnf("audit incomplete on %s: %s", report.Plural(len(inc), "host"), strings.Join(inc, ", "))
	}
	if opts.failOn != "" {
		sev, _ := report.ParseSeverity(opts.failOn)
		if fl.Exceeds(sev) {
			return &exitErr{code: exitFindings}
		}
		if len(fl.Incomplete()) > 0 && !opts.allowIncomplete {
			return &exitErr{code: exitIncomplete,
				err:  fmt.Errorf("--fail-on %s: the audit of %s is incomplete, so the fleet cannot pass", opts.failOn, report.Plural(len(fl.Incomplete()), "host")),
				hint: "--allow-incomplete passes it on the findings alone"}
		}
	}
	if opts.failOnChange && fl.Diff != nil && fl.Diff.Changed() {
		return &exitErr{code: exitChanged}
	}
	return nil
}

// readReports reads one PATH: a report file, or every *.json file directly
// in a directory, in name order. What cannot be read is an input with Err,
// so that the fleet lists it; so is a directory without reports.
func readReports(path string) []report.FleetInput {
	st, err := os.Stat(path)
	if err != nil {
		return []report.FleetInput{{File: path, Err: statError(err)}}
	}
	if !st.IsDir() {
		return []report.FleetInput{readReport(path)}
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return []report.FleetInput{{File: path, Err: fmt.Errorf("listing the directory: %v", unwrapPath(err))}}
	}
	var names []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".json") && !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return []report.FleetInput{{File: path, Err: fmt.Errorf("no report: the directory has no *.json file")}}
	}
	sort.Strings(names)
	var out []report.FleetInput
	for _, n := range names {
		out = append(out, readReport(filepath.Join(path, n)))
	}
	return out
}

func readReport(file string) report.FleetInput {
	f, err := os.Open(file)
	if err != nil {
		return report.FleetInput{File: file, Err: statError(err)}
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && !st.Mode().IsRegular() {
		return report.FleetInput{File: file, Err: fmt.Errorf("not a regular file")}
	}
	r, err := report.ParseReport(f)
	return report.FleetInput{File: file, Report: r, Err: err}
}

func statError(err error) error {
	if os.IsNotExist(err) {
		return fmt.Errorf("no such file or directory")
	}
	return unwrapPath(err)
}

// unwrapPath drops the path from an *os.PathError: the fleet names the
// file already.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return fmt.Errorf("%s: %v", pe.Op, pe.Err)
	}
	return err
}
