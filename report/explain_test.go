package report

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/scan"
)

func TestExplain(t *testing.T) {
	rs, err := firewall.ParseSave(strings.NewReader(`*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
-A INPUT -i eth1 -p tcp --dport 22 -j ACCEPT
COMMIT
`), "rules.v4", firewall.IPv4)
	if err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddr
	fw := &firewall.Loaded{V4: firewall.FamilyRules{Sets: []*firewall.Ruleset{rs}}, V6: firewall.FamilyRules{Why: "ipv6 rules not provided"},
		Host: firewall.Host{Interfaces: []string{"eth0", "eth1"}, Addrs: []netip.Addr{a("fe80::1"), a("192.0.2.5"), a("198.51.100.5")}}}
	sshd := scan.Listener{Proto: "tcp", Family: "ipv6", DualStack: true, Address: a("::"), Port: 22, Process: "sshd", Exposure: scan.ExposurePublic}

	t.Run("dual stack, IPv6 unknown", func(t *testing.T) {
		docs, warnings, err := Explain(fw, []scan.Listener{sshd}, ExplainQuery{Proto: "tcp", Port: 22, Iface: "eth0"})
		if err != nil {
			t.Fatal(err)
		}
		if len(docs) != 1 || !reflect.DeepEqual(warnings, []string{"tcp/22 also listens for ipv6, whose rules are unavailable: ipv6 rules not provided"}) {
			t.Fatalf("got %d documents, warnings %q; want IPv4's and a warning for IPv6", len(docs), warnings)
		}
		d := docs[0]
		// the host's first IPv4 address, the default outside source
		want := ExplainPacket{Proto: "tcp", Src: "203.0.113.77", Dst: "192.0.2.5", DPort: 22, Iface: "eth0", State: "NEW"}
		if d.Packet != want {
			t.Errorf("packet %+v, want %+v", d.Packet, want)
		}
		if d.Verdict != "drop" || d.Port.Verdict != string(firewall.Restricted) {
			t.Errorf("verdict %s, port %s; want drop on eth0, restricted overall", d.Verdict, d.Port.Verdict)
		}
		var pos []int
		for _, s := range d.Trace {
			if s.Chain == "INPUT" {
				pos = append(pos, s.Position)
			}
		}
		if !reflect.DeepEqual(pos, []int{1, 2, 3, 0}) {
			t.Errorf("INPUT positions %v, want rules 1-3 and the policy", pos)
		}
		if len(d.Elsewhere) != 0 {
			t.Errorf("elsewhere %+v: an interface was given, none is re-decided", d.Elsewhere)
		}
		if !reflect.DeepEqual(d.Listening, []string{"sshd on :: (public)"}) {
			t.Errorf("listening %q", d.Listening)
		}
	})
	t.Run("re-decided on the other interfaces", func(t *testing.T) {
		docs, _, err := Explain(fw, nil, ExplainQuery{Proto: "tcp", Port: 22, From: a("192.0.2.9"), Family: firewall.IPv4})
		if err != nil {
			t.Fatal(err)
		}
		d := docs[0]
		if d.Packet.Iface == "" || len(d.Elsewhere) != 1 || d.Elsewhere[0].Verdict == d.Verdict {
			t.Errorf("packet on %q: %s; elsewhere %+v; want the other interface with the other verdict", d.Packet.Iface, d.Verdict, d.Elsewhere)
		}
		if !reflect.DeepEqual(d.Listening, []string{}) {
			t.Errorf("listening %q, want none", d.Listening)
		}
	})
	t.Run("first family unknown", func(t *testing.T) {
		_, _, err := Explain(fw, nil, ExplainQuery{Proto: "tcp", Port: 22, Family: firewall.IPv6})
		if err == nil || err.Error() != "cannot explain tcp/22: ipv6 rules unavailable: ipv6 rules not provided" {
			t.Errorf("got %v", err)
		}
	})
}
