package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/fwaudit/fwaudit/scan"
)

// A service named from its port alone keeps its "?" in findings and in
// the fleet, and its severity is a step lower than the named service's:
// a process "lis" on udp/161 may not be SNMP at all.
func TestPortGuessedService(t *testing.T) {
	open := "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"
	tests := []struct {
		process, by string
		sev         Severity
		title       string
	}{
		{"snmpd", scan.ServiceByProcess, Critical, "snmp is reachable from the internet"},
		{"lis", scan.ServiceByPort, High, "snmp? is reachable from the internet"},
	}
	for _, tc := range tests {
		t.Run(tc.process, func(t *testing.T) {
			l := listener("udp", "0.0.0.0", 161, tc.process)
			l.Service, l.ServiceBy = "snmp", tc.by
			r := Build(Inputs{Listeners: []scan.Listener{l}, Firewall: fwFrom(t, open, ""), Hostname: "h", Now: testTime})
			var f *Finding
			for i := range r.Findings {
				if r.Findings[i].ID == "exposed-sensitive-service" {
					f = &r.Findings[i]
				}
			}
			if f == nil {
				t.Fatalf("no exposed-sensitive-service: %v", findingKeys(r))
			}
			if f.Severity != tc.sev || f.Title != tc.title {
				t.Errorf("%s %q, want %s %q", f.Severity, f.Title, tc.sev, tc.title)
			}
			guess := tc.by == scan.ServiceByPort
			if (f.ServiceBy == scan.ServiceByPort) != guess || strings.Contains(f.Detail, "only from its port") != guess {
				t.Errorf("service_by %q, detail %q", f.ServiceBy, f.Detail)
			}
			if guess && strings.Contains(f.Remediation, "bind snmp") {
				t.Errorf("the remediation names the guessed service as fact: %q", f.Remediation)
			}
			fl := NewFleet([]FleetInput{{File: "h.json", Report: r}}, nil)
			if len(fl.Exposed) != 1 || fl.Exposed[0].Severity != tc.sev {
				t.Fatalf("exposed %+v", fl.Exposed)
			}
			var table, md, page bytes.Buffer
			if err := fl.WriteTable(&table); err != nil {
				t.Fatal(err)
			}
			if err := fl.WriteMarkdown(&md); err != nil {
				t.Fatal(err)
			}
			if err := fl.WriteHTML(&page); err != nil {
				t.Fatal(err)
			}
			for name, out := range map[string]string{"table": table.String(), "markdown": md.String(), "html": page.String()} {
				if strings.Contains(out, "snmp?") != guess {
					t.Errorf("fleet %s: shows snmp? = %v, want %v", name, !guess, guess)
				}
			}
		})
	}
}
