package report

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/scan"
)

const acceptAll = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"

// TestIncomplete: an audit is incomplete when a check is skipped for lack
// of input, never when the host has nothing to check.
func TestIncomplete(t *testing.T) {
	ls := []scan.Listener{listener("tcp", "0.0.0.0", 22, "sshd")}
	tests := []struct {
		name        string
		in          Inputs
		want        []string
		wantSkipped int
	}{
		{"both families read", Inputs{Listeners: ls, Firewall: fwFrom(t, acceptAll, acceptAll)}, []string{}, 0},
		{"IPv6 disabled on the host", Inputs{Listeners: ls, Firewall: fwFrom(t, acceptAll, ""), IPv6Disabled: true}, []string{}, 4},
		{"IPv6 rules not read", Inputs{Listeners: ls, Firewall: fwFrom(t, acceptAll, "")},
			[]string{"IPv6: rules could not be read: not provided"}, 4},
		{"IPv4 rules not read", Inputs{Listeners: ls, Firewall: fwFrom(t, "", acceptAll)},
			[]string{"IPv4: rules could not be read: not provided"}, 4},
		{"no rules read at all", Inputs{Listeners: ls, Firewall: fwFrom(t, "", "")},
			[]string{"IPv4: rules could not be read: not provided", "IPv6: rules could not be read: not provided",
				"single-firewall-backend: no rules could be read"}, 9},
		{"rules not asked for", Inputs{Listeners: ls},
			[]string{"IPv4: firewall rules were not read", "IPv6: firewall rules were not read",
				"single-firewall-backend: firewall rules were not read"}, 9},
		{"sockets not listed", Inputs{ListenersErr: "permission denied", Firewall: fwFrom(t, acceptAll, acceptAll)},
			[]string{"IPv4: sockets could not be listed: permission denied", "IPv6: sockets could not be listed: permission denied"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Now = testTime
			r := Build(tt.in)
			if !reflect.DeepEqual(r.Summary.Incomplete, tt.want) {
				t.Errorf("incomplete (-want +got):\n-%q\n+%q", tt.want, r.Summary.Incomplete)
			}
			if r.Incomplete() != (len(tt.want) > 0) {
				t.Errorf("Incomplete() = %v with reasons %q", r.Incomplete(), r.Summary.Incomplete)
			}
			skipped := 0
			for _, c := range r.Checks {
				if c.Status == Skip {
					skipped++
				}
			}
			if r.Summary.ChecksSkipped != tt.wantSkipped || skipped != tt.wantSkipped {
				t.Errorf("checks_skipped = %d (%d skip checks), want %d", r.Summary.ChecksSkipped, skipped, tt.wantSkipped)
			}
			// the JSON carries it, so a stored report says so too
			var buf bytes.Buffer
			if err := r.WriteJSON(&buf); err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Summary struct {
					ChecksSkipped *int     `json:"checks_skipped"`
					Incomplete    []string `json:"incomplete"`
				} `json:"summary"`
			}
			if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Summary.ChecksSkipped == nil || *doc.Summary.ChecksSkipped != tt.wantSkipped || doc.Summary.Incomplete == nil ||
				!reflect.DeepEqual(doc.Summary.Incomplete, tt.want) {
				t.Errorf("JSON summary = %+v", doc.Summary)
			}
			// and the table
			buf.Reset()
			if err := r.WriteTable(&buf, TextOptions{Width: 80}); err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(buf.String(), "AUDIT INCOMPLETE"); got != (len(tt.want) > 0) {
				t.Errorf("table says AUDIT INCOMPLETE: %v, want %v", got, len(tt.want) > 0)
			}
			for _, why := range tt.want {
				if !strings.Contains(buf.String(), "- "+why+"\n") {
					t.Errorf("table does not list %q", why)
				}
			}
		})
	}
}

