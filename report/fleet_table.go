package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// fleetWidth is the width the fleet table fits in: a plain 80-column
// terminal, or a mail.
const fleetWidth = 80

// WriteTable writes the fleet for a terminal in 80 columns: one row per
// host (worst severity, findings per severity, failed checks), the
// sensitive services anyone can reach, what changed since the baseline and
// the reports that could not be read.
func (fl *Fleet) WriteTable(w io.Writer) error {
	b := bufio.NewWriter(TerminalSafe(w))
	fmt.Fprintf(b, "fwaudit fleet: %s, %s, %d exposed, %s\n",
		Plural(fl.Totals.Hosts, "host"), Plural(len(fl.Findings), "finding"), len(fl.Exposed), Plural(len(fl.Errors), "unreadable report"))

	fmt.Fprintf(b, "\nHOSTS (%d)\n", fl.Totals.Hosts)
	if len(fl.Hosts) == 0 {
		fmt.Fprintln(b, "no host")
	} else {
		rows := [][]string{{"HOST", "WORST", "CRIT", "HIGH", "MED", "LOW", "INFO", "FAILED CHECKS"}}
		history := len(fl.Hosts) > fl.Totals.Hosts // fleet --all
		for _, h := range fl.Hosts {
			name := h.Host
			if history {
				name += " " + h.GeneratedAt
			}
			row := []string{name, h.Worst}
			for _, sev := range Severities {
				row = append(row, fmt.Sprint(h.Summary.Findings[sev.String()]))
			}
			checks := strings.Join(h.ChecksFailed, " ")
			if checks == "" {
				checks = "-"
			}
			if len(h.Summary.Incomplete) > 0 {
				checks += " (audit incomplete)"
			}
			rows = append(rows, append(row, checks))
		}
		writeColumns(b, rows, []bool{false, false, true, true, true, true, true, false})
	}
	if fl.Older > 0 && len(fl.Hosts) == fl.Totals.Hosts {
		fmt.Fprintf(b, "(the newest report of each host; %s not shown: --all lists them)\n", Plural(fl.Older, "older report"))
	}

	fmt.Fprintf(b, "\nEXPOSED SENSITIVE SERVICES (%d)\n", len(fl.Exposed))
	if len(fl.Exposed) == 0 {
		fmt.Fprintln(b, "none: no sensitive service is open to the world")
	} else {
		rows := [][]string{{"HOST", "SEVERITY", "PORT", "SERVICE", "ADDRESS"}}
		for _, e := range fl.Exposed {
			rows = append(rows, []string{e.Host, e.Severity.String(), fmt.Sprintf("%s/%d", e.Proto, e.Port), orDash(serviceLabel(e.Service, e.ServiceBy)), e.Address})
		}
		writeColumns(b, rows, nil)
	}

	if d := fl.Diff; d != nil {
		fmt.Fprintf(b, "\nCHANGES SINCE THE BASELINE (%d new, %d resolved, %s added, %d removed)\n",
			len(d.New), len(d.Resolved), Plural(len(d.HostsAdded), "host"), len(d.HostsRemoved))
		if len(d.Exposure) > 0 {
			fmt.Fprintf(b, "%s of who can reach what\n", Plural(len(d.Exposure), "change"))
		}
		if !d.Changed() {
			fmt.Fprintln(b, "no change")
		}
		if len(d.New)+len(d.Resolved)+len(d.HostsAdded)+len(d.HostsRemoved) > 0 {
			rows := [][]string{{"CHANGE", "HOST", "SEVERITY", "FINDING", "WHERE"}}
			for _, h := range d.HostsAdded {
				rows = append(rows, []string{"host added", h, "", "", ""})
			}
			for _, h := range d.HostsRemoved {
				rows = append(rows, []string{"host removed", h, "", "", ""})
			}
			for _, f := range d.New {
				rows = append(rows, []string{"new", f.Host, f.Severity.String(), f.ID, f.stableWhere()})
			}
			for _, f := range d.Resolved {
				rows = append(rows, []string{"resolved", f.Host, f.Severity.String(), f.ID, f.stableWhere()})
			}
			writeColumns(b, rows, nil)
		}
		if len(d.Exposure) > 0 {
			fmt.Fprintln(b)
			for _, c := range d.Exposure {
				c.write(b, c.Host)
			}
		}
	}

	if len(fl.Errors) > 0 {
		fmt.Fprintf(b, "\nUNREADABLE REPORTS (%d)\n", len(fl.Errors))
		for _, e := range fl.Errors {
			what := e.File
			if e.Baseline {
				what += " (baseline)"
			}
			writeWrapped(b, what+": "+e.Error, "  ")
		}
	}
	return b.Flush()
}

