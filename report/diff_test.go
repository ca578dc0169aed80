package report

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

func TestNewDiff(t *testing.T) {
	read := func(week, host string) *Report {
		in := readInput(t, filepath.Join(fleetDir, week, host+".json"))
		if in.Err != nil {
			t.Fatal(in.Err)
		}
		return in.Report
	}
	t.Run("mail: nginx stopped, a rule deleted, a rule inserted", func(t *testing.T) {
		d := NewDiff("a", read("week1", "mail"), "b", read("week2", "mail"))
		if !d.Changed {
			t.Fatal("no change")
		}
		// mail-week2.rules.v4 line 11 drops 203.0.113.0/24 above the accepts
		var got []string
		for _, p := range d.Ports {
			got = append(got, fmt.Sprintf("%s/%d %s %s %s %s->%s -%s", p.Proto, p.Port, p.Family, p.Address, p.Service, p.Old, p.New, strings.Join(p.Removed, ",")))
		}
		want := "tcp/22 ipv4 0.0.0.0 ssh open->open -203.0.113.0/24\n" +
			"tcp/80 ipv4 0.0.0.0 http open->absent -0.0.0.0/2,64.0.0.0/3,96.0.0.0/4,112.0.0.0/5,120.0.0.0/6,124.0.0.0/7,126.0.0.0/8,128.0.0.0/1"
		if strings.Join(got, "\n") != want {
			t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
		}
		if len(d.NewFindings) != 1 || d.NewFindings[0].Port != 80 || len(d.Resolved) != 1 || d.Resolved[0].Port != 110 {
			t.Errorf("new %+v, resolved %+v; want stale-rule 80 new, 110 resolved", d.NewFindings, d.Resolved)
		}
	})
	t.Run("web: a drop of 203.0.113.0/24 inserted above", func(t *testing.T) {
		// the findings only moved, but IPv4 ssh, http and https no longer
		// admit 203.0.113.0/24 (web-week2.nft line 14): a narrowing
		d := NewDiff("a", read("week1", "web"), "b", read("week2", "web"))
		if len(d.NewFindings)+len(d.Resolved) != 0 {
			t.Errorf("findings changed: %+v %+v", d.NewFindings, d.Resolved)
		}
		var got []string
		for _, p := range d.Ports {
			got = append(got, fmt.Sprintf("%s/%d %s %s %s -%s", p.Proto, p.Port, p.Family, p.Address, p.Change, strings.Join(p.Removed, ",")))
		}
		want := "tcp/22 ipv4 0.0.0.0 narrowed -203.0.113.0/24\ntcp/80 ipv4 :: narrowed -203.0.113.0/24\ntcp/443 ipv4 :: narrowed -203.0.113.0/24"
		if strings.Join(got, "\n") != want || !d.Changed {
			t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
		}
	})
	t.Run("the same report", func(t *testing.T) {
		d := NewDiff("a", read("week1", "web"), "b", read("week1", "web"))
		if d.Changed || len(d.Ports)+len(d.NewFindings)+len(d.Resolved) != 0 {
			t.Errorf("changed: %+v", d)
		}
		var b bytes.Buffer
		if err := d.WriteTable(&b); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), "no change") {
			t.Errorf("table:\n%s", b.String())
		}
	})
	t.Run("a verdict changes", func(t *testing.T) {
		old := read("week1", "web")
		cur := read("week1", "web")
		var port uint16
		for i, s := range cur.Sockets {
			if s.Firewall != nil && s.Firewall.Verdict != "open" && s.Exposure == "public" {
				cur.Sockets[i].Firewall = &SocketFirewall{Verdict: "open", IPv4: &FamilyVerdict{Verdict: "open"}}
				port = s.Port
				break
			}
		}
		if port == 0 {
			t.Fatal("no filtered public socket in week1/web.json")
		}
		d := NewDiff("a", old, "b", cur)
		if len(d.Ports) != 1 || d.Ports[0].Port != port || d.Ports[0].New != "open" || d.Ports[0].Old == "open" {
			t.Errorf("ports = %+v, want %d now open", d.Ports, port)
		}
	})
}

// exposureReport is a report of one host whose sockets are given, each
// with its per-family verdicts.
func exposureReport(socks ...Socket) *Report {
	return &Report{Host: Host{Hostname: "db1"}, GeneratedAt: "2026-11-24T10:00:00Z", Sockets: socks, Findings: []Finding{}}
}

