package firewall

import (
	"context"
	"net/netip"
	"os"
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

// TestCtOrigDst: the connection's original destination (conntrack
// --ctorigdst, nft ct original ip daddr) is the host address the client
// used, not the container's after the DNAT; ct original ip saddr is the
// source.
func TestCtOrigDst(t *testing.T) {
	const nat = `*nat
:PREROUTING ACCEPT [0:0]
-A PREROUTING -d 10.79.0.1/32 -p tcp -m tcp --dport 8082 -j DNAT --to-destination 172.17.0.2:80
COMMIT
`
	iptables := func(match string) string {
		return nat + `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
-A FORWARD ` + match + ` -j ACCEPT
COMMIT
`
	}
	nft := func(match string) string {
		return `table ip nat {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr 10.79.0.1 tcp dport 8082 dnat to 172.17.0.2:80
	}
}
table ip filter {
	chain input {
		type filter hook input priority filter; policy drop;
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
		` + match + ` accept
	}
}
`
	}
	host := Host{Interfaces: []string{"eth0"}, Addrs: []netip.Addr{netip.MustParseAddr("10.79.0.1"), netip.MustParseAddr("10.79.0.2")}}
	tests := []struct {
		name  string
		rules *Ruleset
		want  brief
	}{
		{"iptables original destination the host address", parseString(t, iptables("-s 192.0.2.0/24 -m conntrack --ctorigdst 10.79.0.1"), IPv4),
			brief{Verdict: Restricted, Sources: "192.0.2.0/24", Rule: "-A FORWARD -s 192.0.2.0/24 -m conntrack --ctorigdst 10.79.0.1 -j ACCEPT", Dsts: "10.79.0.1/32"}},
		{"iptables original destination another address", parseString(t, iptables("-m conntrack --ctorigdst 10.79.0.2"), IPv4),
			brief{Verdict: Blocked, Rule: "-P FORWARD DROP"}},
		{"iptables the container address is not the original", parseString(t, iptables("-m conntrack --ctorigdst 172.17.0.2"), IPv4),
			brief{Verdict: Blocked, Rule: "-P FORWARD DROP"}},
		// published at 10.79.0.1 only (the DNAT's ip daddr)
		{"iptables negated original destination", parseString(t, iptables("-m conntrack ! --ctorigdst 10.79.0.2"), IPv4),
			brief{Verdict: Restricted, Rule: "-A FORWARD -m conntrack ! --ctorigdst 10.79.0.2 -j ACCEPT", Dsts: "10.79.0.1/32"}},
		{"nft ct original ip daddr and saddr", nftRuleset(t, nft("ct original ip saddr 192.0.2.0/24 ct original ip daddr 10.79.0.1")),
			brief{Verdict: Restricted, Sources: "192.0.2.0/24", Rule: "ip filter forward rule 1: ct original ip saddr 192.0.2.0/24 ct original ip daddr 10.79.0.1 accept", Dsts: "10.79.0.1/32"}},
		{"nft ct original ip daddr of the container", nftRuleset(t, nft("ct original ip daddr 172.17.0.2")),
			brief{Verdict: Blocked, Rule: "ip filter forward policy drop"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEvaluator(IPv4, []*Ruleset{tt.rules}, host)
			if got := briefOf(e.Evaluate(Query{Proto: "tcp", Addr: netip.IPv4Unspecified(), Port: 8082})); got != tt.want {
				t.Errorf("\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// nftRuleset reads nft text through the kernel's own nft (in a throwaway
// network namespace) and compiles its IPv4 side.
func nftRuleset(t *testing.T, text string) *Ruleset {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("SKIPPING: reading nft text needs a network namespace (root); run `sudo make test`")
	}
	n, err := LoadNftText(context.Background(), ExecRunner{}, []byte(text), "test.nft")
	if err != nil {
		t.Fatal(err)
	}
	return n.Family(IPv4)
}
