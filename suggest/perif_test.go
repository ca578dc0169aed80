package suggest

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/scan"
)

// nftCurrent parses today's native nft text, with the host's live
// interfaces.
func nftCurrent(t *testing.T, text string, ifaces ...string) *firewall.Loaded {
	t.Helper()
	n, err := firewall.ParseNftText([]byte(text), "today.nft", nil)
	if err != nil {
		t.Fatal(err)
	}
	h := firewall.Host{Interfaces: ifaces}
	return &firewall.Loaded{V4: firewall.FamilyRules{Sets: []*firewall.Ruleset{n.Family(firewall.IPv4)}},
		V6: firewall.FamilyRules{Sets: []*firewall.Ruleset{n.Family(firewall.IPv6)}}, Host: h}
}

// TestNeverWiderPerInterface: a blocklist on one of two outside
// interfaces. Pooled, the port is open (the other interface admits
// everyone), and a plain accept would let the blocked source in on the
// first one; the suggestion keeps it out there, and Build's own check
// judges every interface alone.
func TestNeverWiderPerInterface(t *testing.T) {
	ls := []scan.Listener{lst("tcp", "0.0.0.0", 22, "sshd", false), lst("tcp", "0.0.0.0", 80, "nginx", false)}
	cases := []struct {
		name string
		cur  func(t *testing.T) *firewall.Loaded
		want []string
		nft  []string // lines of the nft rendering
	}{
		{name: "iptables, eth0 and eth1",
			cur: func(t *testing.T) *firewall.Loaded {
				c := currentOf(t, rules(":INPUT DROP [0:0]", "-A INPUT -s 172.16.254.1/32 -i eth0 -j DROP",
					"-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT", "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT"), dropAll)
				c.Host = firewall.Host{Interfaces: []string{"eth0", "eth1"}}
				return c
			},
			want: []string{"ipv4 tcp/22 on eth0 except 172.16.254.1/32", "ipv4 tcp/22 on eth1",
				"ipv4 tcp/80 on eth0 except 172.16.254.1/32", "ipv4 tcp/80 on eth1"},
			nft: []string{`ip saddr 172.16.254.1/32 iifname "eth0" tcp dport { 22, 80 } drop`}},
		{name: "nft netdev ingress on eth0, wg0 beside it",
			cur: func(t *testing.T) *firewall.Loaded {
				return nftCurrent(t, `table netdev filter {
	chain ingress { type filter hook ingress device "eth0" priority -500; ip saddr 172.16.254.1 drop; }
}
table inet filter {
	chain input { type filter hook input priority 0; policy drop; tcp dport 80 accept; tcp dport 22 accept; }
}
`, "eth0", "wg0")
			},
			want: []string{"ipv4 tcp/22 on eth0 except 172.16.254.1/32", "ipv4 tcp/22 on wg0",
				"ipv4 tcp/80 on eth0 except 172.16.254.1/32", "ipv4 tcp/80 on wg0"}},
		{name: "offline: a rule naming eth0 only, any other interface",
			cur: func(t *testing.T) *firewall.Loaded {
				return currentOf(t, rules(":INPUT ACCEPT [0:0]", "-A INPUT -i eth0 -p tcp --dport 80 -j DROP",
					"-A INPUT -s 10.0.0.0/8 -p tcp -j ACCEPT", "-A INPUT -j DROP"), dropAll)
			},
			// an unnamed interface's rule is met on eth0 too: it admits
			// only what every interface admits (nothing on 80)
			want: []string{"ipv4 tcp/22 from 10.0.0.0/8"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cur := c.cur(t)
			p, _, err := Build(ls, Options{Current: cur})
			if err != nil {
				t.Fatal(err)
			}
			if got := ruleKeys(p); strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("rules (-want +got):\n-%s\n+%s", strings.Join(c.want, "\n-"), strings.Join(got, "\n+"))
			}
			out := string(render(t, p, "nft"))
			for _, w := range c.nft {
				if !strings.Contains(out, w) {
					t.Errorf("nft rendering lacks %q:\n%s", w, out)
				}
			}
			// judged apart from verify: the blocked source on eth0, before
			// and after, with Decide on the iptables rendering
			if c.name == "offline: a rule naming eth0 only, any other interface" {
				return
			}
			after, err := firewall.ParseSave(strings.NewReader(string(render(t, p, "iptables"))), "after", firewall.IPv4)
			if err != nil {
				t.Fatal(err)
			}
			evA := firewall.NewEvaluator(firewall.IPv4, []*firewall.Ruleset{after}, cur.Host)
			evB := cur.Evaluator(firewall.IPv4, "")
			for _, in := range cur.Host.Interfaces {
				for _, src := range []string{"172.16.254.1", "198.51.100.9"} {
					pk := firewall.Packet{Proto: "tcp", Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr("192.0.2.1"), SPort: 40000, DPort: 80, InIface: in}
					b, a := evB.Decide(pk).Verdict, evA.Decide(pk).Verdict
					if a == firewall.DecideAccept && b != firewall.DecideAccept {
						t.Errorf("%s on %s: %v today, %v after", src, in, b, a)
					}
				}
			}
		})
	}
}

