package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

const fleetDir = "../testdata/fleet"

// readDir reads every *.json report of a testdata/fleet directory as the
// fleet command would.
func readDir(t *testing.T, dir string) []FleetInput {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(fleetDir, dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no reports in %s (%v)", dir, err)
	}
	sort.Strings(files)
	var out []FleetInput
	for _, f := range files {
		out = append(out, readInput(t, f))
	}
	return out
}

func readInput(t *testing.T, file string) FleetInput {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseReport(bytes.NewReader(b))
	return FleetInput{File: file, Report: r, Err: err}
}

// rawReport is a report decoded without package report's types, to check
// the fleet against the reports' own words.
type rawReport struct {
	Host struct {
		Hostname string `json:"hostname"`
	} `json:"host"`
	Summary struct {
		Findings map[string]int `json:"findings"`
	} `json:"summary"`
	Checks []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	} `json:"checks"`
	Findings []map[string]any `json:"findings"`
}

func readRaw(t *testing.T, file string) rawReport {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var r rawReport
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestParseReport(t *testing.T) {
	good, err := os.ReadFile(filepath.Join(fleetDir, "week1", "web.json"))
	if err != nil {
		t.Fatal(err)
	}
	g := string(good)
	tests := []struct {
		name, in, err string
	}{
		{"a report", g, ""},
		{"truncated", g[:len(g)/2], "truncated JSON"},
		{"empty", "", "empty file"},
		{"another tool's object", `{"report_version": "1.0", "hostname": "web9"}`, "not an fwaudit report"},
		{"another tool's rows", `[{"name": "sshd", "port": "22"}]`, "not an fwaudit report"},
		{"scan output", `{"schema_version": 1, "host": {"hostname": "x"}, "sockets": []}`, "not an fwaudit report"},
		{"not JSON", "<html></html>", "invalid JSON at byte 1"},
		{"two documents", g + g, "more than one JSON document"},
		{"newer schema", strings.Replace(g, `"schema_version": 1`, `"schema_version": 2`, 1), "schema_version 2 is not supported"},
		{"unknown severity", strings.Replace(g, `"severity": "low"`, `"severity": "severe"`, 1), `unknown severity "severe"`},
		{"summary disagrees", strings.Replace(g, `"low": 2`, `"low": 1`, 1), "summary.findings.low is 1 but the report lists 2"},
		{"no findings list", strings.Replace(g, `"findings": [`, `"findingz": [`, 1), "missing"},
		{"bad time", strings.Replace(g, `"generated_at": "2026-11-14T06:00:00Z"`, `"generated_at": "last week"`, 1), "not an RFC 3339 time"},
		{"wrong type", strings.Replace(g, `"sockets": 7`, `"sockets": "seven"`, 1), "summary.sockets is a JSON string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.in != g && tc.in == strings.TrimSpace(g) {
				t.Fatal("the case changed nothing")
			}
			r, err := ParseReport(strings.NewReader(tc.in))
			if tc.err == "" {
				if err != nil || r == nil {
					t.Fatalf("ParseReport: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseReport accepted it, want an error with %q", tc.err)
			}
			if !strings.Contains(err.Error(), tc.err) {
				t.Errorf("error %q, want it to contain %q", err, tc.err)
			}
		})
	}
}

