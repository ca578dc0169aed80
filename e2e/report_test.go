//go:build linux

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The report scenarios run `fwaudit report --format json` live in a lab's
// host namespace and hold its checks and findings against what the kernel
// does with probes from the peer. The rulesets of the first three are the
// files behind the offline golden reports in testdata/report, so the live
// and the captured views of one host are checked alike.

// reportDoc decodes `report --format json` independently of package report.
type reportDoc struct {
	SchemaVersion int `json:"schema_version"`
	Summary       struct {
		ChecksFailed int            `json:"checks_failed"`
		Findings     map[string]int `json:"findings"`
	} `json:"summary"`
	Checks   []reportCheck   `json:"checks"`
	Findings []reportFinding `json:"findings"`
	Sockets  []Socket        `json:"sockets"`
}

type reportCheck struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Detail string `json:"detail"`
}

type reportFinding struct {
	ID       string `json:"id"`
	Severity string `json:"severity"`
	Family   string `json:"family"`
	Proto    string `json:"proto"`
	Port     uint16 `json:"port"`
	Address  string `json:"address"`
	Rule     string `json:"rule"`
	Detail   string `json:"detail"`
}

func (f reportFinding) String() string {
	return fmt.Sprintf("%s %s %s/%d %s %q", f.Severity, f.ID, f.Proto, f.Port, f.Address, f.Rule)
}

// runReport runs fwaudit report live in the lab's host namespace and
// decodes it; the run must exit 0.
func runReport(t *testing.T, lab *Lab) reportDoc {
	t.Helper()
	stdout, stderr, code := lab.Fwaudit("report", "--format", "json", "--hostname", "lab", "--time", "2026-11-21T12:00:00Z")
	if code != 0 {
		t.Fatalf("fwaudit report: exit %d\nstderr: %s", code, stderr)
	}
	validateReport(t, stdout)
	var r reportDoc
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("decoding fwaudit report: %v\n%s", err, stdout)
	}
	if r.SchemaVersion != 1 {
		t.Fatalf("schema_version = %d, want 1", r.SchemaVersion)
	}
	return r
}

var (
	reportSchemaOnce sync.Once
	reportSchema     *jsonschema.Schema
	reportSchemaErr  error
)

// validateReport checks a live report against report/schema.json, the
// published contract.
func validateReport(t *testing.T, stdout string) {
	t.Helper()
	reportSchemaOnce.Do(func() {
		b, err := os.ReadFile(filepath.Join("..", "report", "schema.json"))
		if err != nil {
			reportSchemaErr = err
			return
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			reportSchemaErr = err
			return
		}
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		if reportSchemaErr = c.AddResource("schema.json", doc); reportSchemaErr == nil {
			reportSchema, reportSchemaErr = c.Compile("schema.json")
		}
	})
	if reportSchemaErr != nil {
		t.Fatalf("report/schema.json: %v", reportSchemaErr)
	}
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(stdout))
	if err != nil {
		t.Fatalf("decoding fwaudit report: %v", err)
	}
	if err := reportSchema.Validate(inst); err != nil {
		t.Errorf("live report does not match report/schema.json: %v", err)
	}
}

// failOnCode runs fwaudit report --fail-on sev and returns its exit code.
func failOnCode(t *testing.T, lab *Lab, sev string) int {
	t.Helper()
	_, stderr, code := lab.Fwaudit("report", "--fail-on", sev)
	if code != 0 && code != 3 {
		t.Fatalf("fwaudit report --fail-on %s: exit %d: %s", sev, code, stderr)
	}
	return code
}

func reportRules(t *testing.T, host, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "report", host, file))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (r reportDoc) status(id string) string {
	for _, c := range r.Checks {
		if c.ID == id {
			return c.Status
		}
	}
	return "missing"
}

func (r reportDoc) wantStatus(t *testing.T, want map[string]string) {
	t.Helper()
	for id, st := range want {
		if got := r.status(id); got != st {
			t.Errorf("check %s = %s, want %s (%s)", id, got, st, r.detail(id))
		}
	}
}