// TestSSHBehindAKnock: ssh admitted through a set filled by an ICMP knock
// (testdata/suggest/knock.nft-j.json, as nft -j lists it after loading
// the rules below), beside a fixed source:
//
//	icmp type echo-request add @knocked { ip saddr timeout 3h } accept
//	tcp dport 22 ip saddr @knocked accept
//	tcp dport 22 ip saddr 192.0.2.10 accept
//	tcp dport 80 accept
//
// Today the answer for everyone but 192.0.2.10 is maybe; a plain accept
// would make it yes. Without --ssh-from the suggestion is refused (a usage
// error naming the flag); with it, ssh is admitted from what it names.
func TestSSHBehindAKnock(t *testing.T) {
	b, err := os.ReadFile("../testdata/suggest/knock.nft-j.json")
	if err != nil {
		t.Fatal(err)
	}
	n, err := firewall.ParseNftJSON(bytes.NewReader(b), "knock.nft-j.json")
	if err != nil {
		t.Fatal(err)
	}
	h := firewall.Host{Interfaces: []string{"eth0"}}
	cur := &firewall.Loaded{V4: firewall.FamilyRules{Sets: []*firewall.Ruleset{n.Family(firewall.IPv4)}},
		V6: firewall.FamilyRules{Sets: []*firewall.Ruleset{n.Family(firewall.IPv6)}}, Host: h}
	ls := []scan.Listener{lst("tcp", "0.0.0.0", 22, "sshd", false), lst("tcp", "0.0.0.0", 80, "nginx", false)}
	if r, _ := result(cur, ls[0], firewall.IPv4); r.Verdict != firewall.Restricted || len(r.Doubtful) == 0 {
		t.Fatalf("today's ssh over ipv4: %s, want restricted to 192.0.2.10 and the rest in doubt (the knock)", verdictText(r))
	}
	_, _, err = Build(ls, Options{Current: cur})
	var oe *OptionError
	if !errors.As(err, &oe) || !strings.Contains(err.Error(), "runtime conditions") || !strings.Contains(err.Error(), "--ssh-from") {
		t.Fatalf("Build: err %v, want a refusal naming the runtime conditions and --ssh-from", err)
	}
	p, _, err := Build(ls, Options{Current: cur, SSHFrom: mustPrefixes(t, "192.0.2.10/32")})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ipv4 tcp/22 from 192.0.2.10/32", "ipv4 tcp/80"}
	if got := ruleKeys(p); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rules (-want +got):\n-%s\n+%s", strings.Join(want, "\n-"), strings.Join(got, "\n+"))
	}
}

