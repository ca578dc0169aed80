package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// WriteTable writes the report for a terminal, fitted to o: a summary,
// the checks that did not pass (those that passed as a count), and every
// finding from the worst down with its rule and remediation. It carries
// the same checks and findings as the JSON and Markdown reports.
//
// Each check and finding is a heading line and an indented body whose
// lines start with the gutter ("│ ", or "| " when the locale is not
// UTF-8), so that no line starts with a space and wrapped text stays
// visibly part of its entry.
func (r *Report) WriteTable(w io.Writer, o TextOptions) error {
	b := bufio.NewWriter(TerminalSafe(w))
	o.paragraph(b, fmt.Sprintf("fwaudit %s report for %s, generated %s", r.Tool.Version, hostname(r), r.GeneratedAt))

	s := r.Summary
	passed, failed := 0, 0
	for _, c := range r.Checks {
		switch c.Status {
		case Pass:
			passed++
		case Fail:
			failed++
		}
	}
	b.WriteString("\nSUMMARY\n")
	o.paragraph(b, fmt.Sprintf("sockets: %d (%d public, %d open, %d clients)", s.Sockets, s.Public, s.Open, s.Clients))
	o.paragraph(b, fmt.Sprintf("checks: %d (%d passed, %d failed, %d skipped)", len(r.Checks), passed, failed, len(r.Checks)-passed-failed))
	var bySev []string
	for _, sev := range Severities {
		bySev = append(bySev, fmt.Sprintf("%d %s", s.Findings[sev.String()], sev))
	}
	o.paragraph(b, fmt.Sprintf("findings: %d (%s)", len(r.Findings), strings.Join(bySev, ", ")))
	if r.Incomplete() {
		fmt.Fprintf(b, "\nAUDIT INCOMPLETE (%d checks skipped)\n", s.ChecksSkipped)
		for _, why := range s.Incomplete {
			o.block(b, "- ", why)
		}
	}

	fmt.Fprintf(b, "\nCHECKS (%d of %d passed)\n", passed, len(r.Checks))
	if passed == len(r.Checks) {
		b.WriteString("every check passed\n")
	}
	for _, c := range r.Checks {
		if c.Status == Pass {
			continue
		}
		o.paragraph(b, fmt.Sprintf("%s %s: %s", c.Status, c.ID, c.Title))
		o.block(b, o.gutter()+" ", c.Detail)
		if len(c.CIS) > 0 {
			o.block(b, o.gutter()+" ", "CIS: "+strings.Join(c.CIS, "; "))
		}
	}

	fmt.Fprintf(b, "\nFINDINGS (%d)\n", len(r.Findings))
	if len(r.Findings) == 0 {
		b.WriteString("no findings\n")
	}
	for i, f := range r.Findings {
		if i > 0 {
			b.WriteByte('\n')
		}
		o.paragraph(b, fmt.Sprintf("%s %s (%s): %s", strings.ToUpper(f.Severity.String()), f.ID, f.where(), f.Title))
		o.block(b, o.gutter()+" ", f.Detail)
		if f.Rule != "" {
			o.block(b, o.gutter()+" ", "rule: "+f.Rule)
		}
		o.block(b, o.gutter()+" ", "fix: "+f.Remediation)
	}
	return b.Flush()
}

// block writes text wrapped to the width less the prefix, every line
// starting with prefix: the first "- " of a list item, or the gutter of
// an entry's body. Continuation lines of a list item take the gutter.
func (o TextOptions) block(b *bufio.Writer, prefix, text string) {
	text = CleanText(text)
	lim := o.limit()
	if lim > 0 {
		lim = max(lim-textWidth(prefix), 1)
	}
	cont := o.gutter() + strings.Repeat(" ", max(textWidth(prefix)-textWidth(o.gutter()), 1))
	for i, l := range Wrap(text, lim) {
		p := prefix
		if i > 0 {
			p = cont
		}
		b.WriteString(strings.TrimRight(p+l, " "))
		b.WriteByte('\n')
	}
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
