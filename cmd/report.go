package cmd

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/report"
)

var reportFormats = []string{"json", "table", "markdown", "html"}

type reportOptions struct {
	app    *App
	in     inputOpts
	format string
	failOn string
	// allowIncomplete lets --fail-on pass an audit with checks skipped for
	// lack of input
	allowIncomplete bool
	hostname        string
	at              string
	version         string
	layout          textLayout
	out             outDirOptions // --output-dir, --keep (report_outdir.go)
}

func newReportCmd(app *App, runF func(context.Context, *reportOptions) error) *cobra.Command {
	opts := &reportOptions{app: app}
	c := &cobra.Command{
		Use:   "report",
		Short: "Compliance report: CIS-mapped checks and findings with remediation",
		Long: `Evaluate the host's firewall against its listeners and write a compliance
record: checks (pass, fail or skip, with CIS recommendation numbers) and
findings (with severity and remediation), plus every socket's verdict.

The audit is incomplete when checks were skipped for lack of input: a
family's rules could not be read (not root, iptables-save not found,
--offline without --rules or --rules6) or the sockets could not be listed.
Checks skipped because the host has nothing to check (IPv6 disabled) do not
count. The summary counts skipped checks (checks_skipped) and says why the
audit is incomplete (incomplete); a warning on stderr says so too.

Client sockets (see fwaudit scan --help) raise no finding and are counted
in summary.clients, not in public or open.

Exit codes:
  0  no finding at or above --fail-on (or no --fail-on given)
  1  error
  2  usage
  3  a finding at or above --fail-on exists (even when the audit is incomplete)
  4  with --fail-on: no such finding, but the audit is incomplete, so it
     cannot pass; --allow-incomplete lets it exit 0`,
		Example: `  sudo fwaudit report > host.json
  sudo fwaudit report -o table
  sudo fwaudit report -o markdown > audit.md
  sudo fwaudit report -o html > audit.html
  sudo fwaudit report --fail-on high || echo "fix the high findings"
  fwaudit report --offline --sockets ss.txt --rules rules.v4 --fail-on high --allow-incomplete
  fwaudit report --offline --sockets ss.txt --rules rules.v4 --rules6 rules.v6 \
      --hostname web1 --time 2026-01-01T00:00:00Z`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkOutput(opts.format, "report format", reportFormats); err != nil {
				return err
			}
			if err := opts.out.check(c); err != nil {
				return err
			}
			if opts.failOn != "" {
				if _, err := report.ParseSeverity(opts.failOn); err != nil {
					return usageErrorf("--fail-on: %v", err)
				}
			}
			if opts.at != "" {
				if _, err := time.Parse(time.RFC3339, opts.at); err != nil {
					return usageErrorf("--time %q: want RFC 3339, like 2026-01-02T15:04:05Z", opts.at)
				}
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return reportRun(c.Context(), opts)
		},
	}
	f := c.Flags()
	bindOutput(c, &opts.format, "json", reportFormats)
	opts.layout.bind(c)
	f.StringVar(&opts.failOn, "fail-on", "", "exit 3 when a finding at or above `SEVERITY` exists (critical, high, medium, low, info), 4 when the audit is incomplete")
	f.BoolVar(&opts.allowIncomplete, "allow-incomplete", false, "with --fail-on, pass an incomplete audit (checks skipped for lack of input, or the rule analysis of a large ruleset cut short) instead of exiting 4")
	f.StringVar(&opts.hostname, "hostname", "", "host `NAME` to record (default: this host's name)")
	f.StringVar(&opts.at, "time", "", "report `TIME` to record, RFC 3339 (default: now)")
	f.StringVar(&opts.version, "tool-version", "", "tool `VERSION` to record (default: this build's version)")
	opts.in.bind(c, false)
	opts.out.bind(c)
	var severities []string
	for _, s := range report.Severities {
		severities = append(severities, s.String())
	}
	completeValues(c, "fail-on", severities)
	return c
}

func reportRun(ctx context.Context, opts *reportOptions) error {
	in, err := opts.in.load(ctx, opts.app, true)
	if err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Second)
	if opts.at != "" {
		now, _ = time.Parse(time.RFC3339, opts.at)
	}
	host := hostOf(opts.app, in, &opts.in, opts.hostname, true)
	ver := Version()
	if opts.version != "" {
		ver = opts.version
	}
	rep := report.Build(report.Inputs{
		Listeners:    in.listeners,
		Firewall:     in.fw,
		Hostname:     host.Hostname,
		HostSource:   host.Source,
		Now:          now,
		Version:      ver,
		IPv6Disabled: !opts.in.offline && (firewall.HostFS{}).IPv6Disabled(),
	})
	if err := opts.write(rep, host.Hostname, now); err != nil {
		return err
	}
	return opts.exit(rep)
}

// write writes the report to stdout, or to a file of --out-dir.
func (opts *reportOptions) write(rep *report.Report, hostname string, now time.Time) error {
	w := opts.app.Stdout
	var file *reportFile
	var err error
	if opts.out.dir != "" {
		if file, err = opts.out.create(hostname, now, opts.format); err != nil {
			return err
		}
		defer file.abort()
		w = file
	}
	switch opts.format {
	case "table":
		err = rep.WriteTable(w, opts.layout.options(opts.app))
	case "markdown":
		err = rep.WriteMarkdown(w)
	case "html":
		err = rep.WriteHTML(w)
	default:
		err = rep.WriteJSON(w)
	}
	if err != nil {
		if file != nil {
			return fmt.Errorf("writing report %s: %v", file.final, unwrapPath(err))
		}
		return fmt.Errorf("writing report: %w", err)
	}
	if file != nil {
		return opts.out.save(opts.app, file, hostname, opts.format, rep)
	}
	return nil
}

// exit says on stderr when the audit is incomplete, and fails as
// --fail-on asks.
func (opts *reportOptions) exit(rep *report.Report) error {
	if rep.Incomplete() {
		skipped := ""
		if n := rep.Summary.ChecksSkipped; n > 0 {
			skipped = fmt.Sprintf(", %s skipped", report.Plural(n, "check"))
		}
		opts.app.warnf("audit incomplete%s: %s", skipped, strings.Join(rep.Summary.Incomplete, "; "))
	}
	if opts.failOn != "" {
		sev, _ := report.ParseSeverity(opts.failOn)
		if rep.Exceeds(sev) {
			return &exitErr{code: exitFindings}
		}
		if rep.Incomplete() && !opts.allowIncomplete {
			return &exitErr{code: exitIncomplete,
				err:  fmt.Errorf("--fail-on %s: the audit is incomplete, so it cannot pass", opts.failOn),
				hint: "--allow-incomplete passes it on the findings alone"}
		}
	}
	return nil
}
