package report

import (
	"embed"
	"html/template"
	"io"
	"strings"
	"sync"
)

// The HTML renderings are one self-contained file each: the CSS is inline,
// there is no script and nothing is loaded from anywhere (a
// Content-Security-Policy says so to the browser as well), and print CSS
// makes them readable on paper. Everything that comes from a host
// (hostnames, process names, rule text with its comments) goes through
// html/template, which escapes it for where it lands: such text is written
// by whoever controls the host.
//
//go:embed html/*.tmpl
var htmlFiles embed.FS

var htmlFuncs = template.FuncMap{
	"where":       func(f Finding) string { return f.where() },
	"stableWhere": func(f Finding) string { return f.stableWhere() },
	"severities":  func() []Severity { return Severities },
	"count":       func(m map[string]int, s Severity) int { return m[s.String()] },
	"title": func(s string) string {
		if s == "" {
			return s
		}
		return strings.ToUpper(s[:1]) + s[1:]
	},
	"join":         strings.Join,
	"changeLines":  func(c PortChange) []string { return c.lines() },
	"exposures":    SocketExposures,
	"groups":       func(fs []Finding) []FindingGroup { return GroupFindings(reportFindings(fs)) },
	"fleetGroups":  GroupFindings,
	"thousands":    Thousands,
	"serviceLabel": serviceLabel,
	"serviceCell":  ServiceCell,
	"firewallCell": verdictWords,
	"plural":       Plural,
	"verdict":      socketVerdict,
	"host":         hostname,
}

// htmlTemplates parses the templates the first time a page is written:
// parsed at package init, they cost every command about 1 ms, `scan -o
// json` included.
var htmlTemplates = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("").Funcs(htmlFuncs).ParseFS(htmlFiles, "html/*.tmpl"))
})

// socketVerdict is a socket's overall verdict, or "not evaluated" when no
// rules were read.
func socketVerdict(s Socket) string {
	if s.Firewall == nil {
		return "not evaluated"
	}
	return s.Firewall.Verdict
}

// WriteHTML writes the report as one HTML page: summary, every check,
// findings from the worst down with their remediation, and sockets.
// Finding rows carry class "finding" and data-finding (the finding's id),
// check rows data-check, socket rows data-socket.
func (r *Report) WriteHTML(w io.Writer) error {
	return htmlTemplates().ExecuteTemplate(w, "report.tmpl", r)
}

// WriteHTML writes the fleet as one HTML page: totals, the host table,
// the exposed sensitive services, changes since the baseline, every
// finding with its host and remediation, and the unreadable reports.
// Host rows carry class "host-row" and data-host, finding entries class
// "finding" and data-finding, change rows data-change.
func (fl *Fleet) WriteHTML(w io.Writer) error {
	return htmlTemplates().ExecuteTemplate(w, "fleet.tmpl", fl)
}

// verdictWords is a socket's verdict per family, as scan's table says it
// without the sources: "open", or "v4 open; v6 blocked" when the families
// differ. Who can reach it is said beside it.
func verdictWords(sf *SocketFirewall) string {
	if sf == nil {
		return "not evaluated"
	}
	switch {
	case sf.IPv4 != nil && sf.IPv6 != nil && sf.IPv4.Verdict != sf.IPv6.Verdict:
		return "v4 " + sf.IPv4.Verdict + "; v6 " + sf.IPv6.Verdict
	case sf.IPv4 != nil:
		return sf.IPv4.Verdict
	case sf.IPv6 != nil:
		return sf.IPv6.Verdict
	}
	return sf.Verdict
}