func (r reportDoc) detail(id string) string {
	for _, c := range r.Checks {
		if c.ID == id {
			return c.Detail
		}
	}
	return ""
}

// find returns the findings with id on port (0: any port).
func (r reportDoc) find(id string, port uint16) []reportFinding {
	var out []reportFinding
	for _, f := range r.Findings {
		if f.ID == id && (port == 0 || f.Port == port) {
			out = append(out, f)
		}
	}
	return out
}

func (r reportDoc) dump() string {
	var b strings.Builder
	for _, f := range r.Findings {
		b.WriteString("  " + f.String() + "\n")
	}
	for _, c := range r.Checks {
		fmt.Fprintf(&b, "  %s %s: %s\n", c.Status, c.ID, c.Detail)
	}
	return b.String()
}

// noFindingOn fails when a finding names one of the given sockets (bound to
// loopback, or restricted to a named source): those are never findings.
func (r reportDoc) noFindingOn(t *testing.T, why string, ports ...uint16) {
	t.Helper()
	for _, f := range r.Findings {
		for _, p := range ports {
			if f.Port == p && f.ID != "stale-rule" {
				t.Errorf("finding on port %d (%s): %s", p, why, f)
			}
		}
	}
}

// kernel asserts what the kernel lets through, so that each scenario is
// what it claims to be before fwaudit is judged on it.
func kernel(t *testing.T, lab *Lab, proto, src, dst string, port uint16, want bool) {
	t.Helper()
	if got := lab.Probe(proto, src, dst, port); got != want {
		t.Fatalf("kernel: %s %s -> [%s]:%d connects = %v, want %v (scenario broken)", proto, src, dst, port, got, want)
	}
}

// A fresh host: no rules at all, PostgreSQL on every address.
func TestReportFreshHostPostgres(t *testing.T) {
	lab := NewLab(t)
	lab.Start(lab.Host, "sshd", "tcp:0.0.0.0:22")
	lab.Start(lab.Host, "postgres", "tcp:0.0.0.0:5432")
	lab.Start(lab.Host, "redis-server", "tcp:127.0.0.1:6379")
	kernel(t, lab, "tcp", "192.0.2.2", "192.0.2.1", 5432, true)

	r := runReport(t, lab)
	// loopback-v4 and -v6 pass: lo is accepted, and the kernel drops
	// 127.0.0.0/8 (route_localnet 0) and ::1 from veth0 itself
	// (TestMartianLoopbackSource)
	r.wantStatus(t, map[string]string{"default-deny-v4": "fail", "default-deny-v6": "fail", "loopback-v4": "pass", "loopback-v6": "pass"})
	es := r.find("exposed-sensitive-service", 5432)
	if len(es) != 1 || es[0].Severity != "high" {
		t.Errorf("exposed-sensitive-service on 5432 = %v, want one, high\n%s", es, r.dump())
	}
	if len(r.find("no-firewall", 0)) == 0 {
		t.Errorf("no no-firewall finding on a host without rules\n%s", r.dump())
	}
	r.noFindingOn(t, "redis bound to 127.0.0.1", 6379)

	t.Run("fail-on", func(t *testing.T) {
		defer lab.Use(t)()
		for sev, want := range map[string]int{"high": 3, "critical": 0} {
			if got := failOnCode(t, lab, sev); got != want {
				t.Errorf("--fail-on %s: exit %d, want %d", sev, got, want)
			}
		}
	})
}

