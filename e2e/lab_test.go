//go:build linux

package e2e

import (
	"os"
	"strings"
	"testing"
)

// TestLab checks the harness itself against the kernel: listeners come up
// under their daemon names, probes see accepts, drops and rejects, held
// connections survive, and counters name the deciding rule.
func TestLab(t *testing.T) {
	t.Parallel()
	lab := NewLab(t)
	p := lab.Start(lab.Host, "sshd", "tcp:0.0.0.0:22", "tcp6only:[::]:22", "udp:[::]:53", "tcp:[::]:8080")
	if p.PID <= 0 {
		t.Fatalf("pid %d", p.PID)
	}
	lab.LoadIptables(`*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -s 192.0.2.3/32 -p tcp -m tcp --dport 22 -j DROP
-A INPUT -p tcp -m tcp --dport 8080 -j REJECT --reject-with tcp-reset
COMMIT
`)
	reqs := []ProbeReq{
		{"tcp", "192.0.2.2", "192.0.2.1", 22},
		{"tcp", "192.0.2.3", "192.0.2.1", 22},
		{"tcp", "2001:db8::3", "2001:db8::1", 22},
		{"udp", "192.0.2.2", "192.0.2.1", 53},
		{"udp", "2001:db8::2", "2001:db8::1", 53},
		{"tcp", "192.0.2.2", "192.0.2.1", 8080},
		{"tcp", "2001:db8::2", "2001:db8::1", 8080},
		{"tcp", "192.0.2.2", "192.0.2.1", 23}, // nothing listens
	}
	want := []string{"ok", "fail timeout", "ok", "ok", "ok", "fail refused", "ok", "fail refused"}
	for i, r := range lab.ProbeAll(reqs) {
		if r.Detail != want[i] {
			t.Errorf("%v: got %q, want %q", reqs[i], r.Detail, want[i])
		}
	}

	h := lab.Hold("192.0.2.2", "192.0.2.1", 22)
	if !h.Alive() {
		t.Errorf("held connection to port 22 not alive")
	}
	h.Close()

	t.Run("counters", func(t *testing.T) {
		defer lab.Use(t)()
		for _, c := range []struct {
			req     ProbeReq
			verdict string
			rule    string
		}{
			{ProbeReq{"tcp", "192.0.2.3", "192.0.2.1", 22}, "drop", "-A INPUT -s 192.0.2.3/32 -p tcp -m tcp --dport 22 -j DROP"},
			{ProbeReq{"tcp", "192.0.2.2", "192.0.2.1", 22}, "accept", "-P INPUT ACCEPT"},
			{ProbeReq{"tcp", "192.0.2.2", "192.0.2.1", 8080}, "drop", "-A INPUT -p tcp -m tcp --dport 8080 -j REJECT --reject-with tcp-reset"},
			{ProbeReq{"udp", "192.0.2.2", "192.0.2.1", 53}, "accept", "-P INPUT ACCEPT"},
		} {
			d, _, err := lab.Decide("iptables-save", c.req)
			if err != nil {
				t.Errorf("%v: %v", c.req, err)
				continue
			}
			if d.Verdict != c.verdict || d.Rule != c.rule {
				t.Errorf("%v: kernel walk ended %s at %q, want %s at %q", c.req, d.Verdict, d.Rule, c.verdict, c.rule)
			}
		}
	})
}

// TestUfwIsolated checks that ufw in a lab never writes the host's files.
func TestUfwIsolated(t *testing.T) {
	t.Parallel()
	lab := NewLab(t)
	before, err := os.ReadFile("/etc/ufw/user.rules")
	if err != nil {
		t.Skipf("ufw not installed: %v", err)
	}
	lab.Ufw("allow", "4242/tcp")
	out := lab.Host.Run("iptables-save")
	if strings.Contains(out, "4242") {
		t.Errorf("ufw allow without enable loaded rules:\n%s", out)
	}
	after, _ := os.ReadFile("/etc/ufw/user.rules")
	if string(before) != string(after) {
		t.Errorf("host /etc/ufw/user.rules changed")
	}
	lab.Ufw("--force", "enable")
	if out := lab.Host.Run("iptables-save"); !strings.Contains(out, "--dport 4242 -j ACCEPT") {
		t.Errorf("ufw enable did not load the rule:\n%s", out)
	}
}
