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
	"join":    strings.Join,
	"plural":  Plural,
	"verdict": socketVerdict,
	"host":    hostname,
	"fleetFinding": func(host string, f Finding) FleetFinding {
		return FleetFinding{Host: host, Finding: f}
	},
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
