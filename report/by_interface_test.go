package report

import (
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/scan"
)

// firewalld's rules with a source zone (testdata/rules/
// local-firewalld-source-zone-iptables.iptables-save, captured from the
// e2e firewalld lab): ssh admits everyone on eth0, eth2 and veth0 and the
// trusted source alone on eth1 (zone block). The verdict is not open, the
// JSON keeps each interface's answer, and the human formats say who gets
// in where.
func TestVerdictByInterfaceFirewalld(t *testing.T) {
	text, err := os.ReadFile("../testdata/rules/local-firewalld-source-zone-iptables.iptables-save")
	if err != nil {
		t.Fatal(err)
	}
	fw := fwFrom(t, string(text), "")
	fw.Host = firewall.Host{
		Interfaces: []string{"veth0", "eth0", "eth1", "eth2"},
		Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("10.100.0.1"),
			netip.MustParseAddr("10.101.0.1"), netip.MustParseAddr("10.102.0.1")},
	}
	r := Build(Inputs{Listeners: []scan.Listener{listener("tcp", "0.0.0.0", 22, "sshd")}, Firewall: fw, Hostname: "h", Now: testTime, Version: "test"})
	if len(r.Sockets) != 1 || r.Sockets[0].Firewall == nil {
		t.Fatalf("sockets %+v", r.Sockets)
	}
	v4 := r.Sockets[0].Firewall.IPv4
	if v4.Verdict != "restricted" {
		t.Errorf("tcp/22 over IPv4: %s, want restricted", v4.Verdict)
	}
	var each []string
	for _, x := range v4.ByInterface {
		each = append(each, x.Interface+" "+x.Verdict+" "+strings.Join(x.Sources.Strings(), ","))
	}
	if want := []string{"eth0 open ", "eth1 restricted 198.18.101.2/32", "eth2 open ", "veth0 open "}; !slices.Equal(each, want) {
		t.Errorf("by_interface %q, want %q", each, want)
	}
	const words = "on eth0,eth2,veth0: everyone; on eth1: 198.18.101.2/32"
	if got := FirewallCell(r.Sockets[0].Firewall); got != "restricted: "+words {
		t.Errorf("FirewallCell %q, want %q", got, "restricted: "+words)
	}
	if got := SocketExposures(r.Sockets[0])[0].Who(3); got != words {
		t.Errorf("Who %q, want %q", got, words)
	}
	if got := SocketExposures(r.Sockets[0])[0].List().Each; got != words {
		t.Errorf("the HTML page's list %q, want %q", got, words)
	}
}

// A sensitive service open to everyone on one interface and to a subnet on
// the other is restricted, but still reachable from the internet: the
// finding stays (it was raised when the pooled verdict read open).
func TestSensitiveOpenOnOneInterface(t *testing.T) {
	fw := fwFrom(t, "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"+
		"-A INPUT -i eth0 -p tcp -m tcp --dport 5432 -j ACCEPT\n"+
		"-A INPUT -i eth1 -s 10.0.0.0/8 -p tcp -m tcp --dport 5432 -j ACCEPT\nCOMMIT\n", "")
	fw.Host = firewall.Host{Interfaces: []string{"eth0", "eth1"}, Addrs: []netip.Addr{netip.MustParseAddr("203.0.113.10")}}
	r := Build(Inputs{Listeners: []scan.Listener{listener("tcp", "0.0.0.0", 5432, "postgres")}, Firewall: fw, Hostname: "h", Now: testTime, Version: "test"})
	if v := r.Sockets[0].Firewall.IPv4; v.Verdict != "restricted" || len(v.ByInterface) != 2 {
		t.Fatalf("tcp/5432: %+v, want restricted with two interfaces' answers", v)
	}
	found := findingOf(r, "exposed-sensitive-service", "")
	if found == nil || found.Severity != High || !strings.Contains(found.Detail, "over IPv4 on eth0") {
		t.Errorf("exposed-sensitive-service: %+v, want a high finding naming IPv4 on eth0", found)
	}
}

// TestPolicyOpenOnOneInterface: the INPUT policy ACCEPT admits everyone on
// eth0 while eth1 keeps all but 10.0.0.0/8 out: the verdict is restricted
// with each interface's answer, and the port is still reported as reachable
// only because of the policy (on eth0), as when it is open on every
// interface.
func TestPolicyOpenOnOneInterface(t *testing.T) {
	fw := fwFrom(t, "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"+
		"-A INPUT -i eth1 ! -s 10.0.0.0/8 -j DROP\nCOMMIT\n", "")
	fw.Host = firewall.Host{Interfaces: []string{"eth0", "eth1"}, Addrs: []netip.Addr{netip.MustParseAddr("203.0.113.10")}}
	r := Build(Inputs{Listeners: []scan.Listener{listener("tcp", "0.0.0.0", 80, "nginx")}, Firewall: fw, Hostname: "h", Now: testTime, Version: "test"})
	if v := r.Sockets[0].Firewall.IPv4; v.Verdict != "restricted" || len(v.ByInterface) != 2 {
		t.Fatalf("tcp/80: %+v, want restricted with two interfaces' answers", v)
	}
	found := findingOf(r, "exposed-by-policy", "ipv4")
	if found == nil || !firewall.IsPolicyText(found.Rule) {
		t.Errorf("exposed-by-policy over IPv4: %+v, want a finding naming the policy; findings %+v", found, r.Findings)
	}
}

// findingOf is r's last finding with the ID, of the family unless family
// is ""; nil when there is none.
func findingOf(r *Report, id, family string) *Finding {
	var found *Finding
	for i := range r.Findings {
		if f := &r.Findings[i]; f.ID == id && (family == "" || f.Family == family) {
			found = f
		}
	}
	return found
}