func sock(proto string, port uint16, addr string, v4, v6 *FamilyVerdict) Socket {
	s := Socket{Proto: proto, Port: port, Address: addr, Family: "ipv4", Service: "postgresql"}
	if strings.Contains(addr, ":") {
		s.Family = "ipv6"
		s.DualStack = v4 != nil
	}
	s.Firewall = &SocketFirewall{IPv4: v4, IPv6: v6}
	s.Firewall.Verdict = string(Overall(v4, v6))
	return s
}

func fv(verdict string, sources, except []string) *FamilyVerdict {
	return &FamilyVerdict{Verdict: verdict, Sources: textPrefixes(sources), Except: textPrefixes(except)}
}

// TestExposureChanges holds each kind of change: any change of who can
// reach a socket, in either direction and in one family only, is a change,
// with the sources added and removed.
func TestExposureChanges(t *testing.T) {
	restricted16 := sock("tcp", 5432, "0.0.0.0", fv("restricted", []string{"10.20.0.0/16"}, nil), nil)
	tests := []struct {
		name     string
		old, cur Socket
		want     []string // one "family old->new change +added -removed ?+doubt ?-doubt" per change
	}{
		{"same sources written differently", restricted16,
			sock("tcp", 5432, "0.0.0.0", fv("restricted", []string{"10.20.0.0/17", "10.20.128.0/17"}, nil), nil), nil},
		{"widened: restricted to half the internet", restricted16,
			sock("tcp", 5432, "0.0.0.0", fv("restricted", []string{"0.0.0.0/1"}, nil), nil),
			[]string{"ipv4 restricted->restricted widened +0.0.0.0/5,8.0.0.0/7,10.0.0.0/12,10.16.0.0/14,10.21.0.0/16,10.22.0.0/15,10.24.0.0/13,10.32.0.0/11,10.64.0.0/10,10.128.0.0/9,11.0.0.0/8,12.0.0.0/6,16.0.0.0/4,32.0.0.0/3,64.0.0.0/2 - ?+ ?-"}},
		{"narrowed", sock("tcp", 5432, "0.0.0.0", fv("restricted", []string{"10.0.0.0/8"}, nil), nil), restricted16,
			[]string{"ipv4 restricted->restricted narrowed + -10.0.0.0/12,10.16.0.0/14,10.21.0.0/16,10.22.0.0/15,10.24.0.0/13,10.32.0.0/11,10.64.0.0/10,10.128.0.0/9 ?+ ?-"}},
		{"moved: widened and narrowed", restricted16,
			sock("tcp", 5432, "0.0.0.0", fv("restricted", []string{"192.168.0.0/16"}, nil), nil),
			[]string{"ipv4 restricted->restricted widened and narrowed +192.168.0.0/16 -10.20.0.0/16 ?+ ?-"}},
		{"blocked to open", sock("tcp", 5432, "0.0.0.0", fv("blocked", nil, nil), nil),
			sock("tcp", 5432, "0.0.0.0", fv("open", nil, nil), nil),
			[]string{"ipv4 blocked->open widened +0.0.0.0/0 - ?+ ?-"}},
		{"open to blocked", sock("tcp", 5432, "0.0.0.0", fv("open", nil, nil), nil),
			sock("tcp", 5432, "0.0.0.0", fv("blocked", nil, nil), nil),
			[]string{"ipv4 open->blocked narrowed + -0.0.0.0/0 ?+ ?-"}},
		{"except list changed", sock("tcp", 5432, "0.0.0.0", fv("open", nil, []string{"10.0.0.0/8"}), nil),
			sock("tcp", 5432, "0.0.0.0", fv("open", nil, []string{"192.168.0.0/16"}), nil),
			[]string{"ipv4 open->open widened and narrowed +10.0.0.0/8 -192.168.0.0/16 ?+ ?-"}},
		{"except list grew", sock("tcp", 5432, "0.0.0.0", fv("open", nil, []string{"10.0.0.0/8"}), nil),
			sock("tcp", 5432, "0.0.0.0", fv("open", nil, []string{"10.0.0.0/8", "192.168.0.0/16"}), nil),
			[]string{"ipv4 open->open narrowed + -192.168.0.0/16 ?+ ?-"}},
		{"family only: dual stack, IPv4 opened", sock("tcp", 443, "::", fv("blocked", nil, nil), fv("blocked", nil, nil)),
			sock("tcp", 443, "::", fv("open", nil, nil), fv("blocked", nil, nil)),
			[]string{"ipv4 blocked->open widened +0.0.0.0/0 - ?+ ?-"}},
		{"family only: IPv6 narrowed", sock("tcp", 443, "::", fv("open", nil, nil), fv("open", nil, nil)),
			sock("tcp", 443, "::", fv("open", nil, nil), fv("restricted", []string{"8000::/1"}, nil)),
			[]string{"ipv6 open->restricted narrowed + -::/1 ?+ ?-"}},
		{"blocked to conditional", sock("tcp", 5432, "0.0.0.0", fv("blocked", nil, nil), nil),
			sock("tcp", 5432, "0.0.0.0", &FamilyVerdict{Verdict: "conditional", Sources: textPrefixes([]string{"10.0.0.0/8"}), Reasons: []string{"-m recent"}}, nil),
			[]string{"ipv4 blocked->conditional widened + - ?+10.0.0.0/8 ?-"}},
		{"conditional to open", sock("tcp", 5432, "0.0.0.0", &FamilyVerdict{Verdict: "conditional", Sources: textPrefixes([]string{"0.0.0.0/0"}), Reasons: []string{"-m recent"}}, nil),
			sock("tcp", 5432, "0.0.0.0", fv("open", nil, nil), nil),
			[]string{"ipv4 conditional->open widened +0.0.0.0/0 - ?+ ?-0.0.0.0/0"}},
		{"restricted to another interface", sock("tcp", 5432, "0.0.0.0", &FamilyVerdict{Verdict: "restricted", Interfaces: []string{"eth1"}}, nil),
			sock("tcp", 5432, "0.0.0.0", &FamilyVerdict{Verdict: "restricted", Interfaces: []string{"eth0", "eth1"}}, nil),
			[]string{"ipv4 restricted->restricted widened + - ?+ ?-"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDiff("a", exposureReport(tc.old), "b", exposureReport(tc.cur))
			var got []string
			for _, p := range d.Ports {
				got = append(got, fmt.Sprintf("%s %s->%s %s +%s -%s ?+%s ?-%s", p.Family, p.Old, p.New, p.Change,
					strings.Join(p.Added, ","), strings.Join(p.Removed, ","), strings.Join(p.DoubtAdded, ","), strings.Join(p.DoubtRemoved, ",")))
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if d.Changed != (len(tc.want) > 0) {
				t.Errorf("Changed = %v", d.Changed)
			}
			if len(tc.want) == 0 {
				return
			}
			// the table names the family and the sources
			var b bytes.Buffer
			if err := d.WriteTable(&b); err != nil {
				t.Fatal(err)
			}
			p := d.Ports[0]
			for _, want := range append([]string{p.Family}, strings.Fields(p.Change)...) {
				if !strings.Contains(b.String(), want) {
					t.Errorf("table has no %q:\n%s", want, b.String())
				}
			}
			for _, want := range []string{"was: " + p.was.Who(3), "now: " + p.now.Who(3)} {
				if !strings.Contains(b.String(), want) {
					t.Errorf("table has no %q:\n%s", want, b.String())
				}
			}
		})
	}
}

// Two processes on one port are one exposure: what either admits.
func TestExposureMerge(t *testing.T) {
	a := sock("tcp", 5432, "0.0.0.0", &FamilyVerdict{Verdict: "restricted", Sources: textPrefixes([]string{"10.0.0.0/8"}), Interfaces: []string{"eth1"}}, nil)
	b := sock("tcp", 5432, "0.0.0.0", &FamilyVerdict{Verdict: "conditional", Sources: textPrefixes([]string{"10.0.0.0/7"}), Reasons: []string{"-m recent"}}, nil)
	e := Exposures(exposureReport(a, b))[ExposureKey{Proto: "tcp", Family: "ipv4", Address: "0.0.0.0", Port: 5432}]
	if got := e.Who(0); e.Verdict != "conditional" || got != "10.0.0.0/8 on eth1; perhaps 11.0.0.0/8 (-m recent)" {
		t.Errorf("merged: %s %q", e.Verdict, got)
	}
}