// TestDoubtfulSourcesLeftOut: nginx admitted by everyone, 10.49.0.0/16
// only while a rate limit lets it through: the suggestion admits the
// certain part (everyone but 10.49.0.0/16) and says what it leaves out;
// ssh with sources in doubt is refused until --ssh-from says who may
// connect.
func TestDoubtfulSourcesLeftOut(t *testing.T) {
	const v4 = `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -s 10.49.0.0/16 -m limit --limit 1/s -j DROP
-A INPUT -p tcp --dport 22 -j ACCEPT
-A INPUT -p tcp --dport 80 -j ACCEPT
COMMIT
`
	rs, err := firewall.ParseSave(strings.NewReader(v4), "rules.v4", firewall.IPv4)
	if err != nil {
		t.Fatal(err)
	}
	cur := &firewall.Loaded{V4: firewall.FamilyRules{Sets: []*firewall.Ruleset{rs}}, V6: firewall.FamilyRules{Why: "not provided"},
		Host: firewall.Host{Interfaces: []string{"eth0"}}}
	ssh, web := lst("tcp", "0.0.0.0", 22, "sshd", false), lst("tcp", "0.0.0.0", 80, "nginx", false)
	if r, _ := result(cur, web, firewall.IPv4); verdictText(r) != "open except 10.49.0.0/16; conditional for 10.49.0.0/16 (-m limit)" {
		t.Fatalf("today's http: %s", verdictText(r))
	}
	_, _, err = Build([]scan.Listener{ssh, web}, Options{Current: cur})
	var oe *OptionError
	if !errors.As(err, &oe) || !strings.Contains(err.Error(), "--ssh-from") {
		t.Fatalf("Build: err %v, want a refusal naming --ssh-from", err)
	}
	p, warns, err := Build([]scan.Listener{ssh, web}, Options{Current: cur, SSHFrom: mustPrefixes(t, "192.0.2.0/24")})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ipv4 tcp/22 from 192.0.2.0/24", "ipv4 tcp/80 except 10.49.0.0/16"}
	if got := ruleKeys(p); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rules (-want +got):\n-%s\n+%s", strings.Join(want, "\n-"), strings.Join(got, "\n+"))
	}
	found := false
	for _, w := range warns {
		found = found || strings.Contains(w.Msg, "10.49.0.0/16") && strings.Contains(w.Msg, "runtime conditions")
	}
	if !found {
		t.Errorf("no warning names the sources left out: %v", warns)
	}
}

// TestVerdictTextByInterface: where today's verdict says who gets in on
// each interface, the changes on stderr say it too, and two verdicts that
// differ on one interface only are not the same.
func TestVerdictTextByInterface(t *testing.T) {
	c := currentOf(t, rules(":INPUT DROP [0:0]", "-A INPUT -i eth0 -p tcp -m tcp --dport 80 -j ACCEPT",
		"-A INPUT -s 10.0.0.0/8 -i eth1 -p tcp -m tcp --dport 80 -j ACCEPT"), dropAll)
	c.Host = firewall.Host{Interfaces: []string{"eth0", "eth1"}}
	r, _ := c.Judge(firewall.IPv4, firewall.Socket{Proto: "tcp", Addr: netip.IPv4Unspecified(), Port: 80})
	if got, want := verdictText(r), "restricted (eth0 open; eth1 restricted 10.0.0.0/8)"; got != want {
		t.Errorf("verdictText %q, want %q", got, want)
	}
	other := r
	other.ByInterface = append([]firewall.IfaceResult{}, r.ByInterface...)
	other.ByInterface[1].Result.Sources = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16")}
	if !sameVerdict(r, r) || sameVerdict(r, other) {
		t.Errorf("sameVerdict: the same %v, differing on eth1 %v; want true, false", sameVerdict(r, r), sameVerdict(r, other))
	}
}

// TestSensitiveOpenOnOneInterface: a sensitive service open to everyone on
// eth0 and to a subnet on eth1 is not opened, as when it is open on every
// interface.
func TestSensitiveOpenOnOneInterface(t *testing.T) {
	c := currentOf(t, rules(":INPUT DROP [0:0]", "-A INPUT -i eth0 -p tcp -m tcp --dport 5432 -j ACCEPT",
		"-A INPUT -s 10.0.0.0/8 -i eth1 -p tcp -m tcp --dport 5432 -j ACCEPT", "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT"), dropAll)
	c.Host = firewall.Host{Interfaces: []string{"eth0", "eth1"}}
	ls := []scan.Listener{lst("tcp", "0.0.0.0", 22, "sshd", false), lst("tcp", "0.0.0.0", 5432, "postgres", false)}
	p, warns, err := Build(ls, Options{Current: c})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Render(&out, p, "iptables"); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "--dport 5432 -j ACCEPT") {
		t.Errorf("postgresql is opened:\n%s", out.String())
	}
	found := false
	for _, w := range warns {
		found = found || strings.Contains(w.Msg, "open to everyone on eth0 today")
	}
	if !found {
		t.Errorf("no warning that postgresql is open to everyone on eth0 today: %+v", warns)
	}
}