// TestFleetAggregation checks the fleet of week 1 against each report read
// on its own: one host per report, its worst severity and failed checks,
// the totals, the exposed services, every finding once with its host.
func TestFleetAggregation(t *testing.T) {
	in := readDir(t, "week1")
	fl := NewFleet(in, nil)
	if len(fl.Errors) != 0 {
		t.Fatalf("errors: %+v", fl.Errors)
	}
	if fl.Diff != nil {
		t.Error("a diff without a baseline")
	}
	if len(fl.Hosts) != len(in) {
		t.Fatalf("%d hosts from %d reports", len(fl.Hosts), len(in))
	}
	totals := map[string]int{}
	findings := 0
	for i, h := range fl.Hosts {
		if i > 0 && fl.Hosts[i-1].Host >= h.Host {
			t.Errorf("hosts not sorted: %q before %q", fl.Hosts[i-1].Host, h.Host)
		}
		raw := readRaw(t, h.File)
		if raw.Host.Hostname != h.Host {
			t.Errorf("%s: host %q, report says %q", h.File, h.Host, raw.Host.Hostname)
		}
		worst := "none"
		for _, sev := range []string{"info", "low", "medium", "high", "critical"} {
			if raw.Summary.Findings[sev] > 0 {
				worst = sev
			}
			totals[sev] += raw.Summary.Findings[sev]
		}
		if h.Worst != worst {
			t.Errorf("%s: worst %q, want %q", h.Host, h.Worst, worst)
		}
		var failed []string
		for _, c := range raw.Checks {
			if c.Status == "fail" {
				failed = append(failed, c.ID)
			}
		}
		if strings.Join(h.ChecksFailed, " ") != strings.Join(failed, " ") {
			t.Errorf("%s: checks_failed %q, want %q", h.Host, h.ChecksFailed, failed)
		}
		n := 0
		for _, f := range fl.Findings {
			if f.Host == h.Host {
				n++
			}
		}
		if n != len(raw.Findings) {
			t.Errorf("%s: %d findings in the fleet, %d in the report", h.Host, n, len(raw.Findings))
		}
		findings += len(raw.Findings)
	}
	if len(fl.Findings) != findings {
		t.Errorf("%d findings, want %d", len(fl.Findings), findings)
	}
	for sev, n := range totals {
		if fl.Totals.Findings[sev] != n {
			t.Errorf("totals.findings.%s = %d, want %d", sev, fl.Totals.Findings[sev], n)
		}
	}
	if fl.Totals.Hosts != 3 || fl.Totals.Errors != 0 {
		t.Errorf("totals %+v", fl.Totals)
	}
	// fresh runs PostgreSQL on 0.0.0.0 without a firewall; web's MySQL
	// and PostgreSQL are filtered (restricted or blocked): not exposed
	want := []Exposed{{Host: "fresh", Proto: "tcp", Port: 5432, Address: "0.0.0.0", Service: "postgresql", Severity: High}}
	if len(fl.Exposed) != 1 || fl.Exposed[0] != want[0] {
		t.Errorf("exposed = %+v, want %+v", fl.Exposed, want)
	}
	if fl.Exceeds(Critical) || !fl.Exceeds(High) {
		t.Errorf("Exceeds: critical %v, high %v; want false, true", fl.Exceeds(Critical), fl.Exceeds(High))
	}
}

func TestFleetExposedNotConditional(t *testing.T) {
	r := Build(Inputs{Now: testTime, Version: "x"})
	r.Host.Hostname = "h"
	r.Sockets = []Socket{{Proto: "tcp", Family: "ipv4", Address: "0.0.0.0", Port: 6379, Service: "redis",
		Firewall: &SocketFirewall{Verdict: "conditional"}}}
	r.Findings = []Finding{{ID: "exposed-sensitive-service", Severity: Medium, Family: "ipv4", Proto: "tcp", Port: 6379, Address: "0.0.0.0", Service: "redis"}}
	if got := NewFleet([]FleetInput{{File: "h.json", Report: r}}, nil).Exposed; len(got) != 0 {
		t.Errorf("a conditional verdict is listed as exposed: %+v", got)
	}
	r.Sockets[0].Firewall.Verdict = "open"
	if got := NewFleet([]FleetInput{{File: "h.json", Report: r}}, nil).Exposed; len(got) != 1 {
		t.Errorf("an open verdict is not listed as exposed: %+v", got)
	}
}

