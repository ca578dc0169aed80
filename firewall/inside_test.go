package firewall

import (
	"net/netip"
	"os"
	"testing"
)

// Which interfaces an outsider reaches decides open and restricted: a
// bridge for containers (Host.Inside) is judged, but it neither keeps a
// port from being open nor makes it restricted.
func TestInsideInterfaces(t *testing.T) {
	host := Host{
		Interfaces: []string{"eth0", "eth1", "docker0"},
		Inside:     []string{"docker0"},
		Addrs:      []netip.Addr{netip.MustParseAddr("203.0.113.10")},
	}
	rules := filterRules("DROP",
		"-A INPUT ! -i docker0 -p tcp -m tcp --dport 8080 -j ACCEPT",
		"-A INPUT -i docker0 -p tcp -m tcp --dport 8081 -j ACCEPT",
		"-A INPUT -i eth0 -p tcp -m tcp --dport 8082 -j ACCEPT",
		"-A INPUT -i eth0 -p tcp -m tcp --dport 8083 -j ACCEPT",
		"-A INPUT -i eth1 -s 10.0.0.0/8 -p tcp -m tcp --dport 8083 -j ACCEPT",
	)
	tests := []struct {
		name string
		port uint16
		want brief
	}{
		{"every outside interface but not the bridge", 8080, brief{Verdict: Open, Rule: "-A INPUT ! -i docker0 -p tcp -m tcp --dport 8080 -j ACCEPT"}},
		{"only the bridge", 8081, brief{Verdict: Restricted, Interfaces: "docker0", Rule: "-A INPUT -i docker0 -p tcp -m tcp --dport 8081 -j ACCEPT"}},
		{"one of two outside interfaces", 8082, brief{Verdict: Restricted, Interfaces: "eth0", Rule: "-A INPUT -i eth0 -p tcp -m tcp --dport 8082 -j ACCEPT"}},
		// not open: eth1 keeps all but 10.0.0.0/8 out (the kernel test is
		// e2e TestVerdictPerInterface, in its shape)
		{"everyone on eth0, a subnet on eth1", 8083, brief{Verdict: Restricted,
			Rule: "-A INPUT -i eth0 -p tcp -m tcp --dport 8083 -j ACCEPT",
			Each: "eth0 open; eth1 restricted 10.0.0.0/8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := evalText(t, rules, host, tcp(tt.port)); got != tt.want {
				t.Errorf("tcp/%d:\n got %+v\nwant %+v", tt.port, got, tt.want)
			}
		})
	}
}

// TestInsideAdmitsEveryone: when the containers' bridge admits everyone
// and the outside interface one source, the verdict speaks for outsiders.
func TestInsideAdmitsEveryone(t *testing.T) {
	host := Host{Interfaces: []string{"eth0", "docker0"}, Inside: []string{"docker0"}, Addrs: []netip.Addr{netip.MustParseAddr("203.0.113.10")}}
	rules := filterRules("DROP",
		"-A INPUT -i docker0 -p tcp -m tcp --dport 8080 -j ACCEPT",
		"-A INPUT -s 192.0.2.3/32 -i eth0 -p tcp -m tcp --dport 8080 -j ACCEPT",
	)
	want := brief{Verdict: Restricted, Sources: "192.0.2.3/32", Rule: "-A INPUT -s 192.0.2.3/32 -i eth0 -p tcp -m tcp --dport 8080 -j ACCEPT"}
	if got := evalText(t, rules, host, tcp(8080)); got != want {
		t.Errorf("\n got %+v\nwant %+v", got, want)
	}
}

// TestDocker20Captured: rules captured from Docker 20.10 on a lab host
// (e2e/testdata/docker), judged as on that host: veth0 outside, docker0
// the containers' bridge, its veth port not an interface at all. The
// DOCKER-USER restriction in the --ctorigdstport form shows as restricted
// to its one source, and no verdict names a veth.
func TestDocker20Captured(t *testing.T) {
	for _, backend := range []string{"nft", "legacy"} {
		t.Run(backend, func(t *testing.T) {
			f, err := os.Open("../e2e/testdata/docker/docker20-" + backend + "-ctorigdstport.iptables-save")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rs, err := ParseSave(f, "docker20.rules", IPv4)
			if err != nil {
				t.Fatal(err)
			}
			host := Host{
				Interfaces: []string{"veth0", "docker0"}, Inside: []string{"docker0"},
				Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("172.17.0.1")},
			}
			e := NewEvaluator(IPv4, []*Ruleset{rs}, host)
			for _, c := range []struct {
				q    Query
				want brief
			}{
				{Query{Proto: "tcp", Addr: netip.IPv4Unspecified(), Port: 8080},
					brief{Verdict: Restricted, Sources: "192.0.2.3/32", Rule: "-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT"}},
				{Query{Proto: "udp", Addr: netip.IPv4Unspecified(), Port: 8081},
					brief{Verdict: Blocked, Rule: "-A DOCKER-USER -i veth0 -p udp -m conntrack --ctorigdstport 8081 -j DROP"}},
			} {
				got := briefOf(e.Evaluate(c.q))
				if got.Verdict != c.want.Verdict || got.Sources != c.want.Sources || got.Interfaces != "" || got.Rule != c.want.Rule {
					t.Errorf("%s/%d:\n got %+v\nwant %+v", c.q.Proto, c.q.Port, got, c.want)
				}
			}
		})
	}
}
