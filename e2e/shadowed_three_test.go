//go:build linux

package e2e

import (
	"strings"
	"testing"
)

// TestShadowedThreeConditions: the last rule of this chain is reached only
// by a packet that is on veth0, ESTABLISHED and UDP at once. The kernel
// counts such a packet on it (a second datagram of a UDP exchange the
// peer started), so fwaudit must not call the rule shadowed.
func TestShadowedThreeConditions(t *testing.T) {
	lab := NewLab(t)
	lab.LoadIptables(`*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT ! -i veth0 -j ACCEPT
-A INPUT -m conntrack ! --ctstate ESTABLISHED -j ACCEPT
-A INPUT ! -p udp -j ACCEPT
-A INPUT -s 192.0.2.0/24 -j DROP
COMMIT
`)
	lab.Start(lab.Host, "named", "udp:0.0.0.0:53")
	last := "-A INPUT -s 192.0.2.0/24 -j DROP"
	before := lab.ReadCounters("iptables-save")
	// the first datagram is NEW (accepted, answered); the second, from
	// the same source port, is ESTABLISHED and meets the last rule
	spec := ProbeSpec{ProbeReq: ProbeReq{Proto: "udp", Src: PeerV4[0].String(), Dst: HostV4.String(), Port: 53}, SPort: 40123}
	if got := lab.ProbeSpecs([]ProbeSpec{spec}); !got[0].OK {
		t.Fatalf("the first datagram did not get through: %s", got[0].Detail)
	}
	lab.ProbeSpecs([]ProbeSpec{spec})
	after := lab.ReadCounters("iptables-save")
	if pkts(after, last) <= pkts(before, last) {
		t.Fatalf("the kernel did not count a packet on %q: the scenario does not hold", last)
	}
	stdout, stderr, code := lab.Fwaudit("report", "--format", "json")
	if code != 0 {
		t.Fatalf("fwaudit report: exit %d: %s", code, stderr)
	}
	if strings.Contains(stdout, `"shadowed-rule"`) && strings.Contains(stdout, last) {
		t.Errorf("fwaudit calls %q shadowed, yet the kernel counted a packet on it:\n%s", last, stdout)
	}
}

// pkts is the packet count of filter INPUT's rule with text rule (iptables
// prints it normalised: "-s 192.0.2.0/24" as written here).
func pkts(c Counters, rule string) uint64 {
	if ch := c["filter"]["INPUT"]; ch != nil {
		for _, r := range ch.Rules {
			if normSpace(r.Text) == normSpace(rule) {
				return r.Pkts
			}
		}
	}
	return 0
}