// TestClientSockets: a client socket is judged and listed, but raises no
// finding, counts apart from public and open sockets, and does not keep an
// ACCEPT rule for its port from being stale.
func TestClientSockets(t *testing.T) {
	dig := listener("udp", "0.0.0.0", 47857, "dig")
	dig.Client = true
	server := listener("udp", "0.0.0.0", 47858, "dig") // the same, not a client
	rules := "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n" +
		"-A INPUT -p udp -m udp --dport 47857 -j ACCEPT\nCOMMIT\n"
	fw := fwFrom(t, rules, rules)
	r := Build(Inputs{Listeners: []scan.Listener{dig, server}, Firewall: fw, Now: testTime})

	var clientFindings, serverFindings []string
	for _, f := range r.Findings {
		switch f.Port {
		case 47857:
			if f.ID != "stale-rule" {
				clientFindings = append(clientFindings, f.ID)
			}
		case 47858:
			serverFindings = append(serverFindings, f.ID)
		}
	}
	if len(clientFindings) != 0 {
		t.Errorf("findings for the client socket: %v", clientFindings)
	}
	if len(serverFindings) == 0 {
		t.Errorf("no finding for the same socket when it is not a client (the test would prove nothing)")
	}
	stale := false
	for _, f := range r.Findings {
		if f.ID == "stale-rule" && f.Port == 47857 {
			stale = true
		}
	}
	if !stale {
		t.Errorf("the ACCEPT for udp 47857 is not stale: only a client socket is there; findings %v", findingKeys(r))
	}
	s := r.Summary
	if s.Sockets != 2 || s.Clients != 1 || s.Public != 1 || s.Open != 1 {
		t.Errorf("summary = %+v; want 2 sockets, 1 client, 1 public, 1 open", s)
	}
	for _, c := range r.Checks {
		if strings.HasPrefix(c.ID, "open-ports-have-rules") && strings.Contains(c.Detail, "47857") {
			t.Errorf("%s names the client socket: %s", c.ID, c.Detail)
		}
	}
	for _, so := range r.Sockets {
		if so.Port == 47857 && (!so.Client || so.Firewall == nil || so.Firewall.Verdict != "open") {
			t.Errorf("client socket = %+v, want client, judged open", so)
		}
	}
}

func TestServiceCell(t *testing.T) {
	tests := []struct {
		name string
		s    Socket
		want string
	}{
		{"by process", Socket{Service: "ssh", ServiceBy: scan.ServiceByProcess}, "ssh"},
		{"by port", Socket{Service: "ssh", ServiceBy: scan.ServiceByPort}, "ssh?"},
		{"unknown", Socket{}, "-"},
		{"client", Socket{Client: true}, "(client)"},
		{"named client", Socket{Service: "dhcp-client", ServiceBy: scan.ServiceByProcess, Client: true}, "dhcp-client (client)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ServiceCell(tt.s); got != tt.want {
				t.Errorf("ServiceCell = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestSSHBlockedNeedsSSH: "sshd listens but nobody can reach it" is about
// an ssh server; python3 on 22 is ssh only by its port.
func TestSSHBlockedNeedsSSH(t *testing.T) {
	drop := "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"
	tests := []struct {
		name, process, by string
		want              bool
	}{
		{"sshd", "sshd", scan.ServiceByProcess, true},
		{"owner unknown: the port is all there is", "", scan.ServiceByPort, true},
		{"python3", "python3", scan.ServiceByPort, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := listener("tcp", "0.0.0.0", 22, tt.process)
			l.Service, l.ServiceBy = "ssh", tt.by
			r := Build(Inputs{Listeners: []scan.Listener{l}, Firewall: fwFrom(t, drop, drop), Now: testTime})
			got := false
			for _, f := range r.Findings {
				if f.ID == "ssh-blocked" {
					got = true
				}
			}
			if got != tt.want {
				t.Errorf("ssh-blocked raised: %v, want %v (findings %v)", got, tt.want, findingKeys(r))
			}
		})
	}
}

// TestAnalysisCutShort: when the shadowed-rule analysis stops at its
// bound, the audit says so in Summary.Incomplete and reports no finding
// for the rule where it stopped; with its full bound it finds the shadowed
// rule.
func TestAnalysisCutShort(t *testing.T) {
	rules := "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n" +
		"-A INPUT ! -i eth1 -j ACCEPT\n" +
		"-A INPUT -m conntrack ! --ctstate ESTABLISHED -j ACCEPT\n" +
		"-A INPUT ! -p udp -j ACCEPT\n" +
		"-A INPUT -p udp -j ACCEPT\n" +
		"-A INPUT -p udp --dport 53 -j ACCEPT\n" +
		"COMMIT\n"
	ls := []scan.Listener{listener("tcp", "0.0.0.0", 22, "sshd")}
	build := func() *Report {
		return Build(Inputs{Listeners: ls, Firewall: fwFrom(t, rules, acceptAll), Now: testTime})
	}
	shadowed := func(r *Report) int {
		n := 0
		for _, f := range r.Findings {
			if f.ID == "shadowed-rule" {
				n++
			}
		}
		return n
	}
	full := build()
	if shadowed(full) == 0 || len(full.Summary.Incomplete) != 0 {
		t.Fatalf("full analysis: %d shadowed-rule findings, incomplete %q; want the last rule shadowed, complete", shadowed(full), full.Summary.Incomplete)
	}
	defer func(w int) { firewall.AnalysisWork = w }(firewall.AnalysisWork)
	firewall.AnalysisWork = 1
	cut := build()
	if shadowed(cut) != 0 {
		t.Errorf("cut short: %d shadowed-rule findings, want none", shadowed(cut))
	}
	want := "IPv4: the shadowed-rule analysis of"
	if len(cut.Summary.Incomplete) != 1 || !strings.HasPrefix(cut.Summary.Incomplete[0], want) {
		t.Errorf("cut short: incomplete %q, want one reason starting %q", cut.Summary.Incomplete, want)
	}
}
