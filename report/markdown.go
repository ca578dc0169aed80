package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// WriteMarkdown writes the report as GitHub-flavoured Markdown, for tickets
// and wikis: summary, checks, findings by severity with remediation, sockets.
func (r *Report) WriteMarkdown(w io.Writer) error {
	w = TerminalSafe(w)
	b := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }

	p("# Firewall audit: %s\n\n", mdText(hostname(r)))
	p("Generated %s by fwaudit %s.\n\n", r.GeneratedAt, mdText(r.Tool.Version))

	s := r.Summary
	p("## Summary\n\n")
	p("| Sockets | Public | Open | Clients | Checks failed | Checks skipped | Critical | High | Medium | Low | Info |\n")
	p("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	p("| %d | %d | %d | %d | %d | %d |", s.Sockets, s.Public, s.Open, s.Clients, s.ChecksFailed, s.ChecksSkipped)
	for _, sev := range Severities {
		p(" %d |", s.Findings[sev.String()])
	}
	p("\n")
	if r.Incomplete() {
		p("\n**Audit incomplete** (%d checks skipped):\n\n", s.ChecksSkipped)
		for _, why := range s.Incomplete {
			p("- %s\n", mdText(why))
		}
	}
	p("\n## Checks\n\n")
	p("| Status | Check | CIS | Detail |\n|---|---|---|---|\n")
	for _, c := range r.Checks {
		p("| %s | `%s` | %s | %s |\n", statusMark(c.Status), c.ID, mdCell(strings.Join(c.CIS, "; ")), mdCell(c.Detail))
	}

	p("\n## Findings\n\n")
	if len(r.Findings) == 0 {
		p("No findings.\n")
	}
	for _, sev := range Severities {
		var fs []Finding
		for _, f := range r.Findings {
			if f.Severity == sev {
				fs = append(fs, f)
			}
		}
		if len(fs) == 0 {
			continue
		}
		p("### %s (%d)\n\n", strings.ToUpper(sev.String()[:1])+sev.String()[1:], len(fs))
		writeMarkdownFindings(p, GroupFindings(reportFindings(fs)))
		p("\n")
	}

	p("## Sockets\n\n")
	if len(r.Sockets) == 0 {
		p("No sockets.\n")
	} else {
		p("| Proto | Address | Port | Process | Service | Exposure | Who can reach it |\n|---|---|---:|---|---|---|---|\n")
		counted := false
		for _, so := range r.Sockets {
			who := SocketWho(so, listMost)
			for _, e := range SocketExposures(so) {
				counted = counted || e.Counted(listMost)
			}
			p("| %s | %s | %d | %s | %s | %s | %s |\n", so.Proto, mdCell(so.Address), so.Port,
				mdCell(ProcessLabel(so)), mdCell(ServiceCell(so)), so.Exposure, mdCell(strings.Join(who, "; ")))
		}
		if counted {
			p("\nLists of more than %d prefixes are cut and counted; the JSON report lists them.\n", listMost)
		}
	}
	return b.Flush()
}

// writeMarkdownFindings writes findings as list items; a group cut short
// is one item, "stale-rule ×1,005 in INPUT, first 5 shown", with the
// findings shown nested under it and the shared remediation once.
func writeMarkdownFindings(p func(string, ...any), groups []FindingGroup) {
	for _, g := range groups {
		if !g.Cut() {
			for _, f := range g.Findings {
				if f.Host != "" { // a fleet's: severity first, then the host
					p("- **%s** %s %s on %s (%s): %s\n", f.Severity, mdText(f.Title), mdCode(f.ID), mdText(f.Host), mdText(f.where()), mdText(f.Detail))
				} else {
					p("- **%s** %s (%s): %s\n", mdText(f.Title), mdCode(f.ID), mdText(f.where()), mdText(f.Detail))
				}
				if f.Rule != "" {
					p("  - Rule: %s\n", mdCode(f.Rule))
				}
				p("  - Remediation: %s\n", mdText(f.Remediation))
			}
			continue
		}
		more := mdText(fmt.Sprintf("%s more in the JSON report", Thousands(g.Hidden())))
		if g.Host != "" {
			p("- **%s** %s %s on %s: %s\n", g.Severity, mdText(g.Title()), mdText(g.Heading()), mdText(g.Host), more)
		} else {
			p("- **%s** %s: %s\n", mdText(g.Title()), mdText(g.Heading()), more)
		}
		fix := g.Remediation()
		for _, f := range g.Shown() {
			p("  - %s: %s\n", mdText(f.where()), mdText(f.Detail))
			if fix == "" {
				p("    - Remediation: %s\n", mdText(f.Remediation))
			}
		}
		if fix != "" {
			p("  - Remediation: %s\n", mdText(fix))
		}
	}
}

func statusMark(s Status) string {
	switch s {
	case Pass:
		return "pass"
	case Fail:
		return "**FAIL**"
	}
	return "skip"
}

var mdEscaper = strings.NewReplacer(`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "~", `\~`,
	"&", "&amp;", "<", "&lt;", ">", "&gt;", "[", `\[`, "]", `\]`, "#", `\#`)

// mdText escapes Markdown syntax in free text.
func mdText(s string) string { return mdEscaper.Replace(s) }

// mdCode writes s as a code span that shows it byte for byte: backslashes
// and other Markdown syntax mean nothing inside one, so only back-quotes
// need care. The span is fenced by one more back-quote than the longest
// run of them in s, and padded with a space when s starts or ends with a
// back-quote (CommonMark 0.31, "Code spans"; the padding is stripped when
// shown). A line break would end the list item, so it becomes a space.
func mdCode(s string) string {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r", " "), "\n", " ")
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") ||
		(len(s) > 1 && strings.HasPrefix(s, " ") && strings.HasSuffix(s, " ") && strings.Trim(s, " ") != "") {
		s = " " + s + " "
	}
	return fence + s + fence
}

// mdCell escapes text for a table cell, where "|" and newlines also matter.
func mdCell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(mdText(s), "|", `\|`), "\n", " ")
}
