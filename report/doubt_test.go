package report

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/scan"
)

// doubtV4 drops the replies of a socket owned by gid 15000 to
// 10.49.0.0/16 (ssh and redis), keeps a knock list beside one fixed
// source for postgres, and rate-limits 10.49.0.0/16 on 6379.
const doubtV4 = `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -s 10.49.0.0/16 -p tcp --dport 6379 -m limit --limit 1/s -j DROP
-A INPUT -p tcp --dport 22 -j ACCEPT
-A INPUT -p tcp --dport 6379 -j ACCEPT
-A INPUT -s 192.0.2.10/32 -p tcp --dport 5432 -j ACCEPT
-A INPUT -p tcp --dport 5432 -m recent --rcheck --name knock -j ACCEPT
-A OUTPUT -d 10.49.0.0/16 -p tcp --sport 22 -m owner --gid-owner 15000 -j DROP
COMMIT
`

// TestDoubtfulSourcesKeptApart: where a runtime match puts only some
// sources in doubt, the JSON keeps the certain verdict and the doubtful
// sources apart, the table says both, and findings see what is certainly
// open (a sensitive service open to everyone but the sources in doubt is
// high, as any open one; one restricted for sure but maybe open to the
// rest is medium, as a conditional one).
func TestDoubtfulSourcesKeptApart(t *testing.T) {
	ls := []scan.Listener{listener("tcp", "0.0.0.0", 22, "sshd"), listener("tcp", "0.0.0.0", 5432, "postgres"),
		listener("tcp", "0.0.0.0", 6379, "redis-server")}
	r := Build(Inputs{Listeners: ls, Firewall: fwFrom(t, doubtV4, ""), Now: testTime})
	got := map[uint16]*FamilyVerdict{}
	for _, s := range r.Sockets {
		got[s.Port] = s.Firewall.IPv4
	}
	want := map[uint16]struct {
		verdict, except, sources, doubtful, reasons string
	}{
		22:   {"open", "10.49.0.0/16", "", "10.49.0.0/16", "-m owner"},
		5432: {"restricted", "", "192.0.2.10/32", "", "-m recent"},
		6379: {"open", "10.49.0.0/16", "", "10.49.0.0/16", "-m limit"},
	}
	for port, w := range want {
		fv := got[port]
		if fv == nil {
			t.Fatalf("tcp/%d: no ipv4 verdict", port)
		}
		if fv.Verdict != w.verdict || strings.Join(fv.Except.Strings(), " ") != w.except || strings.Join(fv.Sources.Strings(), " ") != w.sources ||
			strings.Join(fv.Reasons, "; ") != w.reasons {
			t.Errorf("tcp/%d: got %s except %v sources %v reasons %v, want %+v", port, fv.Verdict, fv.Except, fv.Sources, fv.Reasons, w)
		}
		if w.doubtful != "" && strings.Join(fv.Doubtful.Strings(), " ") != w.doubtful {
			t.Errorf("tcp/%d: doubtful %v, want %s", port, fv.Doubtful, w.doubtful)
		}
	}
	// the knock: everyone but 192.0.2.10 is in doubt, 192.0.2.10 is not
	if e := NewExposure("ipv4", got[5432]); e.Doubt.describe(0) != "everyone except 192.0.2.10/32" || e.Sure.describe(0) != "192.0.2.10/32" {
		t.Errorf("tcp/5432: sure %q, doubt %q", e.Sure.describe(0), e.Doubt.describe(0))
	}

	// JSON: the field, and its round trip
	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"except":["10.49.0.0/16"],"interfaces":[],"doubtful":["10.49.0.0/16"],"reasons":["-m owner"]`) {
		t.Errorf("JSON lacks ssh's doubtful sources:\n%s", b.String())
	}
	validate(t, compileSchema(t), "a report with sources in doubt", b.Bytes())
	var back Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	for _, s := range back.Sockets {
		if s.Port == 22 {
			if e := NewExposure("ipv4", s.Firewall.IPv4); e.Line(0) != "ipv4 open: everyone except 10.49.0.0/16; perhaps 10.49.0.0/16 (-m owner)" {
				t.Errorf("read back: %q", e.Line(0))
			}
		}
	}

	// the table
	cells := map[uint16]string{}
	cf := newCellFormat(TextOptions{})
	for _, s := range r.Sockets {
		cells[s.Port] = cf.cell(s.Firewall)
	}
	wantCells := map[uint16]string{
		22:   "open; conditional for 10.49.0.0/16 [1]",
		5432: "restricted: 192.0.2.10/32; conditional for everyone else [2]",
		6379: "open; conditional for 10.49.0.0/16 [3]",
	}
	for port, w := range wantCells {
		if cells[port] != w {
			t.Errorf("tcp/%d cell: %q, want %q", port, cells[port], w)
		}
	}
	if !slices.Equal(cf.notes, []string{"-m owner", "-m recent", "-m limit"}) {
		t.Errorf("notes: %q", cf.notes)
	}
	for _, s := range r.Sockets {
		if s.Port == 5432 {
			if got, want := FirewallCell(s.Firewall), "restricted: 192.0.2.10/32; conditional for everyone else: -m recent"; got != want {
				t.Errorf("tcp/5432 FirewallCell: %q, want %q", got, want)
			}
		}
	}

	// findings: redis is certainly open (high); postgres may be
	// reachable from the internet (medium)
	sev := map[uint16]Severity{}
	for _, f := range r.Findings {
		if f.ID == "exposed-sensitive-service" {
			sev[f.Port] = f.Severity
		}
	}
	if sev[6379] != High || sev[5432] != Medium || len(sev) != 2 {
		t.Errorf("exposed-sensitive-service severities: %v, want 6379 high, 5432 medium", sev)
	}
}

// TestDoubtNarrowRestrictedNoFinding: a sensitive service restricted for
// sure, with a private range in doubt, is not said to be maybe reachable
// from the internet.
func TestDoubtNarrowRestrictedNoFinding(t *testing.T) {
	const v4 = `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -s 192.0.2.0/24 -p tcp --dport 5432 -j ACCEPT
-A INPUT -s 10.49.0.0/16 -p tcp --dport 5432 -m recent --rcheck --name knock -j ACCEPT
COMMIT
`
	r := Build(Inputs{Listeners: []scan.Listener{listener("tcp", "0.0.0.0", 5432, "postgres")}, Firewall: fwFrom(t, v4, ""), Now: testTime})
	fv := r.Sockets[0].Firewall.IPv4
	if fv.Verdict != string(firewall.Restricted) || strings.Join(fv.Doubtful.Strings(), " ") != "10.49.0.0/16" {
		t.Fatalf("got %+v", fv)
	}
	for _, f := range r.Findings {
		if f.ID == "exposed-sensitive-service" {
			t.Errorf("unexpected finding %s: %s", f.ID, f.Detail)
		}
	}
}
