package cmd

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fwaudit/fwaudit/report"
)

// outDirOptions are report's --output-dir and --keep: the scheduled report
// (fwaudit-report.service) writes each report to a file of its own and
// keeps the newest few.
type outDirOptions struct {
	dir  string
	keep int
}

// reportFileMode is a saved report's mode: it lists every listener and rule
// of the host, so other users do not read it.
const reportFileMode = 0o640

func (o *outDirOptions) bind(c *cobra.Command) {
	f := c.Flags()
	f.StringVar(&o.dir, "output-dir", "", "write the report to `DIR`/HOST-TIME.json (.md, .txt, .html; DIR is created, mode 0750) instead of stdout, mode 0640, and print a one-line summary")
	f.IntVar(&o.keep, "keep", 0, "with --output-dir, keep only the newest `N` reports of this host there (0 keeps all)")
	if err := c.MarkFlagDirname("output-dir"); err != nil {
		panic(err)
	}
}

func (o *outDirOptions) check(c *cobra.Command) error {
	if o.keep < 0 {
		return usageErrorf("--keep %d: want 0 (keep all) or more", o.keep)
	}
	if c.Flags().Changed("keep") && o.dir == "" {
		return usageErrorf("--keep needs --output-dir")
	}
	return nil
}

// reportExt is the file name extension of a saved report in format.
func reportExt(format string) string {
	switch format {
	case "markdown":
		return ".md"
	case "table":
		return ".txt"
	case "html":
		return ".html"
	}
	return ".json"
}

// reportFileHost is host made safe as the first part of a file name: a
// host name never holds a slash, but --hostname and a saved ss file may.
func reportFileHost(host string) string {
	s := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, host)
	if s == "" || s[0] == '.' {
		s = "host" + s
	}
	return s
}

// reportFile is a report being written to a temporary file in the output
// directory; commit renames it into place, so a reader never sees half a
// report.
type reportFile struct {
	*os.File
	final string
	done  bool
}

// reportDirMode is the mode of an output directory fwaudit creates: its
// reports are not for other users either.
const reportDirMode = 0o750

func (o *outDirOptions) create(host string, at time.Time, format string) (*reportFile, error) {
	name := reportFileHost(host) + "-" + at.UTC().Format(time.RFC3339) + reportExt(format)
	// the directory is created as mkdir -p would (the timer's
	// /var/lib/fwaudit/reports is made by systemd, a by-hand run makes it)
	if err := os.MkdirAll(o.dir, reportDirMode); err != nil {
		return nil, fmt.Errorf("creating --output-dir %s: %v", o.dir, unwrapPath(err))
	}
	tmp, err := os.CreateTemp(o.dir, ".fwaudit-report-*.tmp")
	if err != nil {
		// the temporary file's name means nothing to the user: name the directory
		return nil, fmt.Errorf("writing a report in --output-dir %s: %v", o.dir, unwrapPath(err))
	}
	// CreateTemp makes 0600; chmod rather than trust the umask
	if err := tmp.Chmod(reportFileMode); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, fmt.Errorf("writing a report in --output-dir %s: %v", o.dir, unwrapPath(err))
	}
	return &reportFile{File: tmp, final: filepath.Join(o.dir, name)}, nil
}

// abort removes the temporary file unless it was committed.
func (f *reportFile) abort() {
	if !f.done {
		f.File.Close()
		os.Remove(f.File.Name())
	}
}

func (f *reportFile) commit() error {
	if err := f.File.Sync(); err != nil {
		return fmt.Errorf("writing report %s: %v", f.final, unwrapPath(err))
	}
	if err := f.File.Close(); err != nil {
		return fmt.Errorf("writing report %s: %v", f.final, unwrapPath(err))
	}
	if err := os.Rename(f.File.Name(), f.final); err != nil {
		var le *os.LinkError
		if errors.As(err, &le) {
			err = le.Err
		}
		return fmt.Errorf("writing report %s: %v", f.final, err)
	}
	f.done = true
	return nil
}

// prune removes this host's older reports in the output directory beyond
// the newest keep (the one just written counts as one of them), and returns
// how many it removed. Only files named HOST-TIME.EXT with an RFC 3339 TIME
// are candidates: nothing else in the directory is touched.
func (o *outDirOptions) prune(host, format, written string) (int, error) {
	if o.keep == 0 {
		return 0, nil
	}
	entries, err := os.ReadDir(o.dir)
	if err != nil {
		return 0, fmt.Errorf("pruning reports in %s: %w", o.dir, err)
	}
	prefix, ext := reportFileHost(host)+"-", reportExt(format)
	type old struct {
		name string
		at   time.Time
	}
	var olds []old
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || name == filepath.Base(written) {
			continue
		}
		stamp, ok := strings.CutPrefix(name, prefix)
		if !ok {
			continue
		}
		if stamp, ok = strings.CutSuffix(stamp, ext); !ok {
			continue
		}
		at, err := time.Parse(time.RFC3339, stamp)
		if err != nil {
			continue // another host's ("web" and "web-1") or not ours
		}
		olds = append(olds, old{name, at})
	}
	slices.SortFunc(olds, func(a, b old) int {
		if c := b.at.Compare(a.at); c != 0 {
			return c
		}
		return strings.Compare(b.name, a.name)
	})
	removed := 0
	for _, f := range olds[min(len(olds), o.keep-1):] {
		if err := os.Remove(filepath.Join(o.dir, f.name)); err != nil {
			return removed, fmt.Errorf("pruning reports: %w", err)
		}
		removed++
	}
	return removed, nil
}

// writeSummary prints the one line a scheduled run leaves in the journal.
func writeSummary(w io.Writer, path string, rep *report.Report, pruned int) error {
	s := rep.Summary
	var sev []string
	total := 0
	for _, v := range report.Severities {
		if n := s.Findings[v.String()]; n > 0 {
			sev = append(sev, fmt.Sprintf("%d %s", n, v))
			total += n
		}
	}
	findings := "no findings"
	if total > 0 {
		findings = fmt.Sprintf("%d %s (%s)", total, plural(total, "finding", "findings"), strings.Join(sev, ", "))
	}
	line := fmt.Sprintf("fwaudit report %s: %d sockets, %d public, %d open; %s; %d %s failed, %d skipped",
		path, s.Sockets, s.Public, s.Open, findings, s.ChecksFailed, plural(s.ChecksFailed, "check", "checks"), s.ChecksSkipped)
	if len(s.Incomplete) > 0 {
		line += "; incomplete"
	}
	if pruned > 0 {
		line += fmt.Sprintf("; removed %d older %s", pruned, plural(pruned, "report", "reports"))
	}
	_, err := fmt.Fprintln(w, line)
	return err
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// saveReport is reportRun's ending with --output-dir: commit the file,
// prune, print the summary.
func (o *outDirOptions) save(app *App, f *reportFile, host, format string, rep *report.Report) error {
	if err := f.commit(); err != nil {
		return err
	}
	pruned, err := o.prune(host, format, f.final)
	if err != nil {
		return err
	}
	return writeSummary(app.Stdout, f.final, rep, pruned)
}
