package firewall

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// files is a set of named inputs for Sources.Open, as the command line
// names them.
type files map[string]string

func (f files) open(name string) (io.ReadCloser, string, error) {
	s, ok := f[name]
	if !ok {
		return nil, "", errors.New("reading " + name + ": " + fs.ErrNotExist.Error())
	}
	return io.NopCloser(strings.NewReader(s)), name, nil
}

const sshOnly = `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp --dport 22 -j ACCEPT
-A INPUT -s 10.0.0.0/8 -p tcp --dport 5432 -j ACCEPT
COMMIT
`

func TestLoadFiles(t *testing.T) {
	in := files{
		"rules.v4":   sshOnly,
		"frag.v4":    "*filter\n-A INPUT -p tcp --dport 80 -j ACCEPT\nCOMMIT\n",
		"empty.v6":   "",
		"strange.v4": "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 22 -m frobnicate\x1b[31m -j ACCEPT\nCOMMIT\n",
	}
	for _, c := range []struct {
		name     string
		src      Sources
		why4     string
		why6     string
		unseen4  []string
		warnings []string
	}{
		{name: "both files", src: Sources{Rules: "rules.v4", Rules6: "empty.v6", Offline: true},
			warnings: []string{"empty.v6 holds no rules (no *table section): read as a host without ipv6 rules, where every port is open"}},
		{name: "offline without rules6", src: Sources{Rules: "rules.v4", Offline: true},
			why6: "ipv6 rules not provided (--offline without --rules6)"},
		{name: "offline without any", src: Sources{Offline: true},
			why4: "ipv4 rules not provided (--offline without --rules)", why6: "ipv6 rules not provided (--offline without --rules6)"},
		{name: "restore fragment", src: Sources{Rules: "frag.v4", Offline: true},
			why6:     "ipv6 rules not provided (--offline without --rules6)",
			unseen4:  []string{"frag.v4 is a restore fragment: the policy of filter INPUT is not in it"},
			warnings: []string{"frag.v4 is a restore fragment: it sets no policy for filter INPUT, which stays as the host has it; verdicts that accept someone are conditional"}},
		{name: "option not understood", src: Sources{Rules: "strange.v4", Offline: true},
			why6:     "ipv6 rules not provided (--offline without --rules6)",
			warnings: []string{`strange.v4 line 3: not understood: "-m frobnicate\x1b[31m" (verdicts that depend on this rule are conditional)`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.src.Open = in.open
			l, warnings, err := Load(context.Background(), c.src, Host{})
			if err != nil {
				t.Fatal(err)
			}
			if l.V4.Why != c.why4 || l.V6.Why != c.why6 {
				t.Errorf("why: got %q, %q; want %q, %q", l.V4.Why, l.V6.Why, c.why4, c.why6)
			}
			if l.Known(IPv4) != (c.why4 == "") || l.Known(IPv6) != (c.why6 == "") {
				t.Errorf("known: got %v, %v", l.Known(IPv4), l.Known(IPv6))
			}
			if !reflect.DeepEqual(l.V4.Unseen, c.unseen4) {
				t.Errorf("unseen: got %q, want %q", l.V4.Unseen, c.unseen4)
			}
			if !reflect.DeepEqual(warnings, c.warnings) {
				t.Errorf("warnings:\n got %q\nwant %q", warnings, c.warnings)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		_, _, err := Load(context.Background(), Sources{Rules: "nope.v4", Offline: true, Open: in.open}, Host{})
		if err == nil || err.Error() != "reading nope.v4: file does not exist" {
			t.Errorf("got %v, want the opener's error", err)
		}
	})
	t.Run("parse error names file and line", func(t *testing.T) {
		bad := files{"bad.v4": "*filter\n-A INPUT -p tcp -m comment --comment \"open -j ACCEPT\n"}
		_, _, err := Load(context.Background(), Sources{Rules: "bad.v4", Offline: true, Open: bad.open}, Host{})
		if err == nil || !strings.Contains(err.Error(), "bad.v4") || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("got %v, want an error naming bad.v4 line 2", err)
		}
	})
}

func TestReadsLive(t *testing.T) {
	for _, c := range []struct {
		src  Sources
		want bool
	}{
		{Sources{}, true},
		{Sources{Rules: "a"}, true},
		{Sources{Rules: "a", Rules6: "b"}, false},
		{Sources{Nft: "n"}, false},
		{Sources{Offline: true}, false},
	} {
		if got := c.src.ReadsLive(); got != c.want {
			t.Errorf("%+v: ReadsLive = %v, want %v", c.src, got, c.want)
		}
	}
}

func TestJudge(t *testing.T) {
	rs, err := ParseSave(strings.NewReader(sshOnly), "rules.v4", IPv4)
	if err != nil {
		t.Fatal(err)
	}
	l := &Loaded{V4: FamilyRules{Sets: []*Ruleset{rs}}, V6: FamilyRules{Why: "ipv6 rules not provided"},
		Host: Host{Interfaces: []string{"eth0", "eth1"}}}
	a := netip.MustParseAddr
	for _, c := range []struct {
		name    string
		fam     Family
		s       Socket
		verdict Verdict
		ifaces  []string
		known   bool
	}{
		{"ssh on the wildcard", IPv4, Socket{Proto: "tcp", Addr: a("0.0.0.0"), Port: 22}, Open, nil, true},
		{"ssh, IPv4 side of dual stack", IPv4, Socket{Proto: "tcp", Addr: a("::"), Port: 22}, Open, nil, true},
		{"ssh bound to eth1", IPv4, Socket{Proto: "tcp", Addr: a("0.0.0.0"), Port: 22, Device: "eth1"}, Restricted, []string{"eth1"}, true},
		{"postgres from 10/8", IPv4, Socket{Proto: "tcp", Addr: a("0.0.0.0"), Port: 5432}, Restricted, nil, true},
		{"closed port", IPv4, Socket{Proto: "tcp", Addr: a("0.0.0.0"), Port: 80}, Blocked, nil, true},
		{"loopback bind", IPv4, Socket{Proto: "tcp", Addr: a("127.0.0.1"), Port: 22, Local: true}, NotApplicable, nil, true},
		{"bound to lo", IPv4, Socket{Proto: "tcp", Addr: a("0.0.0.0"), Port: 22, Device: "lo", Local: true}, NotApplicable, nil, true},
		{"rules unknown", IPv6, Socket{Proto: "tcp", Addr: a("::"), Port: 22}, Unknown, nil, false},
		{"loopback, rules unknown", IPv6, Socket{Proto: "tcp", Addr: a("::1"), Port: 22, Local: true}, NotApplicable, nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, known := l.Judge(c.fam, c.s)
			if r.Verdict != c.verdict || known != c.known {
				t.Fatalf("got %s (known %v), want %s (known %v): %+v", r.Verdict, known, c.verdict, c.known, r)
			}
			if c.ifaces != nil && !reflect.DeepEqual(r.Interfaces, c.ifaces) {
				t.Errorf("interfaces %q, want %q", r.Interfaces, c.ifaces)
			}
			if c.verdict == Unknown && !reflect.DeepEqual(r.Reasons, []string{"ipv6 rules not provided"}) {
				t.Errorf("reasons %q, want why the rules are unknown", r.Reasons)
			}
		})
	}
	t.Run("each", func(t *testing.T) {
		s := Socket{Proto: "tcp", Addr: a("0.0.0.0"), Port: 22}
		if each := l.Each(IPv4, s); len(each) != 2 {
			t.Errorf("Each: %d interfaces, want eth0 and eth1: %+v", len(each), each)
		}
		s.Device = "eth0"
		if each := l.Each(IPv4, s); each != nil {
			t.Errorf("Each of a device-bound socket: %+v, want nil", each)
		}
		if each := l.Each(IPv6, s); each != nil {
			t.Errorf("Each with unknown rules: %+v, want nil", each)
		}
	})
	t.Run("evaluators built once", func(t *testing.T) {
		if l.Evaluator(IPv4, "") != l.Evaluator(IPv4, "lo") || l.Evaluator(IPv4, "eth0") != l.Evaluator(IPv4, "eth0") {
			t.Error("an evaluator was built twice")
		}
		if l.Evaluator(IPv4, "eth0") == l.Evaluator(IPv4, "") {
			t.Error("a device-bound socket shares the host's evaluator")
		}
	})
	t.Run("with", func(t *testing.T) {
		l := &Loaded{V4: FamilyRules{Sets: []*Ruleset{rs}, Unseen: []string{"native nftables table inet f not evaluated"}}, Host: Host{Interfaces: []string{"eth0"}}}
		open, err := ParseSave(strings.NewReader("*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n"), "open.v4", IPv4)
		if err != nil {
			t.Fatal(err)
		}
		w := l.With(IPv4, []*Ruleset{open})
		if !reflect.DeepEqual(w.HostOf(IPv4), l.HostOf(IPv4)) || w.Known(IPv6) {
			t.Errorf("With: host %+v, IPv6 known %v; want today's host with its unseen tables, IPv6 not loaded", w.HostOf(IPv4), w.Known(IPv6))
		}
		// accepted, but an unseen table may still drop it
		if r, _ := w.Judge(IPv4, Socket{Proto: "tcp", Addr: a("0.0.0.0"), Port: 80}); r.Verdict != Conditional {
			t.Errorf("port 80 with the new rules: %s, want conditional on the unseen table", r.Verdict)
		}
	})
}
