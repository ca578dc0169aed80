//go:build linux

package e2e

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// diffDoc decodes `diff -o json` independently of package report.
type diffDoc struct {
	Changed bool `json:"changed"`
	Ports   []struct {
		Proto   string   `json:"proto"`
		Family  string   `json:"family"`
		Port    uint16   `json:"port"`
		Old     string   `json:"old"`
		New     string   `json:"new"`
		Change  string   `json:"change"`
		Added   []string `json:"added"`
		Removed []string `json:"removed"`
	} `json:"ports"`
}

// A rule is changed between two reports of one host, and diff must name
// the change the kernel shows: PostgreSQL's source widened from one peer
// address to the peer's /24 (the verdict stays "restricted"), and HTTPS on
// a dual-stack socket opened for IPv4 only (IPv6 stays blocked).
func TestDiffNamesRuleChange(t *testing.T) {
	lab := NewLab(t)
	const v6 = `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
COMMIT
`
	const week1 = `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -s 192.0.2.2/32 -p tcp -m tcp --dport 5432 -j ACCEPT
COMMIT
`
	const week2 = `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -s 192.0.2.0/24 -p tcp -m tcp --dport 5432 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 443 -j ACCEPT
COMMIT
`
	lab.LoadIp6tables(v6)
	lab.LoadIptables(week1)
	lab.Start(lab.Host, "postgres", "tcp:0.0.0.0:5432")
	lab.Start(lab.Host, "nginx", "tcp:[::]:443")
	kernel(t, lab, "tcp", "192.0.2.2", "192.0.2.1", 5432, true)
	kernel(t, lab, "tcp", "192.0.2.3", "192.0.2.1", 5432, false)
	kernel(t, lab, "tcp", "192.0.2.2", "192.0.2.1", 443, false)
	old := writeReport(t, lab, "week1.json")

	lab.LoadIptables(week2)
	kernel(t, lab, "tcp", "192.0.2.3", "192.0.2.1", 5432, true)
	kernel(t, lab, "tcp", "192.0.2.2", "192.0.2.1", 443, true)
	kernel(t, lab, "tcp", "2001:db8::2", "2001:db8::1", 443, false)
	cur := writeReport(t, lab, "week2.json")

	r := RunFwaudit(t, "", "diff", "-o", "json", old, cur)
	if r.Code != 1 {
		t.Fatalf("fwaudit diff -o json: exit %d, want 1\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	var d diffDoc
	if err := json.Unmarshal([]byte(r.Stdout), &d); err != nil {
		t.Fatalf("decoding fwaudit diff: %v\n%s", err, r.Stdout)
	}
	var got []string
	for _, p := range d.Ports {
		got = append(got, p.Proto+"/"+itoa(p.Port)+" "+p.Family+" "+p.Old+"->"+p.New+" "+p.Change)
		// every added source is one the kernel now admits and did not
		for _, a := range p.Added {
			pf, err := netip.ParsePrefix(a)
			if err != nil {
				t.Errorf("added %q: %v", a, err)
			}
			if p.Port == 5432 && (pf.Contains(netip.MustParseAddr("192.0.2.2")) || !pf.Overlaps(netip.MustParsePrefix("192.0.2.0/24"))) {
				t.Errorf("tcp/5432 added %s: 192.0.2.2 was admitted already and only 192.0.2.0/24 is new", a)
			}
		}
		if p.Port == 5432 && !anyContains(p.Added, "192.0.2.3") {
			t.Errorf("tcp/5432 added %v: no 192.0.2.3, which the kernel now admits", p.Added)
		}
		if len(p.Removed) > 0 {
			t.Errorf("%s/%d removed %v: nothing was narrowed", p.Proto, p.Port, p.Removed)
		}
	}
	sort.Strings(got)
	want := []string{"tcp/443 ipv4 blocked->open widened", "tcp/5432 ipv4 restricted->restricted widened"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("diff names:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// the table says it too
	r = RunFwaudit(t, "", "diff", old, cur)
	for _, w := range []string{"tcp/5432 ipv4 0.0.0.0 postgresql: restricted -> restricted, widened", "was: 192.0.2.2/32",
		"now: 192.0.2.0/24", "tcp/443 ipv4 :: https: blocked -> open, widened"} {
		if !strings.Contains(r.Stdout, w) {
			t.Errorf("fwaudit diff does not say %q:\n%s", w, r.Stdout)
		}
	}
	if strings.Contains(r.Stdout, "443 ipv6") {
		t.Errorf("fwaudit diff names IPv6 for tcp/443, whose IPv6 side stayed blocked:\n%s", r.Stdout)
	}

	// fleet --baseline over the two as directories
	base, now := filepath.Join(lab.Dir, "base"), filepath.Join(lab.Dir, "now")
	for dir, f := range map[string]string{base: old, now: cur} {
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "lab.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r = RunFwaudit(t, "", "fleet", "--baseline", base, "--fail-on-change", now)
	if r.Code != 5 || !strings.Contains(r.Stdout, "lab tcp/5432 ipv4 0.0.0.0 postgresql: restricted -> restricted, widened") {
		t.Errorf("fleet --baseline --fail-on-change: exit %d, want 5 and the widening named\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
}

// writeReport runs fwaudit report -o json live and keeps it in lab.Dir.
func writeReport(t *testing.T, lab *Lab, name string) string {
	t.Helper()
	stdout, stderr, code := lab.Fwaudit("report", "-o", "json", "--hostname", "lab")
	if code != 0 {
		t.Fatalf("fwaudit report: exit %d\n%s", code, stderr)
	}
	path := filepath.Join(lab.Dir, name)
	if err := os.WriteFile(path, []byte(stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func anyContains(prefixes []string, addr string) bool {
	a := netip.MustParseAddr(addr)
	for _, p := range prefixes {
		if pf, err := netip.ParsePrefix(p); err == nil && pf.Contains(a) {
			return true
		}
	}
	return false
}

func itoa(n uint16) string {
	b, _ := json.Marshal(n)
	return string(b)
}
