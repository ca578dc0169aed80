package report

import (
	"fmt"
	"io"

	"github.com/olekukonko/tablewriter"
)

// WriteTable writes the report for a terminal: a summary, the checks that
// did not pass, and the findings from the worst down.
func (r *Report) WriteTable(w io.Writer) error {
	w = TerminalSafe(w)
	if _, err := fmt.Fprintf(w, "fwaudit %s report for %s, generated %s\n\nSUMMARY\n", r.Tool.Version, hostname(r), r.GeneratedAt); err != nil {
		return err
	}
	s := r.Summary
	t := newTable(w)
	t.Header("Sockets", "Public", "Open", "Clients", "Checks failed", "Checks skipped", "Critical", "High", "Medium", "Low", "Info")
	row := []any{s.Sockets, s.Public, s.Open, s.Clients, s.ChecksFailed, s.ChecksSkipped}
	for _, sev := range Severities {
		row = append(row, s.Findings[sev.String()])
	}
	if err := t.Append(row...); err != nil {
		return err
	}
	if err := t.Render(); err != nil {
		return err
	}
	if r.Incomplete() {
		fmt.Fprintf(w, "\nAUDIT INCOMPLETE (%d checks skipped)\n", s.ChecksSkipped)
		for _, why := range s.Incomplete {
			fmt.Fprintf(w, "- %s\n", why)
		}
	}

	var notPassed [][]string
	passed := 0
	for _, c := range r.Checks {
		if c.Status == Pass {
			passed++
			continue
		}
		notPassed = append(notPassed, []string{string(c.Status), c.ID, c.Detail})
	}
	fmt.Fprintf(w, "\nCHECKS (%d of %d passed)\n", passed, len(r.Checks))
	if len(notPassed) == 0 {
		fmt.Fprintln(w, "every check passed")
	} else {
		t = newTable(w)
		t.Header("Status", "Check", "Detail")
		if err := t.Bulk(notPassed); err != nil {
			return err
		}
		if err := t.Render(); err != nil {
			return err
		}
	}

	fmt.Fprintf(w, "\nFINDINGS (%d)\n", len(r.Findings))
	if len(r.Findings) == 0 {
		_, err := fmt.Fprintln(w, "no findings")
		return err
	}
	t = newTable(w)
	t.Header("Severity", "Finding", "Where", "Detail")
	for _, f := range r.Findings {
		if err := t.Append(f.Severity.String(), f.ID, f.where(), f.Detail); err != nil {
			return err
		}
	}
	return t.Render()
}

func newTable(w io.Writer) *tablewriter.Table {
	return tablewriter.NewTable(w, tablewriter.WithRowMaxWidth(72))
}

func hostname(r *Report) string {
	if r.Host.Hostname == "" {
		return "this host"
	}
	return r.Host.Hostname
}

// where is the short location of a finding: the port, or the rule's line.
func (f Finding) where() string {
	switch {
	case f.Line > 0 && f.Source != "":
		return fmt.Sprintf("%s:%d", f.Source, f.Line)
	case f.Port > 0 && f.Address != "":
		return fmt.Sprintf("%s/%d %s", f.Proto, f.Port, f.Address)
	case f.Port > 0:
		return fmt.Sprintf("%s/%d", f.Proto, f.Port)
	case f.Family != "":
		return f.Family
	}
	return "host"
}
