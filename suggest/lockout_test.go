package suggest

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/fwaudit/fwaudit/scan"
)

func TestParseSSHConnection(t *testing.T) {
	for _, c := range []struct {
		in, client, server, err string
	}{
		{in: "198.51.100.7 50022 192.0.2.1 22", client: "198.51.100.7:50022", server: "192.0.2.1:22"},
		{in: "2001:db8::7 50022 2001:db8::1 5622", client: "[2001:db8::7]:50022", server: "[2001:db8::1]:5622"},
		{in: "::ffff:198.51.100.7 50022 ::ffff:192.0.2.1 22", client: "198.51.100.7:50022", server: "192.0.2.1:22"},
		{in: "fe80::7%eth0 50022 fe80::1%eth0 22", client: "[fe80::7]:50022", server: "[fe80::1]:22"},
		{in: "198.51.100.7 50022 192.0.2.1", err: "want 4 fields"},
		{in: "198.51.100.x 50022 192.0.2.1 22", err: `bad address "198.51.100.x"`},
		{in: "198.51.100.7 50022 192.0.2.1 70000", err: `bad port "70000"`},
	} {
		t.Run(c.in, func(t *testing.T) {
			s, err := ParseSSHConnection(c.in)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error = %v, want one containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Client.String() != c.client || s.Server.String() != c.server || s.From != "$SSH_CONNECTION" {
				t.Errorf("got %s -> %s (%s), want %s -> %s", s.Client, s.Server, s.From, c.client, c.server)
			}
		})
	}
}

func TestSessions(t *testing.T) {
	ap := netip.MustParseAddrPort
	conns := []scan.Conn{
		{Local: ap("192.0.2.1:22"), Remote: ap("198.51.100.7:40000"), PID: 900, Process: "sshd"},
		{Local: ap("[::ffff:192.0.2.1]:22"), Remote: ap("[::ffff:198.51.100.8]:40001"), PID: 901, Process: "sshd"},
		{Local: ap("192.0.2.1:22"), Remote: ap("198.51.100.9:40002")},                               // owner unknown, ssh port
		{Local: ap("192.0.2.1:41000"), Remote: ap("203.0.113.5:22"), PID: 902, Process: "sshd"},     // sshd's outgoing forwarding
		{Local: ap("192.0.2.1:443"), Remote: ap("198.51.100.10:40003"), PID: 903, Process: "nginx"}, // not ssh
		{Local: ap("192.0.2.1:22"), Remote: ap("198.51.100.7:40000"), PID: 904, Process: "sshd"},    // duplicate
	}
	got, err := Sessions("198.51.100.1 50000 192.0.2.1 22", conns, freshHost)
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, x := range got {
		s = append(s, x.Client.String()+">"+x.Server.String()+" "+x.From)
	}
	want := []string{
		"198.51.100.1:50000>192.0.2.1:22 $SSH_CONNECTION",
		"198.51.100.7:40000>192.0.2.1:22 sshd pid 900",
		"198.51.100.8:40001>192.0.2.1:22 sshd pid 901",
		"198.51.100.9:40002>192.0.2.1:22 an established connection",
	}
	if strings.Join(s, "\n") != strings.Join(want, "\n") {
		t.Errorf("Sessions (-want +got):\n-%s\n+%s", strings.Join(want, "\n-"), strings.Join(s, "\n+"))
	}
	if _, err := Sessions("garbage", nil, nil); err == nil {
		t.Errorf("Sessions accepted a malformed $SSH_CONNECTION")
	}
}

// TestCheckLockout decides, with our own evaluator, a NEW connection from
// each session's client to its server port.
func TestCheckLockout(t *testing.T) {
	sess := func(client, server string) Session {
		return Session{Client: netip.MustParseAddrPort(client), Server: netip.MustParseAddrPort(server), From: "$SSH_CONNECTION"}
	}
	for _, c := range []struct {
		name      string
		listeners []scan.Listener
		opts      func(testing.TB) Options
		sessions  []Session
		err       string // "" when the policy keeps every session
	}{
		{name: "open ssh keeps everyone", listeners: freshHost,
			sessions: []Session{sess("198.51.100.7:50000", "192.0.2.1:22"), sess("[2001:db8::7]:50000", "[2001:db8::1]:22")}},
		{name: "ssh-from excludes the v4 client", listeners: freshHost,
			opts:     func(t testing.TB) Options { return Options{SSHFrom: mustPrefixes(t, "192.0.2.0/24")} },
			sessions: []Session{sess("198.51.100.7:50000", "192.0.2.1:22")},
			err:      "refusing: the ruleset would cut the SSH session from 198.51.100.7 to port 22 ($SSH_CONNECTION): --ssh-from does not include 198.51.100.7; add it or pass --force"},
		{name: "ssh-from includes the client", listeners: freshHost,
			opts:     func(t testing.TB) Options { return Options{SSHFrom: mustPrefixes(t, "198.51.100.0/24")} },
			sessions: []Session{sess("198.51.100.7:50000", "192.0.2.1:22")}},
		{name: "ssh-from of one family keeps the other as today", listeners: freshHost,
			opts:     func(t testing.TB) Options { return Options{SSHFrom: mustPrefixes(t, "198.51.100.0/24")} },
			sessions: []Session{sess("198.51.100.7:50000", "192.0.2.1:22"), sess("[2001:db8::7]:50000", "[2001:db8::1]:22")}},
		{name: "ssh blocked over ipv6 today, a session over ipv6 all the same", listeners: freshHost,
			opts: func(t testing.TB) Options {
				return Options{SSHFrom: mustPrefixes(t, "198.51.100.0/24"), Current: currentOf(t, acceptAll, dropAll)}
			},
			sessions: []Session{sess("198.51.100.7:50000", "192.0.2.1:22"), sess("[2001:db8::7]:50000", "[2001:db8::1]:22")},
			err:      "from 2001:db8::7 to port 22 ($SSH_CONNECTION): no rule allows tcp port 22 over ipv6"},
		{name: "session on a port sshd does not listen on", listeners: mailHost,
			sessions: []Session{sess("198.51.100.7:50000", "192.0.2.1:22")},
			err:      "no rule allows tcp port 22 over ipv4"},
		{name: "session on the moved port", listeners: mailHost,
			sessions: []Session{sess("198.51.100.7:50000", "192.0.2.1:5622")}},
		{name: "specific bind, session to another address", listeners: []scan.Listener{lst("tcp", "192.0.2.1", 22, "sshd", false)},
			sessions: []Session{sess("198.51.100.7:50000", "192.0.2.99:22")},
			err:      "port 22 is only opened on 192.0.2.1, the session is to 192.0.2.99"},
		{name: "loopback sessions need nothing", listeners: freshHost,
			opts:     func(t testing.TB) Options { return Options{SSHFrom: mustPrefixes(t, "192.0.2.0/24")} },
			sessions: []Session{sess("127.0.0.1:50000", "127.0.0.1:22")}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var opts Options
			if c.opts != nil {
				opts = c.opts(t)
			}
			p, _, err := Build(c.listeners, opts)
			if err != nil {
				t.Fatal(err)
			}
			err = CheckLockout(p, c.sessions, nil, "iptables")
			if c.err == "" {
				if err != nil {
					t.Fatalf("CheckLockout: %v, want nil", err)
				}
				return
			}
			var le *LockoutError
			if !errors.As(err, &le) {
				t.Fatalf("CheckLockout = %v, want a *LockoutError", err)
			}
			if !strings.Contains(err.Error(), c.err) {
				t.Errorf("CheckLockout = %q, want it to contain %q", err, c.err)
			}
		})
	}
}
