package report

import (
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// FleetSchemaVersion is the version of the `fleet -o json` document;
// fleet.schema.json describes it.
const FleetSchemaVersion = 1

// Fleet is many hosts' reports in one view: `fleet -o json` is its JSON
// form.
type Fleet struct {
	SchemaVersion int            `json:"schema_version"`
	Hosts         []FleetHost    `json:"hosts"`
	Exposed       []Exposed      `json:"exposed"`
	Findings      []FleetFinding `json:"findings"`
	Totals        FleetTotals    `json:"totals"`
	Errors        []FleetError   `json:"errors"`
	// Older counts the reports left out because a newer report of the
	// same host was read (a directory that report --output-dir --keep
	// fills); fleet --all lists them in Hosts.
	Older int `json:"older"`
	// Diff is set when a baseline was given.
	Diff *FleetDiff `json:"diff,omitempty"`

	// reach: the sockets someone can reach, for the human formats (the
	// JSON reports hold them)
	reach []FleetSocket
}

// FleetSocket is a listening socket of a host that some source can, or
// perhaps can, reach.
type FleetSocket struct {
	Host string
	Socket
}

// Reachable is every server socket of the hosts' newest reports that some
// source can reach or perhaps reach, by host then port.
func (fl *Fleet) Reachable() []FleetSocket { return fl.reach }

// reachable reports whether someone can, or perhaps can, reach s.
func reachable(s Socket) bool {
	if s.Client {
		return false
	}
	for _, e := range SocketExposures(s) {
		if !e.Sure.isEmpty() || !e.Doubt.isEmpty() {
			return true
		}
	}
	return false
}

// FleetHost is one host's line: its report's summary, the worst severity
// among its findings ("none" without findings) and its failed checks.
type FleetHost struct {
	Host         string   `json:"host"`
	File         string   `json:"file"`
	GeneratedAt  string   `json:"generated_at"`
	Summary      Summary  `json:"summary"`
	Worst        string   `json:"worst"`
	ChecksFailed []string `json:"checks_failed"`
}

// Exposed is a sensitive service (database, cache, admin interface) that
// anyone can reach: its exposed-sensitive-service finding on a socket
// whose verdict is open.
type Exposed struct {
	Host    string `json:"host"`
	Proto   string `json:"proto"`
	Port    uint16 `json:"port"`
	Address string `json:"address"`
	Service string `json:"service"`
	// ServiceBy is "port" when only the port names Service (a guess).
	ServiceBy string   `json:"service_by,omitempty"`
	Severity  Severity `json:"severity"`
}

// place: an exposure names no family.
func (e Exposed) place() place { return place{e.Port, e.Proto, "", e.Address} }

// FleetFinding is a finding with the host it was raised on.
type FleetFinding struct {
	Host string `json:"host"`
	Finding
}

// FleetTotals sums the fleet: hosts read, findings by severity (all five
// levels), sensitive services exposed, reports that could not be read.
type FleetTotals struct {
	Hosts    int            `json:"hosts"`
	Findings map[string]int `json:"findings"`
	Exposed  int            `json:"exposed"`
	Errors   int            `json:"errors"`
}

// FleetError is a report that could not be used, with why. Baseline is
// true for a file of the baseline.
type FleetError struct {
	File     string `json:"file"`
	Error    string `json:"error"`
	Baseline bool   `json:"baseline,omitempty"`
}

// FleetDiff is what changed since the baseline. New and Resolved hold the
// findings of hosts present in both runs, Exposure the changes of who can
// reach their sockets (as diff: per family, widened or narrowed, with the
// sources); a host only in one run is in HostsAdded or HostsRemoved
// instead. A host whose report cannot be read now is neither removed nor
// changed: it is in Errors.
type FleetDiff struct {
	New          []FleetFinding    `json:"new"`
	Resolved     []FleetFinding    `json:"resolved"`
	Exposure     []FleetPortChange `json:"exposure"`
	HostsAdded   []string          `json:"hosts_added"`
	HostsRemoved []string          `json:"hosts_removed"`
}

// FleetPortChange is a change of who can reach a socket, with its host.
type FleetPortChange struct {
	Host string `json:"host"`
	PortChange
}

// Changed reports whether anything changed since the baseline.
func (d *FleetDiff) Changed() bool {
	return len(d.New)+len(d.Resolved)+len(d.Exposure)+len(d.HostsAdded)+len(d.HostsRemoved) > 0
}

// FleetInput is one report file as read: Report, or Err when it could not
// be read or is not a valid report.
type FleetInput struct {
	File   string
	Report *Report
	Err    error
}

// NewFleet gathers reports into one view: the newest report of each host.
// A nil baseline gives no Diff. Every input with an Err is listed in
// Errors; so is a second report of a host with the same time (two machines
// sharing a hostname cannot be told apart across runs).
func NewFleet(current, baseline []FleetInput) *Fleet {
	return NewFleetOf(current, baseline, false)
}

// NewFleetOf is NewFleet; with all, Hosts has a row for every report of
// each host (its history, oldest first), while findings, exposed services
// and the baseline comparison still use the newest of each.
func NewFleetOf(current, baseline []FleetInput, all bool) *Fleet {
	fl := &Fleet{
		SchemaVersion: FleetSchemaVersion,
		Hosts:         []FleetHost{},
		Exposed:       []Exposed{},
		Findings:      []FleetFinding{},
		Errors:        []FleetError{},
		Totals:        FleetTotals{Findings: map[string]int{}},
	}
	for _, sev := range Severities {
		fl.Totals.Findings[sev.String()] = 0
	}
	cur, older, errs := gather(current, false)
	fl.Errors = append(fl.Errors, errs...)
	fl.Older = len(older)
	for _, e := range cur {
		if all {
			for _, o := range older {
				if o.host == e.host {
					fl.Hosts = append(fl.Hosts, hostRow(o))
				}
			}
		}
		fl.add(e)
	}
	if baseline != nil {
		base, _, errs := gather(baseline, true)
		fl.Errors = append(fl.Errors, errs...)
		fl.Diff = diffFleet(cur, base, fl.Errors)
	}
	fl.Totals.Hosts = len(cur)
	fl.Totals.Exposed = len(fl.Exposed)
	fl.Totals.Errors = len(fl.Errors)
	return fl
}

// hostReport is one usable report under its host name.
type hostReport struct {
	host, file string
	rep        *Report
	at         time.Time
}

// gather names each report's host (its hostname, else the file's name
// without .json), sorted by host, and lists what cannot be used. Of the
// reports of one host (a directory that report --output-dir fills), the
// newest is the host's; the older ones are returned apart, oldest first.
// Two reports of one host with the same time are one too many: two
// machines share the name, or a copy was made.
func gather(in []FleetInput, baseline bool) (newest, older []hostReport, errs []FleetError) {
	var all []hostReport
	for _, i := range in {
		if i.Err != nil || i.Report == nil {
			msg := "no report"
			if i.Err != nil {
				msg = i.Err.Error()
			}
			errs = append(errs, FleetError{File: i.File, Error: msg, Baseline: baseline})
			continue
		}
		host := i.Report.Host.Hostname
		if host == "" {
			host = fileHost(i.File)
		}
		at, _ := time.Parse(time.RFC3339, i.Report.GeneratedAt) // ParseReport checked it
		all = append(all, hostReport{host: host, file: i.File, rep: i.Report, at: at})
	}
	// by host, then time; the order read breaks ties, so the first of two
	// reports with one time is kept
	sort.SliceStable(all, func(a, b int) bool {
		if all[a].host != all[b].host {
			return all[a].host < all[b].host
		}
		return all[a].at.Before(all[b].at)
	})
	var uniq []hostReport
	for _, h := range all {
		if n := len(uniq); n > 0 && uniq[n-1].host == h.host && uniq[n-1].at.Equal(h.at) {
			errs = append(errs, FleetError{File: h.file, Baseline: baseline,
				Error: fmt.Sprintf("host %q is already reported by %s at the same time, %s (two machines with one name? give each its own: fwaudit report --hostname)",
					h.host, uniq[n-1].file, h.rep.GeneratedAt)})
			continue
		}
		uniq = append(uniq, h)
	}
	for i, h := range uniq {
		if i+1 < len(uniq) && uniq[i+1].host == h.host {
			older = append(older, h)
		} else {
			newest = append(newest, h)
		}
	}
	return newest, older, errs
}

// fileHost is the host a report without a hostname is named after: its
// file name without the extension (DEST/web1.json is web1).
func fileHost(file string) string {
	return strings.TrimSuffix(filepath.Base(file), ".json")
}

func (fl *Fleet) add(h hostReport) {
	r := h.rep
	fl.Hosts = append(fl.Hosts, hostRow(h))
	for _, f := range r.Findings {
		fl.Findings = append(fl.Findings, FleetFinding{Host: h.host, Finding: f})
		fl.Totals.Findings[f.Severity.String()]++
	}
	fl.Exposed = append(fl.Exposed, exposed(h.host, r)...)
	for _, so := range r.Sockets {
		if reachable(so) {
			fl.reach = append(fl.reach, FleetSocket{Host: h.host, Socket: so})
		}
	}
}

// hostRow is a report's line in the host table.
func hostRow(h hostReport) FleetHost {
	r := h.rep
	fh := FleetHost{Host: h.host, File: h.file, GeneratedAt: r.GeneratedAt, Summary: r.Summary,
		Worst: "none", ChecksFailed: []string{}}
	if fh.Summary.Incomplete == nil {
		fh.Summary.Incomplete = []string{}
	}
	for _, c := range r.Checks {
		if c.Status == Fail {
			fh.ChecksFailed = append(fh.ChecksFailed, c.ID)
		}
	}
	worst := Severity(-1)
	for _, f := range r.Findings {
		if f.Severity > worst {
			worst = f.Severity
		}
	}
	if worst >= Info {
		fh.Worst = worst.String()
	}
	return fh
}

// exposed lists a report's sensitive services open to anyone: the
// exposed-sensitive-service findings whose socket's verdict is open (not
// the conditional ones, which are reachable only depending on runtime
// state).
func exposed(host string, r *Report) []Exposed {
	var out []Exposed
	for _, f := range r.Findings {
		if f.ID != "exposed-sensitive-service" {
			continue
		}
		for _, s := range r.Sockets {
			if s.Proto == f.Proto && s.Port == f.Port && s.Address == f.Address && s.Family == f.Family &&
				s.Firewall != nil && s.Firewall.Verdict == "open" {
				out = append(out, Exposed{Host: host, Proto: f.Proto, Port: f.Port, Address: f.Address,
					Service: f.Service, ServiceBy: f.ServiceBy, Severity: f.Severity})
				break
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].place().compare(out[j].place()) < 0 })
	return out
}

// Exceeds reports whether some host has a finding at or above sev
// (--fail-on).
func (fl *Fleet) Exceeds(sev Severity) bool {
	for _, f := range fl.Findings {
		if f.Severity >= sev {
			return true
		}
	}
	return false
}

// Incomplete lists the hosts whose audit was incomplete (checks skipped
// for lack of input).
func (fl *Fleet) Incomplete() []string {
	// with --all a host has a row per report, the newest last
	newest := map[string]FleetHost{}
	var order []string
	for _, h := range fl.Hosts {
		if _, ok := newest[h.Host]; !ok {
			order = append(order, h.Host)
		}
		newest[h.Host] = h
	}
	var out []string
	for _, host := range order {
		if len(newest[host].Summary.Incomplete) > 0 {
			out = append(out, host)
		}
	}
	return out
}

// FindingKey is a finding's identity across runs: host, id, family,
// proto, port, address, service and the rule's text without where it sits
// (no line number, file name, nft handle or position, which shift when a rule is
// inserted above it or the ruleset is reloaded). Title, detail and
// remediation are prose that may name lines; they are not part of it.
type FindingKey struct {
	Host, ID, Family, Proto string
	Port                    uint16
	Address, Service, Rule  string
}

// Key is f's identity on host.
func (f Finding) Key(host string) FindingKey {
	return FindingKey{Host: host, ID: f.ID, Family: f.Family, Proto: f.Proto, Port: f.Port,
		Address: f.Address, Service: f.Service, Rule: RuleIdentity(f.Rule)}
}

var (
	// "inet filter input handle 13: tcp dport 22 accept" (from nft JSON)
	// and "inet filter input rule 9: ..." (from nft text, by position)
	nftHandle = regexp.MustCompile(`^(\S+ \S+ \S+) (?:handle|rule) \d+: `)
	// "line 12: -A INPUT ..." and "rules.v4:12: -A INPUT ..."
	linePrefix = regexp.MustCompile(`^(?:line \d+|\S+:\d+): `)
	// iptables-save -c counters: "[12:3456] -A INPUT ..."
	counters = regexp.MustCompile(`^\[\d+:\d+\] `)
)

// RuleIdentity is a rule's text without its position: what stays the same
// when rules are inserted above it or the ruleset is reloaded.
func RuleIdentity(rule string) string {
	rule = strings.TrimSpace(rule)
	rule = linePrefix.ReplaceAllString(rule, "")
	rule = counters.ReplaceAllString(rule, "")
	rule = nftHandle.ReplaceAllString(rule, "$1: ")
	return strings.Join(strings.Fields(rule), " ")
}

// diffFleet compares the hosts read in both runs finding by finding, as
// multisets of identities: a rule repeated three times raises two
// duplicate-rule findings with one identity, and losing one copy resolves
// one of them.
func diffFleet(cur, base []hostReport, errs []FleetError) *FleetDiff {
	d := &FleetDiff{New: []FleetFinding{}, Resolved: []FleetFinding{}, Exposure: []FleetPortChange{},
		HostsAdded: []string{}, HostsRemoved: []string{}}
	baseBy := map[string]hostReport{}
	for _, b := range base {
		baseBy[b.host] = b
	}
	curBy := map[string]bool{}
	unread := map[string]bool{} // file names of current reports that could not be read
	for _, e := range errs {
		if !e.Baseline {
			unread[filepath.Base(e.File)] = true
		}
	}
	for _, c := range cur {
		curBy[c.host] = true
		b, ok := baseBy[c.host]
		if !ok {
			d.HostsAdded = append(d.HostsAdded, c.host)
			continue
		}
		n, r := DiffFindings(b.rep.Findings, c.rep.Findings)
		for _, f := range n {
			d.New = append(d.New, FleetFinding{Host: c.host, Finding: f})
		}
		for _, f := range r {
			d.Resolved = append(d.Resolved, FleetFinding{Host: c.host, Finding: f})
		}
		for _, pc := range ExposureChanges(b.rep, c.rep) {
			d.Exposure = append(d.Exposure, FleetPortChange{Host: c.host, PortChange: pc})
		}
	}
	for _, b := range base {
		if !curBy[b.host] && !unread[filepath.Base(b.file)] {
			d.HostsRemoved = append(d.HostsRemoved, b.host)
		}
	}
	return d
}

// DiffFindings returns the findings of cur that old does not have and
// those of old that cur no longer has, by identity (Finding.Key), counting
// repeats.
func DiffFindings(old, cur []Finding) (added, resolved []Finding) {
	left := map[FindingKey]int{}
	for _, f := range old {
		left[f.Key("")]++
	}
	for _, f := range cur {
		k := f.Key("")
		if left[k] > 0 {
			left[k]--
			continue
		}
		added = append(added, f)
	}
	have := map[FindingKey]int{}
	for _, f := range cur {
		have[f.Key("")]++
	}
	for _, f := range old {
		k := f.Key("")
		if have[k] > 0 {
			have[k]--
			continue
		}
		resolved = append(resolved, f)
	}
	return added, resolved
}
