package report

import (
	"sort"
	"strings"
	"time"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/scan"
)

// SchemaVersion is the version of the `report --format json` document;
// schema.json describes it.
const SchemaVersion = 1

// Inputs is everything a report is computed from. Build reads nothing else:
// no clock, no hostname, no live state.
type Inputs struct {
	Listeners []scan.Listener
	// ListenersErr says why the sockets could not be listed; the checks that
	// need them are skipped with it.
	ListenersErr string
	// Firewall is what could be read of the rules; nil when the rules were
	// not asked for (--no-firewall), which skips every firewall check.
	Firewall *firewall.Loaded
	Hostname string
	// HostSource says where Hostname came from (Host.Source)
	HostSource string
	// IPv6Disabled is true when the kernel has IPv6 off
	// (/proc/sys/net/ipv6/conf/all/disable_ipv6 is 1): IPv6 checks are
	// skipped and no IPv6 finding is raised.
	IPv6Disabled bool
	Now          time.Time
	Version      string
}

// Tool names the program that wrote the report.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Report is the compliance report: `report --format json` is its JSON form.
type Report struct {
	SchemaVersion int    `json:"schema_version"`
	Tool          Tool   `json:"tool"`
	GeneratedAt   string `json:"generated_at"`
	Host          Host   `json:"host"`
	// Firewall says where each family's rules came from (null when the
	// rules were not read), as in `scan -o json`.
	Firewall *FirewallInfo `json:"firewall"`
	Summary  Summary       `json:"summary"`
	Checks   []Check       `json:"checks"`
	Findings []Finding     `json:"findings"`
	Sockets  []Socket      `json:"sockets"`
}

// Summary counts what the report holds. Findings always has all five levels.
//
// Client sockets (Socket.Client) are counted in Sockets and in Clients,
// never in Public or Open: nothing serves there.
//
// ChecksSkipped counts every skipped check; Incomplete says why the audit
// did not cover everything it should have (a family's rules or the
// sockets could not be read, or the shadowed-rule analysis of a large
// ruleset stopped), one reason per cause, empty when it did.
// Checks skipped because the host has nothing to check (IPv6 disabled)
// leave the audit complete.
type Summary struct {
	Sockets       int            `json:"sockets"`
	Public        int            `json:"public"`
	Open          int            `json:"open"`
	Clients       int            `json:"clients"`
	ChecksFailed  int            `json:"checks_failed"`
	ChecksSkipped int            `json:"checks_skipped"`
	Incomplete    []string       `json:"incomplete"`
	Findings      map[string]int `json:"findings"`
}

// Status is the outcome of a check.
type Status string

const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skip" // could not be decided; Detail says why
)

// Check is one CIS-style control with its outcome.
type Check struct {
	ID     string   `json:"id"`
	Title  string   `json:"title"`
	Status Status   `json:"status"`
	CIS    []string `json:"cis"`
	Detail string   `json:"detail"`

	// lacking: skipped because an input is missing (rules or sockets not
	// read), not because the host has nothing to check (IPv6 disabled)
	lacking bool
}

// Finding is one problem, tied to a socket (proto, port, address, service)
// and/or a rule.
type Finding struct {
	ID       string   `json:"id"`
	Severity Severity `json:"severity"`
	Title    string   `json:"title"`
	Detail   string   `json:"detail"`
	Family   string   `json:"family,omitempty"`
	Proto    string   `json:"proto,omitempty"`
	Port     uint16   `json:"port,omitempty"`
	Address  string   `json:"address,omitempty"`
	Service  string   `json:"service,omitempty"`
	// ServiceBy is "port" when only the port names Service (a guess,
	// shown with "?"), as Socket.ServiceBy.
	ServiceBy   string `json:"service_by,omitempty"`
	Process     string `json:"process,omitempty"`
	Rule        string `json:"rule,omitempty"`
	Source      string `json:"source,omitempty"` // the ruleset the rule is in
	Line        int    `json:"line,omitempty"`   // the rule's line in Source
	Remediation string `json:"remediation"`
}

// Build computes the report. It never fails: what cannot be known is a
// skipped check or an "unknown" verdict with the reason.
func Build(in Inputs) *Report {
	a := newAudit(in)
	// the rule analysis first: what it holds while it works is let go
	// before the answer is made, which behind a large ban set is large
	// (a list of 100,000 prefixes for each listener open to the world)
	a.analyzeAll()
	socks := Sockets(in.Listeners, in.Firewall)
	a.socks = socks
	r := &Report{
		SchemaVersion: SchemaVersion,
		Tool:          Tool{Name: "fwaudit", Version: in.Version},
		GeneratedAt:   in.Now.UTC().Format(time.RFC3339),
		Checks:        a.checks(),
		Findings:      a.findings(),
		Sockets:       socks,
	}
	r.Host.Hostname = in.Hostname
	r.Host.Source = in.HostSource
	if in.Firewall != nil {
		fi := NewFirewallInfo(in.Firewall)
		r.Firewall = &fi
	}
	sortFindings(r.Findings)
	r.Summary = summarize(r)
	for _, why := range a.incomplete {
		if !contains(r.Summary.Incomplete, why) {
			r.Summary.Incomplete = append(r.Summary.Incomplete, why)
		}
	}
	return r
}

// Incomplete reports whether some check was skipped for lack of input:
// `report --fail-on` must not pass such an audit (exit code 4).
func (r *Report) Incomplete() bool { return len(r.Summary.Incomplete) > 0 }

// Exceeds reports whether a finding at or above sev exists (--fail-on).
func (r *Report) Exceeds(sev Severity) bool {
	for _, f := range r.Findings {
		if f.Severity >= sev {
			return true
		}
	}
	return false
}

func summarize(r *Report) Summary {
	s := Summary{Sockets: len(r.Sockets), Findings: map[string]int{}, Incomplete: []string{}}
	for _, sev := range Severities {
		s.Findings[sev.String()] = 0
	}
	for _, so := range r.Sockets {
		if so.Client {
			s.Clients++
			continue
		}
		if so.Exposure == string(scan.ExposurePublic) {
			s.Public++
		}
		if so.Firewall != nil && so.Firewall.Verdict == "open" {
			s.Open++
		}
	}
	for _, c := range r.Checks {
		switch c.Status {
		case Fail:
			s.ChecksFailed++
		case Skip:
			s.ChecksSkipped++
			why := c.Detail
			switch {
			case strings.HasSuffix(c.ID, "-v4"):
				why = "IPv4: " + why
			case strings.HasSuffix(c.ID, "-v6"):
				why = "IPv6: " + why
			default:
				why = c.ID + ": " + why
			}
			if c.lacking && !contains(s.Incomplete, why) {
				s.Incomplete = append(s.Incomplete, why)
			}
		}
	}
	for _, f := range r.Findings {
		s.Findings[f.Severity.String()]++
	}
	return s
}

// sortFindings orders by severity (worst first), id, port, rule line, then
// the remaining fields so that equal keys never depend on input order.
func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		switch {
		case a.Severity != b.Severity:
			return a.Severity > b.Severity
		case a.ID != b.ID:
			return a.ID < b.ID
		case a.Port != b.Port:
			return a.Port < b.Port
		case a.Family != b.Family:
			return a.Family < b.Family
		case a.Source != b.Source:
			return a.Source < b.Source
		case a.Line != b.Line:
			return a.Line < b.Line
		case a.Proto != b.Proto:
			return a.Proto < b.Proto
		case a.Address != b.Address:
			return a.Address < b.Address
		}
		return a.Detail < b.Detail
	})
}