// TestFleetIdentity compares week 1 with week 2. On web a rule was
// inserted above every finding's rule (each has a new nft position) and on
// mail a rule was inserted near the top (every line shifts), a rule
// deleted and nginx stopped: only mail's 110 is resolved and 80 is new.
func TestFleetIdentity(t *testing.T) {
	// the premise: findings whose rule stays the same have moved (another
	// line, nft position or handle) between the weeks
	for _, host := range []string{"web", "mail"} {
		a := readRaw(t, filepath.Join(fleetDir, "week1", host+".json"))
		b := readRaw(t, filepath.Join(fleetDir, "week2", host+".json"))
		moved := 0
		for _, fb := range b.Findings {
			rb, _ := fb["rule"].(string)
			for _, fa := range a.Findings {
				ra, _ := fa["rule"].(string)
				if ra != "" && RuleIdentity(ra) == RuleIdentity(rb) && (ra != rb || fa["line"] != fb["line"]) {
					moved++
					break
				}
			}
		}
		if moved < 2 {
			t.Fatalf("%s: %d findings moved between the weeks; the test needs at least 2", host, moved)
		}
	}

	fl := NewFleet(readDir(t, "week2"), readDir(t, "week1"))
	if len(fl.Errors) != 0 {
		t.Fatalf("errors: %+v", fl.Errors)
	}
	d := fl.Diff
	type change struct {
		host, id string
		port     uint16
	}
	var gotNew, gotResolved []change
	for _, f := range d.New {
		gotNew = append(gotNew, change{f.Host, f.ID, f.Port})
	}
	for _, f := range d.Resolved {
		gotResolved = append(gotResolved, change{f.Host, f.ID, f.Port})
	}
	if want := []change{{"mail", "stale-rule", 80}}; !equalChanges(gotNew, want) {
		t.Errorf("new = %v, want %v", gotNew, want)
	}
	if want := []change{{"mail", "stale-rule", 110}}; !equalChanges(gotResolved, want) {
		t.Errorf("resolved = %v, want %v", gotResolved, want)
	}
	if strings.Join(d.HostsAdded, ",") != "hostile" || len(d.HostsRemoved) != 0 {
		t.Errorf("hosts added %q, removed %q; want [hostile], []", d.HostsAdded, d.HostsRemoved)
	}

	// the other way round: hostile is removed, 110 new, 80 resolved
	back := NewFleet(readDir(t, "week1"), readDir(t, "week2")).Diff
	if strings.Join(back.HostsRemoved, ",") != "hostile" || len(back.HostsAdded) != 0 || len(back.New) != 1 || back.New[0].Port != 110 || len(back.Resolved) != 1 || back.Resolved[0].Port != 80 {
		t.Errorf("reversed diff: %+v", back)
	}

	// against itself: nothing
	self := NewFleet(readDir(t, "week2"), readDir(t, "week2")).Diff
	if len(self.New)+len(self.Resolved)+len(self.HostsAdded)+len(self.HostsRemoved) != 0 {
		t.Errorf("week 2 against itself: %+v", self)
	}
}

func equalChanges[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRuleIdentity(t *testing.T) {
	tests := []struct{ name, a, b string }{
		{"iptables line prefix", "line 12: -A INPUT -p tcp --dport 22 -j ACCEPT", "-A INPUT -p tcp --dport 22 -j ACCEPT"},
		{"file and line", "rules.v4:12: -A INPUT -j DROP", "/etc/iptables/rules.v4:40: -A INPUT -j DROP"},
		{"counters", "[12:3456] -A INPUT -j DROP", "[0:0] -A INPUT -j DROP"},
		{"nft handle", "inet filter input handle 13: tcp dport 22 accept", "inet filter input handle 27: tcp dport 22 accept"},
		{"nft position", "inet filter input rule 9: tcp dport 22 accept", "inet filter input handle 13: tcp dport 22 accept"},
		{"spacing", "-A INPUT  -j DROP ", "-A INPUT -j DROP"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if RuleIdentity(tc.a) != RuleIdentity(tc.b) {
				t.Errorf("RuleIdentity(%q) = %q, RuleIdentity(%q) = %q; want them equal", tc.a, RuleIdentity(tc.a), tc.b, RuleIdentity(tc.b))
			}
		})
	}
	different := []struct{ name, a, b string }{
		{"another port", "-A INPUT -p tcp --dport 22 -j ACCEPT", "-A INPUT -p tcp --dport 23 -j ACCEPT"},
		{"another chain", "inet filter input handle 3: tcp dport 22 accept", "inet filter forward handle 3: tcp dport 22 accept"},
		{"another comment", `-A INPUT -m comment --comment "a" -j ACCEPT`, `-A INPUT -m comment --comment "b" -j ACCEPT`},
	}
	for _, tc := range different {
		t.Run(tc.name, func(t *testing.T) {
			if RuleIdentity(tc.a) == RuleIdentity(tc.b) {
				t.Errorf("RuleIdentity makes %q and %q the same", tc.a, tc.b)
			}
		})
	}
}

