package report

import (
	"bytes"
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
		want := []PortChange{{Proto: "tcp", Family: "ipv4", Address: "0.0.0.0", Port: 80, Service: "http", Old: "open", New: Absent}}
		if len(d.Ports) != 1 || d.Ports[0] != want[0] {
			t.Errorf("ports = %+v, want %+v", d.Ports, want)
		}
		if len(d.NewFindings) != 1 || d.NewFindings[0].Port != 80 || len(d.Resolved) != 1 || d.Resolved[0].Port != 110 {
			t.Errorf("new %+v, resolved %+v; want stale-rule 80 new, 110 resolved", d.NewFindings, d.Resolved)
		}
	})
	t.Run("web: a rule inserted above", func(t *testing.T) {
		d := NewDiff("a", read("week1", "web"), "b", read("week2", "web"))
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
				cur.Sockets[i].Firewall = &SocketFirewall{Verdict: "open"}
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
