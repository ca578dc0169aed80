package firewall

import (
	"io/fs"
	"net/netip"
	"reflect"
	"testing"
	"testing/fstest"
)

// sysNet is /sys/class/net of a host with a NIC, a docker bridge with one
// veth port, a host bridge over a second NIC, an empty bridge, a bond
// with one member and a tunnel.
var sysNet = fstest.MapFS{
	"eth0/device":         {},                         // a physical NIC
	"docker0/bridge":      {},                         // a bridge with veth ports only
	"docker0/brif/veth1a": {},                         //
	"veth1a/brport":       {},                         // its port
	"br0/bridge":          {},                         // a host bridge over the NIC
	"br0/brif/enp1s0":     {},                         //
	"enp1s0/device":       {},                         //
	"enp1s0/brport":       {},                         //
	"br-empty/bridge":     {},                         // a bridge with no ports yet
	"br-empty/brif":       {Mode: fs.ModeDir | 0o755}, //
	"bond0/bonding":       {},                         //
	"eth1/bonding_slave":  {},                         // a bond member
	"eth1/device":         {},                         //
	"wg0/type":            {},                         // a tunnel
}

func TestIfaceRoleOf(t *testing.T) {
	for _, c := range []struct {
		name string
		want ifaceRole
	}{
		{"eth0", roleOutside},
		{"docker0", roleInside},
		{"veth1a", roleMember},
		{"br0", roleOutside},
		{"enp1s0", roleMember},
		{"br-empty", roleInside},
		{"bond0", roleOutside},
		{"eth1", roleMember},
		{"wg0", roleOutside},
		{"missing", roleOutside},
		{"../etc", roleOutside},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := ifaceRoleOf(sysNet, c.name); got != c.want {
				t.Errorf("ifaceRoleOf(%s) = %d, want %d", c.name, got, c.want)
			}
		})
	}
}

// procRoutes is /proc of a host with one IPv4 default route and no IPv6.
var procRoutes = fstest.MapFS{
	"net/route": {Data: []byte("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n" +
		"eth0\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n" +
		"eth0\t0000000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n")},
}

func TestReadHost(t *testing.T) {
	a := netip.MustParseAddr
	links := []Link{
		{Name: "lo", Loopback: true, Addrs: []netip.Addr{a("127.0.0.1"), a("::1")}},
		{Name: "eth0", Addrs: []netip.Addr{a("10.0.0.2"), a("fe80::1")}},
		{Name: "docker0", Addrs: []netip.Addr{a("172.17.0.1")}},
		{Name: "veth1a"},
		{Name: "br0", Addrs: []netip.Addr{a("192.168.1.5")}},
		{Name: "enp1s0"},
		{Name: "wg0", Addrs: []netip.Addr{a("10.9.0.1")}},
	}
	got := ReadHost(HostFS{Proc: procRoutes, Net: sysNet, Links: func() ([]Link, bool) { return links, true }})
	want := Host{
		Interfaces: []string{"eth0", "docker0", "br0", "wg0"},
		Inside:     []string{"docker0"},
		Addrs:      []netip.Addr{a("10.0.0.2"), a("fe80::1"), a("172.17.0.1"), a("192.168.1.5"), a("10.9.0.1")},
	}
	if len(got.Routes) != 2 {
		t.Errorf("routes: got %v, want the default route and 10.0.0.0/24", got.Routes)
	}
	got.Routes = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ReadHost:\n got %+v\nwant %+v", got, want)
	}

	t.Run("no links", func(t *testing.T) {
		got := ReadHost(HostFS{Proc: procRoutes, Net: sysNet, Links: func() ([]Link, bool) { return nil, false }})
		if got.Interfaces != nil || got.Routes != nil {
			t.Errorf("got %+v, want nothing known", got)
		}
	})
	t.Run("unparsable routes", func(t *testing.T) {
		proc := fstest.MapFS{"net/route": {Data: []byte("Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\neth0\tzz\t0\t1\t0\t0\t0\t0\n")}}
		got := ReadHost(HostFS{Proc: proc, Net: sysNet, Links: func() ([]Link, bool) { return links, true }})
		if got.Routes != nil {
			t.Errorf("routes: got %v, want nil (not known: rpf checks conditional)", got.Routes)
		}
	})
	t.Run("no routes file", func(t *testing.T) {
		got := ReadHost(HostFS{Proc: fstest.MapFS{}, Net: sysNet, Links: func() ([]Link, bool) { return links, true }})
		if got.Routes == nil || len(got.Routes) != 0 {
			t.Errorf("routes: got %#v, want empty and known (no such family)", got.Routes)
		}
	})
}

func TestHostSysctls(t *testing.T) {
	for _, c := range []struct {
		name           string
		proc           fstest.MapFS
		v6Off, bridged bool
	}{
		{"no IPv6 stack, no br_netfilter", fstest.MapFS{}, true, false},
		{"IPv6 on", fstest.MapFS{"sys/net/ipv6/conf/all/disable_ipv6": {Data: []byte("0\n")}}, false, false},
		{"IPv6 off", fstest.MapFS{"sys/net/ipv6/conf/all/disable_ipv6": {Data: []byte("1\n")}}, true, false},
		{"bridged IPv4", fstest.MapFS{
			"sys/net/ipv6/conf/all/disable_ipv6":      {Data: []byte("0\n")},
			"sys/net/bridge/bridge-nf-call-iptables":  {Data: []byte("1\n")},
			"sys/net/bridge/bridge-nf-call-ip6tables": {Data: []byte("0\n")},
		}, false, true},
		{"bridged IPv6", fstest.MapFS{
			"sys/net/ipv6/conf/all/disable_ipv6":      {Data: []byte("0\n")},
			"sys/net/bridge/bridge-nf-call-ip6tables": {Data: []byte("1\n")},
		}, false, true},
		{"br_netfilter off", fstest.MapFS{
			"sys/net/ipv6/conf/all/disable_ipv6":      {Data: []byte("0\n")},
			"sys/net/bridge/bridge-nf-call-iptables":  {Data: []byte("0\n")},
			"sys/net/bridge/bridge-nf-call-ip6tables": {Data: []byte("0\n")},
		}, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := HostFS{Proc: c.proc}
			if got := h.IPv6Disabled(); got != c.v6Off {
				t.Errorf("IPv6Disabled = %v, want %v", got, c.v6Off)
			}
			if got := h.BridgeNetfilter(); got != c.bridged {
				t.Errorf("BridgeNetfilter = %v, want %v", got, c.bridged)
			}
		})
	}
}