// stableWhere names a finding's place without a line number, which may
// differ between the two runs being compared: the port, else the rule.
func (f Finding) stableWhere() string {
	switch {
	case f.Port > 0 && f.Address != "":
		return fmt.Sprintf("%s/%d %s", f.Proto, f.Port, f.Address)
	case f.Port > 0:
		return fmt.Sprintf("%s/%d", f.Proto, f.Port)
	case f.Rule != "":
		return RuleIdentity(f.Rule)
	case f.Family != "":
		return f.Family
	}
	return "host"
}

// Plural is "1 host", "2 hosts".
func Plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// writeColumns writes rows (the first is the header) as space-separated
// columns. Every column but the last is as wide as its widest cell, up to
// a third of the width (a longer cell goes on a line of its own, and the
// row goes on below it); the last column takes what is left of the 80
// columns and wraps at spaces, or anywhere in a word longer than a line.
// right marks the columns aligned to the right.
func writeColumns(b *bufio.Writer, rows [][]string, right []bool) {
	n := len(rows[0])
	width := make([]int, n-1)
	for _, r := range rows {
		for i := 0; i < n-1; i++ {
			if l := utf8.RuneCountInString(r[i]); l > width[i] && l <= fleetWidth/3 {
				width[i] = l
			}
		}
	}
	indent := 0
	for _, wd := range width {
		indent += wd + 2
	}
	last := fleetWidth - indent
	if last < 12 {
		last = 12
	}
	for _, r := range rows {
		var line strings.Builder
		for i := 0; i < n-1; i++ {
			cell := r[i]
			l := utf8.RuneCountInString(cell)
			if l > width[i] {
				// too wide: alone on its line, the row continues below
				prefix := line.String()
				for j, l := range wrap(cell, fleetWidth-utf8.RuneCountInString(prefix)) {
					if j > 0 {
						prefix = strings.Repeat(" ", utf8.RuneCountInString(prefix))
					}
					fmt.Fprintf(b, "%s%s\n", prefix, l)
				}
				line.Reset()
				if rowEmptyAfter(r, i) {
					break
				}
				line.WriteString(strings.Repeat(" ", colStart(width, i)+width[i]+2))
				continue
			}
			pad := strings.Repeat(" ", width[i]-l)
			if i < len(right) && right[i] {
				line.WriteString(pad + cell)
			} else {
				line.WriteString(cell + pad)
			}
			line.WriteString("  ")
		}
		if line.Len() == 0 {
			continue // the rest of the row was empty
		}
		lines := wrap(r[n-1], last)
		for j, l := range lines {
			if j == 0 {
				fmt.Fprintf(b, "%s\n", strings.TrimRight(line.String()+l, " "))
				continue
			}
			fmt.Fprintf(b, "%s%s\n", strings.Repeat(" ", indent), l)
		}
	}
}

// rowEmptyAfter reports whether every cell of r after the i-th is empty.
func rowEmptyAfter(r []string, i int) bool {
	for _, c := range r[i+1:] {
		if c != "" {
			return false
		}
	}
	return true
}

func colStart(width []int, i int) int {
	s := 0
	for _, w := range width[:i] {
		s += w + 2
	}
	return s
}

// writeWrapped writes s wrapped at the width, continuation lines indented.
func writeWrapped(b *bufio.Writer, s, indent string) {
	for i, l := range wrap(s, fleetWidth-len(indent)) {
		if i > 0 {
			b.WriteString(indent)
		}
		b.WriteString(l + "\n")
	}
}

// wrap breaks s into lines of at most width runes, at spaces where it can.
func wrap(s string, width int) []string {
	var lines []string
	var cur []rune
	for _, word := range strings.Fields(s) {
		wr := []rune(word)
		if len(cur) > 0 && len(cur)+1+len(wr) <= width {
			cur = append(append(cur, ' '), wr...)
			continue
		}
		if len(cur) > 0 {
			lines = append(lines, string(cur))
			cur = nil
		}
		for len(wr) > width {
			lines = append(lines, string(wr[:width]))
			wr = wr[width:]
		}
		cur = wr
	}
	if len(cur) > 0 || len(lines) == 0 {
		lines = append(lines, string(cur))
	}
	return lines
}
