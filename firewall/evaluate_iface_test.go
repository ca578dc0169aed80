package firewall

import (
	"context"
	"net/netip"
	"os"
	"testing"
)

// firewalldHost is the host firewalld's rules in testdata/rules/
// local-firewalld-source-zone* were captured on (e2e TestFirewalld's lab):
// eth0 in zone internal (ssh, dns), eth1 in block, eth2 and veth0 in
// public (ssh, http), and 198.18.101.2 in trusted, a source zone.
var firewalldHost = Host{
	Interfaces: []string{"veth0", "eth0", "eth1", "eth2"},
	Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("10.100.0.1"),
		netip.MustParseAddr("10.101.0.1"), netip.MustParseAddr("10.102.0.1")},
}

// A source zone beside interface zones: every interface admits the
// source, eth0 (internal) everyone to ssh and dns, eth2 and veth0 (public)
// everyone to ssh and http. Pooled over the interfaces each port read
// open; the kernel keeps everyone but the source out on eth1 (and on
// those where the zone lacks the service). The same rules from both of
// firewalld's backends give the same answers (the kernel test is
// e2e TestFirewalld, and TestVerdictPerInterface for the shape alone).
func TestEvaluateSourceZone(t *testing.T) {
	nftText, err := os.ReadFile("../testdata/rules/local-firewalld-source-zone.nft")
	if err != nil {
		t.Fatal(err)
	}
	needNft(t) // the built-in reader does not take every statement firewalld writes
	n, err := LoadNftText(context.Background(), ExecRunner{}, nftText, "local-firewalld-source-zone.nft")
	if err != nil {
		t.Fatal(err)
	}
	trusted := "198.18.101.2/32"
	tests := []struct {
		port uint16
		want brief
	}{
		{22, brief{Verdict: Restricted, Each: "eth0 open; eth1 restricted " + trusted + "; eth2 open; veth0 open"}},
		{80, brief{Verdict: Restricted, Each: "eth0 restricted " + trusted + "; eth1 restricted " + trusted + "; eth2 open; veth0 open"}},
		// the rich rule is public's: 10.102.0.2 gets in on eth2 and veth0
		// only, not on eth0 or eth1
		{8080, brief{Verdict: Restricted, Sources: "10.102.0.2/32 " + trusted,
			Each: "eth0 restricted " + trusted + "; eth1 restricted " + trusted + "; eth2 restricted 10.102.0.2/32 " + trusted + "; veth0 restricted 10.102.0.2/32 " + trusted}},
	}
	for _, backend := range []struct {
		name string
		rs   *Ruleset
	}{
		{"nftables", n.Family(IPv4)},
		{"iptables", loadFixture(t, "local-firewalld-source-zone-iptables.iptables-save")},
	} {
		ev := NewEvaluator(IPv4, []*Ruleset{backend.rs}, firewalldHost)
		for _, tt := range tests {
			got := briefOf(ev.Evaluate(tcp(tt.port)))
			got.Rule = "" // each backend names its own
			if got != tt.want {
				t.Errorf("%s tcp/%d:\n got %+v\nwant %+v", backend.name, tt.port, got, tt.want)
			}
		}
		// udp/53: dns in internal only
		got := briefOf(ev.Evaluate(Query{Proto: "udp", Addr: netip.IPv4Unspecified(), Port: 53}))
		got.Rule = ""
		if want := (brief{Verdict: Restricted, Each: "eth0 open; eth1 restricted " + trusted + "; eth2 restricted " + trusted + "; veth0 restricted " + trusted}); got != want {
			t.Errorf("%s udp/53:\n got %+v\nwant %+v", backend.name, got, want)
		}
	}
}

// A blocklist on one of two interfaces: open (each admits more than half
// of the space), nobody kept out on both, and the interface that keeps
// one source out says so (the kernel test is TestVerdictPerInterface; the
// suggestion's is e2e TestNeverWiderPerInterface).
func TestEvaluateBlocklistOnOneInterface(t *testing.T) {
	rules := filterRules("DROP",
		"-A INPUT -s 172.16.254.1/32 -i eth0 -j DROP",
		"-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT",
	)
	for _, host := range []struct {
		name string
		host Host
		each string
	}{
		{"live", Host{Interfaces: []string{"eth0", "eth1"}, Addrs: []netip.Addr{netip.MustParseAddr("203.0.113.10")}},
			"eth0 open except 172.16.254.1/32; eth1 open"},
		{"offline", Host{}, "eth0 open except 172.16.254.1/32; * open"},
	} {
		got := evalText(t, rules, host.host, tcp(80))
		want := brief{Verdict: Open, Rule: "-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT", Each: host.each}
		if got != want {
			t.Errorf("%s:\n got %+v\nwant %+v", host.name, got, want)
		}
	}
	// the same source kept out on every interface: the pooled answer
	// says it, with no breakdown
	rules = filterRules("DROP",
		"-A INPUT -s 172.16.254.1/32 -j DROP",
		"-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT",
	)
	host := Host{Interfaces: []string{"eth0", "eth1"}, Addrs: []netip.Addr{netip.MustParseAddr("203.0.113.10")}}
	got := evalText(t, rules, host, tcp(80))
	if got.Verdict != Open || got.Except != "172.16.254.1/32" || got.Each != "" {
		t.Errorf("a blocklist on every interface: %+v, want open except 172.16.254.1/32 and no breakdown", got)
	}
}