// A tutorial ruleset that accepts the mail ports on a host where only SSH
// and HTTP listen (the MTA is bound to 127.0.0.1).
func TestReportMailTutorialStaleRules(t *testing.T) {
	lab := NewLab(t)
	lab.LoadIptables(reportRules(t, "mail-tutorial", "rules.v4"))
	lab.Start(lab.Host, "sshd", "tcp:0.0.0.0:22")
	lab.Start(lab.Host, "nginx", "tcp:0.0.0.0:80")
	lab.Start(lab.Host, "exim4", "tcp:127.0.0.1:25")
	kernel(t, lab, "tcp", "192.0.2.2", "192.0.2.1", 80, true)
	kernel(t, lab, "tcp", "192.0.2.2", "192.0.2.1", 25, false) // accepted, but nobody there

	r := runReport(t, lab)
	r.wantStatus(t, map[string]string{"default-deny-v4": "pass", "loopback-v4": "pass",
		"established-v4": "pass", "open-ports-have-rules-v4": "pass"})
	for _, p := range []uint16{25, 110, 143, 587, 993, 995} {
		if fs := r.find("stale-rule", p); len(fs) != 1 || fs[0].Family != "ipv4" || fs[0].Proto != "tcp" {
			t.Errorf("stale-rule for tcp/%d = %v, want one (ipv4)\n%s", p, fs, r.dump())
		}
	}
	for _, p := range []uint16{22, 80} {
		if fs := r.find("stale-rule", p); len(fs) != 0 {
			t.Errorf("stale-rule for tcp/%d, where something listens: %v", p, fs)
		}
	}
	r.noFindingOn(t, "exim4 bound to 127.0.0.1", 25)
}

// IPv4 locked down, ip6tables never configured, MySQL on [::].
func TestReportIPv6Unfiltered(t *testing.T) {
	lab := NewLab(t)
	lab.LoadIptables(reportRules(t, "ipv6-unfiltered", "rules.v4"))
	lab.LoadIp6tables(reportRules(t, "ipv6-unfiltered", "rules.v6"))
	lab.Start(lab.Host, "sshd", "tcp:0.0.0.0:22")
	lab.Start(lab.Host, "mysqld", "tcp:[::]:3306")
	kernel(t, lab, "tcp", "2001:db8::2", "2001:db8::1", 3306, true)
	kernel(t, lab, "tcp", "192.0.2.2", "192.0.2.1", 3306, false)

	r := runReport(t, lab)
	r.wantStatus(t, map[string]string{"default-deny-v4": "pass", "default-deny-v6": "fail"})
	if fs := r.find("ipv6-unfiltered", 3306); len(fs) != 1 || fs[0].Severity != "high" {
		t.Errorf("ipv6-unfiltered on 3306 = %v, want one, high\n%s", fs, r.dump())
	}
	if fs := r.find("exposed-sensitive-service", 3306); len(fs) != 1 {
		t.Errorf("exposed-sensitive-service on 3306 = %v, want one\n%s", fs, r.dump())
	}
}

// A duplicated SSH rule, and a DROP for 443 that an earlier multiport
// ACCEPT makes dead: the kernel lets 443 in.
func TestReportDuplicateAndShadowedRules(t *testing.T) {
	lab := NewLab(t)
	lab.LoadIptables(`*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -s 127.0.0.0/8 -j DROP
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -p tcp -m multiport --dports 80,443 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 443 -j DROP
COMMIT
`)
	lab.Start(lab.Host, "sshd", "tcp:0.0.0.0:22")
	lab.Start(lab.Host, "nginx", "tcp:0.0.0.0:80", "tcp:0.0.0.0:443")
	kernel(t, lab, "tcp", "192.0.2.2", "192.0.2.1", 443, true)

	r := runReport(t, lab)
	if fs := r.find("duplicate-rule", 22); len(fs) != 1 {
		t.Errorf("duplicate-rule on 22 = %v, want one\n%s", fs, r.dump())
	}
	sh := r.find("shadowed-rule", 443)
	if len(sh) != 1 || !strings.Contains(sh[0].Rule, "--dport 443") || !strings.HasSuffix(sh[0].Rule, "-j DROP") || sh[0].Severity != "medium" {
		t.Errorf("shadowed-rule on 443 = %v, want the DROP rule, medium\n%s", sh, r.dump())
	}
}

