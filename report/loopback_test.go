package report

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/scan"
)

// TestLoopbackCheckRouteLocalnetOneInterface: route_localnet is per
// interface; a rule accepting ssh from anywhere lets 127.0.0.0/8 in on
// the interface where the kernel routes it, whatever the other does.
func TestLoopbackCheckRouteLocalnetOneInterface(t *testing.T) {
	rules := "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n"
	for _, c := range []struct {
		name   string
		rl     map[string]bool
		want   Status
		detail string
	}{
		{"eth1 routes it", map[string]bool{"all": false, "eth0": false, "eth1": true}, Fail, "on eth1 to tcp/22 is accepted"},
		{"eth0 routes it", map[string]bool{"all": false, "eth0": true, "eth1": false}, Fail, "on eth0 to tcp/22 is accepted"},
		{"neither", map[string]bool{"all": false, "eth0": false, "eth1": false}, Pass, "route_localnet is 0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fw := fwFrom(t, rules, "")
			fw.Host = firewall.Host{Interfaces: []string{"eth0", "eth1"}, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.1")}, RouteLocalnet: c.rl}
			r := Build(Inputs{Listeners: []scan.Listener{listener("tcp", "0.0.0.0", 22, "sshd")}, Firewall: fw, IPv6Disabled: true, Now: testTime})
			if got := checkStatus(r)["loopback-v4"]; got != c.want {
				t.Errorf("loopback-v4 = %s (%s), want %s", got, detailOf(r, "loopback-v4"), c.want)
			}
			if d := detailOf(r, "loopback-v4"); !strings.Contains(d, c.detail) {
				t.Errorf("detail %q, want it to say %q", d, c.detail)
			}
		})
	}
}

// TestLoopbackCheckRouteLocalnet: the loopback check asks for a rule
// dropping 127.0.0.0/8 on outside interfaces only where the kernel lets
// such a source in (route_localnet on the interface or on all); where it
// does not, the kernel's martian drop is the answer. Without the host
// (offline) a failure says what it assumed.
func TestLoopbackCheckRouteLocalnet(t *testing.T) {
	for _, c := range []struct {
		name   string
		rl     map[string]bool
		want   Status
		detail string
	}{
		{"route_localnet 0", map[string]bool{"all": false, "eth0": false}, Pass, "route_localnet is 0 on eth0"},
		{"route_localnet on eth0", map[string]bool{"all": false, "eth0": true}, Fail, "is not dropped"},
		{"route_localnet on all", map[string]bool{"all": true, "eth0": false}, Fail, "is not dropped"},
		{"not read", nil, Fail, "route_localnet not read: assuming"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fw := fwFrom(t, emptyV4, "")
			fw.Host = firewall.Host{Interfaces: []string{"eth0"}, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.1")}, RouteLocalnet: c.rl}
			r := Build(Inputs{Listeners: []scan.Listener{listener("tcp", "0.0.0.0", 22, "sshd")}, Firewall: fw, IPv6Disabled: true, Now: testTime})
			if got := checkStatus(r)["loopback-v4"]; got != c.want {
				t.Errorf("loopback-v4 = %s (%s), want %s", got, detailOf(r, "loopback-v4"), c.want)
			}
			if d := detailOf(r, "loopback-v4"); !strings.Contains(d, c.detail) {
				t.Errorf("detail %q, want it to say %q", d, c.detail)
			}
		})
	}
}

// TestLoopbackCheckV6: the kernel drops ::1 arriving on any interface but
// lo itself (no sysctl), so loopback-v6 passes with no rule for it, live or
// offline, as long as lo is accepted.
func TestLoopbackCheckV6(t *testing.T) {
	dropAll := "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"
	for _, c := range []struct {
		name   string
		v6     string
		host   firewall.Host
		want   Status
		detail string
	}{
		{"live, no rule", emptyV6, firewall.Host{Interfaces: []string{"eth0"}, Addrs: []netip.Addr{netip.MustParseAddr("2001:db8::1")}}, Pass, "::1 as source is dropped on any interface but lo"},
		{"offline, no rule", emptyV6, firewall.Host{}, Pass, "::1 as source is dropped on any interface but lo"},
		// the check still asks that lo be accepted
		{"lo not accepted", dropAll, firewall.Host{}, Fail, "traffic on lo is not accepted"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fw := fwFrom(t, "", c.v6)
			fw.Host = c.host
			r := Build(Inputs{Listeners: []scan.Listener{listener("tcp", "::v6only", 22, "sshd")}, Firewall: fw, Now: testTime})
			if got := checkStatus(r)["loopback-v6"]; got != c.want {
				t.Errorf("loopback-v6 = %s (%s), want %s", got, detailOf(r, "loopback-v6"), c.want)
			}
			if d := detailOf(r, "loopback-v6"); !strings.Contains(d, c.detail) {
				t.Errorf("detail %q, want it to say %q", d, c.detail)
			}
		})
	}
}