// TestDiffFindingsRepeats: identical identities count, so losing one of
// two duplicate-rule findings resolves one.
func TestDiffFindingsRepeats(t *testing.T) {
	dup := Finding{ID: "duplicate-rule", Severity: Low, Family: "ipv4", Proto: "tcp", Port: 22, Rule: "-A INPUT -p tcp --dport 22 -j ACCEPT"}
	a, b := dup, dup
	a.Line, b.Line = 7, 9
	added, resolved := DiffFindings([]Finding{a, b}, []Finding{b})
	if len(added) != 0 || len(resolved) != 1 {
		t.Errorf("two copies to one: added %d, resolved %d; want 0, 1", len(added), len(resolved))
	}
	added, resolved = DiffFindings([]Finding{a}, []Finding{a, b})
	if len(added) != 1 || len(resolved) != 0 {
		t.Errorf("one copy to two: added %d, resolved %d; want 1, 0", len(added), len(resolved))
	}
	c := dup
	c.Address = "192.0.2.1"
	added, resolved = DiffFindings([]Finding{a}, []Finding{c})
	if len(added) != 1 || len(resolved) != 1 {
		t.Errorf("another address: added %d, resolved %d; want 1, 1", len(added), len(resolved))
	}
}

func TestFleetErrors(t *testing.T) {
	week2 := readDir(t, "week2")
	broken := readDir(t, "broken")
	for _, b := range broken {
		if b.Err == nil {
			t.Fatalf("%s was read as a report", b.File)
		}
	}

	t.Run("listed, never dropped", func(t *testing.T) {
		fl := NewFleet(append(append([]FleetInput{}, week2...), broken...), nil)
		if len(fl.Hosts) != len(week2) || len(fl.Errors) != len(broken) || fl.Totals.Errors != len(broken) {
			t.Fatalf("%d hosts and %d errors, want %d and %d", len(fl.Hosts), len(fl.Errors), len(week2), len(broken))
		}
		for i, e := range fl.Errors {
			if e.File != broken[i].File || e.Error != broken[i].Err.Error() || e.Baseline {
				t.Errorf("error %d = %+v, want %s: %v", i, e, broken[i].File, broken[i].Err)
			}
		}
	})

	t.Run("same host twice", func(t *testing.T) {
		again := week2[0]
		again.File = "elsewhere/" + filepath.Base(again.File)
		fl := NewFleet([]FleetInput{week2[0], again}, nil)
		if len(fl.Hosts) != 1 || len(fl.Errors) != 1 || !strings.Contains(fl.Errors[0].Error, "already reported by "+week2[0].File) {
			t.Errorf("hosts %d, errors %+v", len(fl.Hosts), fl.Errors)
		}
	})

	t.Run("a host whose report cannot be read now is not removed", func(t *testing.T) {
		var cur []FleetInput
		for _, in := range week2 {
			if filepath.Base(in.File) == "mail.json" {
				in = FleetInput{File: in.File, Err: errors.New("truncated JSON: the document ends early")}
			}
			cur = append(cur, in)
		}
		d := NewFleet(cur, readDir(t, "week1")).Diff
		if len(d.HostsRemoved) != 0 {
			t.Errorf("hosts removed %q", d.HostsRemoved)
		}
		if len(d.New)+len(d.Resolved) != 0 {
			t.Errorf("new %d, resolved %d; mail's changes cannot be known", len(d.New), len(d.Resolved))
		}
	})

	t.Run("baseline errors are marked", func(t *testing.T) {
		fl := NewFleet(week2, broken)
		if len(fl.Errors) != len(broken) || !fl.Errors[0].Baseline {
			t.Errorf("errors %+v", fl.Errors)
		}
		if len(fl.Diff.HostsAdded) != len(week2) {
			t.Errorf("hosts added %q", fl.Diff.HostsAdded)
		}
	})

	t.Run("hostname missing: named after the file", func(t *testing.T) {
		in := readInput(t, filepath.Join(fleetDir, "week1", "web.json"))
		in.Report.Host.Hostname = ""
		in.File = "reports/web7.example.org.json"
		fl := NewFleet([]FleetInput{in}, nil)
		if fl.Hosts[0].Host != "web7.example.org" || fl.Findings[0].Host != "web7.example.org" {
			t.Errorf("host %q", fl.Hosts[0].Host)
		}
	})

	t.Run("nothing to read", func(t *testing.T) {
		fl := NewFleet(nil, nil)
		var b bytes.Buffer
		if err := fl.WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{`"hosts": []`, `"findings": []`, `"exposed": []`, `"errors": []`} {
			if !strings.Contains(b.String(), k) {
				t.Errorf("empty fleet JSON lacks %s:\n%s", k, b.String())
			}
		}
	})
}

func compileFleetSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(FleetSchema))
	if err != nil {
		t.Fatalf("fleet.schema.json: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("fleet.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("fleet.schema.json")
	if err != nil {
		t.Fatalf("compiling fleet.schema.json: %v", err)
	}
	return s
}

// TestFleetSchema validates fleet JSON against fleet.schema.json: plain,
// with a baseline, and with unreadable reports.
func TestFleetSchema(t *testing.T) {
	schema := compileFleetSchema(t)
	tests := []struct {
		name      string
		cur, base []FleetInput
	}{
		{"week 1", readDir(t, "week1"), nil},
		{"week 2 since week 1", readDir(t, "week2"), readDir(t, "week1")},
		{"with errors", append(readDir(t, "week1"), readDir(t, "broken")...), readDir(t, "broken")},
		{"incomplete", readDir(t, "incomplete"), nil},
		{"empty", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := NewFleet(tc.cur, tc.base).WriteJSON(&b); err != nil {
				t.Fatal(err)
			}
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if err := schema.Validate(inst); err != nil {
				t.Errorf("does not match report/fleet.schema.json: %v\n%s", err, b.String())
			}
		})
	}
}

// TestFleetSchemaRejects makes sure the schema validation can fail.
func TestFleetSchemaRejects(t *testing.T) {
	schema := compileFleetSchema(t)
	var b bytes.Buffer
	if err := NewFleet(readDir(t, "week2"), readDir(t, "week1")).WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, from, to string }{
		{"worst", `"worst": "low"`, `"worst": "lowish"`},
		{"severity key", `"critical": 0`, `"severe": 0`},
		{"schema version", `"schema_version": 1`, `"schema_version": 2`},
		{"exposed port", `"port": 5432`, `"port": 99999`},
		{"diff", `"hosts_added"`, `"hosts_gained"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bad := strings.Replace(b.String(), tc.from, tc.to, 1)
			if bad == b.String() {
				t.Fatalf("%q not in the fleet document", tc.from)
			}
			inst, err := jsonschema.UnmarshalJSON(strings.NewReader(bad))
			if err != nil {
				t.Fatal(err)
			}
			if schema.Validate(inst) == nil {
				t.Errorf("schema accepted a fleet with %s", tc.to)
			}
		})
	}
}

// TestFleetTableWidth: every line of the table fits 80 columns, with long
// host names, IPv6 addresses, long rules and errors.
func TestFleetTableWidth(t *testing.T) {
	cur := append(readDir(t, "week2"), readDir(t, "broken")...)
	const v6 = "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"
	for i := range cur {
		r := cur[i].Report
		switch {
		case r == nil:
		case r.Host.Hostname == "web":
			r.Host.Hostname = "a-very-long-host-name-in-a-large-fleet.eu-west-1.compute.example.org"
		case r.Host.Hostname == "hostile":
			for j := range r.Findings {
				if r.Findings[j].Port == 6379 {
					r.Findings[j].Address = v6
				}
			}
			for j := range r.Sockets {
				if r.Sockets[j].Port == 6379 {
					r.Sockets[j].Address = v6
				}
			}
		}
	}
	base := readDir(t, "week1")
	for i := range base {
		if base[i].Report.Host.Hostname == "mail" {
			base[i].Report.Findings = append(base[i].Report.Findings, Finding{ID: "shadowed-rule", Severity: Low,
				Rule: "-A INPUT -s 198.51.100.0/24 -p tcp -m multiport --dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14 -m comment --comment \"a very long comment that goes on\" -j ACCEPT"})
		}
	}
	var b bytes.Buffer
	if err := NewFleet(cur, base).WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(b.String(), "\n") {
		if n := utf8.RuneCountInString(l); n > 80 {
			t.Errorf("line %d is %d columns: %q", i+1, n, l)
		}
	}
	for _, want := range []string{"a-very-long-host-name", v6, "HOSTS (4)", "EXPOSED SENSITIVE SERVICES (2)", "resolved", "UNREADABLE REPORTS (3)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}
