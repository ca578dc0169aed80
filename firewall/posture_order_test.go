package firewall

import (
	"strings"
	"testing"
)

// TestPostureInterfaceOrder: the loopback and established checks probe
// every outside interface of the host, so the order the host lists them in
// changes nothing (before, only the last one listed was probed).
func TestPostureInterfaceOrder(t *testing.T) {
	rules := `*filter
:INPUT DROP [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -i eth1 -j ACCEPT
-A INPUT -s 127.0.0.0/8 -j DROP
-A INPUT -i eth0 -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
COMMIT
`
	rs, err := ParseSave(strings.NewReader(rules), "order.rules", IPv4)
	if err != nil {
		t.Fatal(err)
	}
	var got []Posture
	for _, order := range [][]string{{"eth0", "eth1"}, {"eth1", "eth0"}} {
		got = append(got, NewEvaluator(IPv4, []*Ruleset{rs}, Host{Interfaces: order}).Posture())
	}
	for i, p := range got {
		// eth1 accepts everything first: a spoofed 127.0.0.1 gets in there
		if p.Loopback.Pass || !strings.Contains(p.Loopback.Detail, "on eth1") {
			t.Errorf("order %d: loopback %+v, want a failure on eth1", i, p.Loopback)
		}
		// eth0 and eth1 both accept established packets
		if !p.Established.Pass {
			t.Errorf("order %d: established %+v, want pass", i, p.Established)
		}
	}
	if got[0] != got[1] {
		t.Errorf("the checks depend on the interface order:\n%+v\n%+v", got[0], got[1])
	}
}

// TestManyInterfacesOffline: offline, the interfaces the rules name are all
// tried, well past 32; a cut, where there is one, makes accepting
// verdicts conditional rather than wrong.
func TestManyInterfacesOffline(t *testing.T) {
	var b strings.Builder
	b.WriteString("*filter\n:INPUT DROP [0:0]\n")
	for i := 0; i < 40; i++ {
		b.WriteString("-A INPUT -i lan" + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + string(rune('a'+i/26)) + " -s 10.9.9.9 -j DROP\n")
	}
	b.WriteString("-A INPUT -i zz40 -p tcp --dport 22 -j ACCEPT\nCOMMIT\n")
	rs, err := ParseSave(strings.NewReader(b.String()), "many.rules", IPv4)
	if err != nil {
		t.Fatal(err)
	}
	r := NewEvaluator(IPv4, []*Ruleset{rs}, Host{}).Evaluate(Query{Proto: "tcp", Port: 22})
	if r.Verdict != Restricted || len(r.Interfaces) != 1 || r.Interfaces[0] != "zz40" {
		t.Errorf("got %+v, want restricted to zz40 (the 41st interface named)", r)
	}
}

// TestInterfaceNamedLoSomething: offline, only "lo" itself is loopback; a
// LAN called loben is an outside interface like any other (the verified
// analyser fffuu, and the kernel, accept ssh from everyone on it).
func TestInterfaceNamedLoSomething(t *testing.T) {
	rules := "*filter\n:INPUT DROP [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -i loben -p tcp --dport 22 -j ACCEPT\nCOMMIT\n"
	rs, err := ParseSave(strings.NewReader(rules), "loben.rules", IPv4)
	if err != nil {
		t.Fatal(err)
	}
	r := NewEvaluator(IPv4, []*Ruleset{rs}, Host{}).Evaluate(Query{Proto: "tcp", Port: 22})
	if r.Verdict != Restricted || len(r.Sources) != 0 || len(r.Interfaces) != 1 || r.Interfaces[0] != "loben" {
		t.Errorf("got %+v, want restricted to interface loben, from every source", r)
	}
}
