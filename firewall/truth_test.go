package firewall

import (
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
