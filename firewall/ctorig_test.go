package firewall

import (
	"net/netip"
	"strings"
	"testing"
)

// TestCtOrigDstPort: DOCKER-USER rules written as Docker's documentation
// advises match the port the client used (--ctorigdstport), not the
// container's port after the DNAT.
func TestCtOrigDstPort(t *testing.T) {
	rules := `*nat
:PREROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -d 172.17.0.2/32 -p tcp -m tcp --dport 80 -j ACCEPT
-A DOCKER-USER ! -s 203.0.113.7/32 -m conntrack --ctorigdstport 8080 -j DROP
-A DOCKER-USER -j RETURN
COMMIT
`
	rs, err := ParseSave(strings.NewReader(rules), "docker-user.rules", IPv4)
	if err != nil {
		t.Fatal(err)
	}
	e := NewEvaluator(IPv4, []*Ruleset{rs}, Host{})
	r := e.Evaluate(Query{Proto: "tcp", Port: 8080})
	want := []netip.Prefix{netip.MustParsePrefix("203.0.113.7/32")}
	if r.Verdict != Restricted || len(r.Sources) != 1 || r.Sources[0] != want[0] {
		t.Errorf("published tcp/8080: got %+v, want restricted to %v", r, want)
	}
	for src, verdict := range map[string]string{"203.0.113.7": DecideAccept, "198.51.100.9": DecideDrop} {
		if d := e.Decide(Packet{Proto: "tcp", Src: netip.MustParseAddr(src), DPort: 8080}); d.Verdict != verdict {
			t.Errorf("from %s: %s (%s), want %s", src, d.Verdict, d.Rule, verdict)
		}
	}
}
