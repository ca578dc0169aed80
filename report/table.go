package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// WriteTable writes the report for a terminal, fitted to o: a summary,
// the checks that did not pass (those that passed as a count), the
// findings from the worst down with their rule and remediation, and every
// socket with who can reach it in each family it receives. It carries the
// same checks, findings and sockets as the JSON and Markdown reports.
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
	first := true
	for _, g := range GroupFindings(reportFindings(r.Findings)) {
		if !g.Cut() {
			for _, f := range g.Findings {
				if !first {
					b.WriteByte('\n')
				}
				first = false
				o.paragraph(b, fmt.Sprintf("%s %s (%s): %s", strings.ToUpper(f.Severity.String()), f.ID, f.where(), f.Title))
				o.block(b, o.gutter()+" ", f.Detail)
				if f.Rule != "" {
					o.block(b, o.gutter()+" ", "rule: "+f.Rule)
				}
				o.block(b, o.gutter()+" ", "fix: "+f.Remediation)
			}
			continue
		}
		// many of one kind: a line each for the first, the fix once
		if !first {
			b.WriteByte('\n')
		}
		first = false
		o.paragraph(b, fmt.Sprintf("%s %s: %s", strings.ToUpper(g.Severity.String()), g.Heading(), g.Title()))
		fix := g.Remediation()
		for _, f := range g.Shown() {
			o.block(b, o.gutter()+" - ", f.where()+": "+f.Detail)
			if fix == "" {
				o.block(b, o.gutter()+"   ", "fix: "+f.Remediation)
			}
		}
		if fix != "" {
			o.block(b, o.gutter()+" ", "fix: "+fix)
		}
		o.block(b, o.gutter()+" ", fmt.Sprintf("%s more; -o json lists every finding", Thousands(g.Hidden())))
	}

	fmt.Fprintf(b, "\nSOCKETS (%d)\n", len(r.Sockets))
	if len(r.Sockets) == 0 {
		b.WriteString("no sockets\n")
	}
	max := listMost
	if o.Wide {
		max = 0
	}
	counted := false
	for _, so := range r.Sockets {
		lines := SocketWho(so, max)
		for _, e := range SocketExposures(so) {
			counted = counted || e.Counted(max)
		}
		if len(lines) == 1 {
			// one line for the socket when its families agree
			o.paragraph(b, SocketHeading(so)+"; "+lines[0])
			continue
		}
		o.paragraph(b, SocketHeading(so))
		for _, l := range lines {
			o.block(b, o.gutter()+" ", l)
		}
	}
	if counted {
		o.paragraph(b, fmt.Sprintf("lists of more than %d are cut and counted; -o json or --wide lists them", listMost))
	}
	return b.Flush()
}

// SocketWho is who can reach a socket, a line per family ("ipv4
// restricted: 10.20.0.0/16"); families that agree share one ("ipv4+ipv6
// blocked: no one").
func SocketWho(s Socket, max int) []string {
	es := SocketExposures(s)
	if len(es) == 2 && es[0].Verdict == es[1].Verdict && es[0].Who(max) == es[1].Who(max) {
		return []string{es[0].Family + "+" + es[1].Family + " " + es[0].Verdict + ": " + es[0].Who(max)}
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Line(max))
	}
	return out
}

// listMost is how many prefixes a human format lists for a socket before
// it counts the rest.
const listMost = 5

// SocketHeading names a socket for the human formats: "tcp 0.0.0.0:5432
// postgresql postgres(812), public", with "dual-stack" when an IPv6
// socket also receives IPv4.
func SocketHeading(s Socket) string {
	addr := s.Address
	if strings.Contains(addr, ":") {
		addr = "[" + addr + "]"
	}
	if s.Device != "" {
		addr += "%" + s.Device
	}
	head := fmt.Sprintf("%s %s:%d", s.Proto, addr, s.Port)
	if svc := ServiceCell(s); svc != "-" {
		head += " " + svc
	}
	head += " " + processCell(s) + ", " + s.Exposure
	if s.DualStack {
		head += ", dual-stack"
	}
	return head
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
