package firewall

import (
	"net/netip"
	"strings"
	"testing"
)

// Rules from real hosts that were once read otherwise than the kernel
// reads them; each has a kernel test of the same name in e2e/truth_test.go.

// firewalldIptables is what firewalld's iptables backend loads: empty
// security and mangle tables with policy ACCEPT beside a filter table
// whose policies accept and whose rules end in a REJECT.
const firewalldIptables = `*security
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT
-A INPUT -j REJECT
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -i lo -j ACCEPT
-A FORWARD -j REJECT
COMMIT
`

func TestTruthEmptySecurityTable(t *testing.T) {
	const accept22 = "-A INPUT -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT"
	e := NewEvaluator(IPv4, []*Ruleset{parseString(t, firewalldIptables, IPv4)}, Host{})
	if got := briefOf(e.Evaluate(tcp(22))); got != (brief{Verdict: Open, Rule: accept22}) {
		t.Errorf("tcp/22: got %+v, want open by %s", got, accept22)
	}
	if d := e.Decide(Packet{Proto: "tcp", DPort: 22}); d.Verdict != DecideAccept || d.Rule != accept22 {
		t.Errorf("Decide tcp/22: %s by %q, want accept by %q", d.Verdict, d.Rule, accept22)
	}
	p := e.Posture()
	if !p.ForwardDefaultDeny.Pass || p.ForwardDefaultDeny.Rule != "-A FORWARD -j REJECT" {
		t.Errorf("forward default deny: %+v, want pass by -A FORWARD -j REJECT", p.ForwardDefaultDeny)
	}
	if !p.DefaultDeny.Pass {
		t.Errorf("default deny: %+v, want pass", p.DefaultDeny)
	}
	// an empty filter table's policy still names itself
	open := NewEvaluator(IPv4, []*Ruleset{parseString(t, "*security\n:INPUT ACCEPT [0:0]\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n", IPv4)}, Host{})
	if got := open.Evaluate(tcp(22)); got.Verdict != Open || got.Rule != "-P INPUT ACCEPT" {
		t.Errorf("no rules at all: %s by %q, want open by -P INPUT ACCEPT", got.Verdict, got.Rule)
	}
}

// TestTruthReversePathOnLoopback: the kernel skips reverse-path checks
// for packets on lo (rpfMatch), with and without the host's routes; and
// the established probe of each outside interface comes from a source
// routed back through it.
func TestTruthReversePathOnLoopback(t *testing.T) {
	const rules = `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -m rpfilter --validmark --invert -j DROP
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
`
	live := Host{Interfaces: []string{"eth0", "eth1"},
		Addrs:  []netip.Addr{netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8:1::1")},
		Routes: []Route{{netip.MustParsePrefix("2001:db8::/64"), "eth0"}, {netip.MustParsePrefix("2001:db8:1::/64"), "eth1"}}}
	for name, host := range map[string]Host{"offline": {}, "live, no default route": live} {
		t.Run(name, func(t *testing.T) {
			e := NewEvaluator(IPv6, []*Ruleset{parseString(t, rules, IPv6)}, host)
			lo := Packet{Proto: "tcp", Src: netip.IPv6Loopback(), Dst: netip.IPv6Loopback(), DPort: 4444, InIface: "lo"}
			if d := e.Decide(lo); d.Verdict != DecideAccept || d.Rule != "-A INPUT -i lo -j ACCEPT" {
				t.Errorf("::1 on lo: %s by %q (%v), want accept by -A INPUT -i lo -j ACCEPT", d.Verdict, d.Rule, d.Reasons)
			}
			p := e.Posture()
			if !strings.HasPrefix(p.Loopback.Detail, "lo accepted") && !strings.Contains(p.Loopback.Detail, "on an outside interface") {
				t.Errorf("loopback check: %+v, want lo accepted", p.Loopback)
			}
			if host.Routes != nil && (!p.Loopback.Pass || !p.Established.Pass) {
				t.Errorf("live: loopback %+v, established %+v, want both to pass", p.Loopback, p.Established)
			}
		})
	}
}