// A hardened host in the shape `fwaudit suggest` writes: every check
// passes and nothing above low is found, while a loopback-only PostgreSQL
// and a MySQL open to one peer address raise nothing.
func TestReportAllChecksPass(t *testing.T) {
	lab := NewLab(t)
	lab.LoadIptables(`*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -s 127.0.0.0/8 ! -i lo -j DROP
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -m conntrack --ctstate INVALID -j DROP
-A INPUT -p tcp -m tcp --dport 22 -m comment --comment "ssh" -j ACCEPT
-A INPUT -p tcp -m tcp --dport 80 -m comment --comment "http" -j ACCEPT
-A INPUT -s 192.0.2.3/32 -p tcp -m tcp --dport 3306 -m comment --comment "mysql from the app server" -j ACCEPT
-A INPUT -p icmp -m icmp --icmp-type 8 -j ACCEPT
COMMIT
`)
	lab.LoadIp6tables(`*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -s ::1/128 ! -i lo -j DROP
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -m conntrack --ctstate INVALID -j DROP
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT
-A INPUT -p ipv6-icmp -j ACCEPT
COMMIT
`)
	lab.Start(lab.Host, "sshd", "tcp:[::]:22")
	lab.Start(lab.Host, "nginx", "tcp:[::]:80")
	lab.Start(lab.Host, "postgres", "tcp:127.0.0.1:5432")
	lab.Start(lab.Host, "mysqld", "tcp:0.0.0.0:3306")
	kernel(t, lab, "tcp", "2001:db8::2", "2001:db8::1", 22, true)
	kernel(t, lab, "tcp", "192.0.2.2", "192.0.2.1", 80, true)
	kernel(t, lab, "tcp", "192.0.2.3", "192.0.2.1", 3306, true)
	kernel(t, lab, "tcp", "192.0.2.2", "192.0.2.1", 3306, false)

	r := runReport(t, lab)
	for _, c := range r.Checks {
		if c.Status != "pass" {
			t.Errorf("check %s = %s, want pass: %s", c.ID, c.Status, c.Detail)
		}
	}
	for _, sev := range []string{"critical", "high", "medium"} {
		if r.Summary.Findings[sev] != 0 {
			t.Errorf("%d %s findings, want none\n%s", r.Summary.Findings[sev], sev, r.dump())
		}
	}
	r.noFindingOn(t, "postgres bound to 127.0.0.1", 5432)
	r.noFindingOn(t, "mysql restricted to 192.0.2.3", 3306)

	t.Run("fail-on", func(t *testing.T) {
		defer lab.Use(t)()
		if got := failOnCode(t, lab, "medium"); got != 0 {
			t.Errorf("--fail-on medium: exit %d, want 0", got)
		}
	})
}

// iptables-legacy drops by default and accepts SSH; iptables-nft accepts
// PostgreSQL. A packet must pass both, so PostgreSQL stays unreachable, and
// the two backends are a finding of their own.
func TestReportMixedBackends(t *testing.T) {
	lab := NewLab(t)
	lab.LoadIptablesLegacy(reportRules(t, "mixed-backends", "iptables-legacy.rules"))
	lab.LoadIptables(reportRules(t, "mixed-backends", "iptables-nft.rules"))
	lab.Start(lab.Host, "sshd", "tcp:0.0.0.0:22")
	lab.Start(lab.Host, "postgres", "tcp:0.0.0.0:5432")
	kernel(t, lab, "tcp", "192.0.2.2", "192.0.2.1", 22, true)
	kernel(t, lab, "tcp", "192.0.2.2", "192.0.2.1", 5432, false)

	r := runReport(t, lab)
	r.wantStatus(t, map[string]string{"single-firewall-backend": "fail"})
	if fs := r.find("mixed-backends", 0); len(fs) != 1 {
		t.Errorf("mixed-backends = %v, want one\n%s", fs, r.dump())
	}
	if fs := r.find("exposed-sensitive-service", 5432); len(fs) != 0 {
		t.Errorf("exposed-sensitive-service on 5432, which the legacy policy drops: %v", fs)
	}
}
