package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// WriteMarkdown writes the fleet as GitHub-flavoured Markdown: the host
// table, the exposed sensitive services, the changes since the baseline,
// every finding with its remediation, and the unreadable reports.
func (fl *Fleet) WriteMarkdown(w io.Writer) error {
	b := bufio.NewWriter(TerminalSafe(w))
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }

	p("# Firewall audit of %s\n\n", Plural(fl.Totals.Hosts, "host"))
	p("| Hosts | Critical | High | Medium | Low | Info | Exposed | Unreadable |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	p("| %d |", fl.Totals.Hosts)
	for _, sev := range Severities {
		p(" %d |", fl.Totals.Findings[sev.String()])
	}
	p(" %d | %d |\n", len(fl.Exposed), len(fl.Errors))

	p("\n## Hosts\n\n")
	if len(fl.Hosts) == 0 {
		p("No host.\n")
	} else {
		p("| Host | Worst | Critical | High | Medium | Low | Info | Failed checks | Generated |\n")
		p("|---|---|---:|---:|---:|---:|---:|---|---|\n")
		for _, h := range fl.Hosts {
			p("| %s | %s |", mdCell(h.Host), h.Worst)
			for _, sev := range Severities {
				p(" %d |", h.Summary.Findings[sev.String()])
			}
			checks := make([]string, len(h.ChecksFailed))
			for i, c := range h.ChecksFailed {
				checks[i] = mdCodeCell(c)
			}
			if len(checks) == 0 {
				checks = []string{"none"}
			}
			if len(h.Summary.Incomplete) > 0 {
				checks = append(checks, "**audit incomplete**")
			}
			p(" %s | %s |\n", strings.Join(checks, " "), mdCell(h.GeneratedAt))
		}
	}

	if fl.Older > 0 && len(fl.Hosts) == fl.Totals.Hosts {
		p("\nThe newest report of each host; %s not shown (`fwaudit fleet --all` lists them).\n", Plural(fl.Older, "older report"))
	}
	p("\n## Exposed sensitive services\n\n")
	if len(fl.Exposed) == 0 {
		p("No sensitive service is open to the world.\n")
	} else {
		p("| Host | Severity | Port | Service | Address |\n|---|---|---|---|---|\n")
		for _, e := range fl.Exposed {
			p("| %s | %s | %s/%d | %s | %s |\n", mdCell(e.Host), e.Severity, e.Proto, e.Port, mdCell(serviceLabel(e.Service, e.ServiceBy)), mdCell(e.Address))
		}
	}

	p("\n## Who can reach what\n\n")
	if len(fl.reach) == 0 {
		p("No socket can be reached from outside.\n")
	} else {
		p("| Host | Port | Address | Service | Who can reach it |\n|---|---|---|---|---|\n")
		for _, so := range fl.reach {
			p("| %s | %s/%d | %s | %s | %s |\n", mdCell(so.Host), so.Proto, so.Port, mdCell(so.Address), mdCell(ServiceCell(so.Socket)),
				mdCell(strings.Join(SocketWho(so.Socket, listMost), "; ")))
		}
	}

	if d := fl.Diff; d != nil {
		p("\n## Changes since the baseline\n\n")
		if !d.Changed() {
			p("No change.\n")
		}
		if len(d.New)+len(d.Resolved)+len(d.HostsAdded)+len(d.HostsRemoved) > 0 {
			p("| Change | Host | Severity | Finding | Where |\n|---|---|---|---|---|\n")
			for _, h := range d.HostsAdded {
				p("| host added | %s | | | |\n", mdCell(h))
			}
			for _, h := range d.HostsRemoved {
				p("| host removed | %s | | | |\n", mdCell(h))
			}
			for _, f := range d.New {
				p("| new | %s | %s | %s | %s |\n", mdCell(f.Host), f.Severity, mdCodeCell(f.ID), mdCell(f.stableWhere()))
			}
			for _, f := range d.Resolved {
				p("| resolved | %s | %s | %s | %s |\n", mdCell(f.Host), f.Severity, mdCodeCell(f.ID), mdCell(f.stableWhere()))
			}
		}
		if len(d.Exposure) > 0 {
			p("\n### Who can reach what\n\n| Change | Host | Port | Family | Address | Old | New | Sources |\n|---|---|---|---|---|---|---|---|\n")
			for _, c := range d.Exposure {
				p("| %s | %s | %s/%d | %s | %s | %s | %s | %s |\n", c.Change, mdCell(c.Host), c.Proto, c.Port, c.Family, mdCell(c.Address),
					c.Old, c.New, mdCell(strings.Join(c.lines(), "; ")))
			}
		}
	}

	p("\n## Findings\n\n")
	if len(fl.Findings) == 0 {
		p("No findings.\n")
	}
	writeMarkdownFindings(p, GroupFindings(fl.Findings))

	if len(fl.Errors) > 0 {
		p("\n## Unreadable reports\n\n")
		for _, e := range fl.Errors {
			base := ""
			if e.Baseline {
				base = " (baseline)"
			}
			p("- %s%s: %s\n", mdText(e.File), base, mdText(e.Error))
		}
	}
	return b.Flush()
}

// mdCodeCell is a code span inside a table cell, where "|" ends the cell
// unless escaped.
func mdCodeCell(s string) string { return strings.ReplaceAll(mdCode(s), "|", `\|`) }
