package firewall

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

func TestReadRouteLocalnet(t *testing.T) {
	links := func() ([]Link, bool) {
		return []Link{{Name: "lo", Loopback: true}, {Name: "eth0"}, {Name: "eth1"}, {Name: "wg0"}}, true
	}
	conf := func(kv ...string) fstest.MapFS {
		fs := fstest.MapFS{}
		for i := 0; i < len(kv); i += 2 {
			fs["sys/net/ipv4/conf/"+kv[i]+"/route_localnet"] = &fstest.MapFile{Data: []byte(kv[i+1] + "\n")}
		}
		return fs
	}
	for _, c := range []struct {
		name string
		proc fstest.MapFS
		want map[string]bool
	}{
		{"all off", conf("all", "0", "eth0", "0", "eth1", "0", "wg0", "0"), map[string]bool{"all": false, "eth0": false, "eth1": false, "wg0": false}},
		{"one on", conf("all", "0", "eth0", "0", "eth1", "1", "wg0", "0"), map[string]bool{"all": false, "eth0": false, "eth1": true, "wg0": false}},
		{"all on", conf("all", "1", "eth0", "0", "eth1", "0", "wg0", "0"), map[string]bool{"all": true, "eth0": false, "eth1": false, "wg0": false}},
		// an interface whose file is missing is not known
		{"one missing", conf("all", "0", "eth0", "0", "eth1", "0"), map[string]bool{"all": false, "eth0": false, "eth1": false}},
		{"no ipv4 conf", fstest.MapFS{}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := ReadHost(HostFS{Proc: c.proc, Net: fstest.MapFS{}, Links: links}).RouteLocalnet
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("RouteLocalnet = %v, want %v", got, c.want)
			}
		})
	}
}

// A packet from 127.0.0.0/8 on an interface other than lo is a martian
// source for the kernel unless route_localnet is set on the interface or
// on all: dropped in routing, whatever the input chains say (measured in
// e2e TestMartianLoopbackSource).
func TestDecideMartianLoopbackSource(t *testing.T) {
	rs, err := ParseSave(strings.NewReader("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"), "rules.v4", IPv4)
	if err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddr
	for _, c := range []struct {
		name    string
		rl      map[string]bool
		src     string
		iface   string
		want    string
		note    bool // decided by the kernel's note, not by a rule
		posture bool // the posture's loopback check passes (its own probes)
	}{
		{"route_localnet 0", map[string]bool{"all": false, "eth0": false}, "127.0.0.1", "eth0", DecideDrop, true, true},
		{"the whole 127/8", map[string]bool{"all": false, "eth0": false}, "127.1.2.3", "eth0", DecideDrop, true, true},
		{"on the interface", map[string]bool{"all": false, "eth0": true}, "127.0.0.1", "eth0", DecideAccept, false, false},
		{"on all", map[string]bool{"all": true, "eth0": false}, "127.0.0.1", "eth0", DecideAccept, false, false},
		{"not read", nil, "127.0.0.1", "eth0", DecideAccept, false, false},
		{"interface not read", map[string]bool{"all": false}, "127.0.0.1", "eth0", DecideAccept, false, false},
		{"another source", map[string]bool{"all": false, "eth0": false}, "192.0.2.9", "eth0", DecideAccept, false, true},
		{"on lo", map[string]bool{"all": false, "eth0": false}, "127.0.0.1", "lo", DecideAccept, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			host := Host{Interfaces: []string{"eth0"}, Addrs: []netip.Addr{a("192.0.2.1")}, RouteLocalnet: c.rl}
			e := NewEvaluator(IPv4, []*Ruleset{rs}, host)
			d := e.Decide(Packet{Proto: "tcp", Src: a(c.src), Dst: a("192.0.2.1"), DPort: 22, InIface: c.iface})
			if d.Verdict != c.want {
				t.Fatalf("Decide = %s (%s), want %s", d.Verdict, d.Rule, c.want)
			}
			if got := strings.Contains(d.Rule.String(), "route_localnet is 0 on eth0"); got != c.note {
				t.Errorf("rule %q: names the kernel's martian drop = %v, want %v", d.Rule, got, c.note)
			}
			if p := e.Posture().Loopback; p.Pass != c.posture {
				t.Errorf("posture loopback pass = %v (%s), want %v", p.Pass, p.Detail, c.posture)
			}
			if got := e.RouteLocalnetAssumed() != ""; got != (c.rl == nil) {
				t.Errorf("RouteLocalnetAssumed = %q with route_localnet %v", e.RouteLocalnetAssumed(), c.rl)
			}
		})
	}
	t.Run("ipv6", func(t *testing.T) {
		rs6, err := ParseSave(strings.NewReader("*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n"), "rules.v6", IPv6)
		if err != nil {
			t.Fatal(err)
		}
		e := NewEvaluator(IPv6, []*Ruleset{rs6}, Host{Interfaces: []string{"eth0"}, RouteLocalnet: map[string]bool{"all": false, "eth0": false}})
		if e.RouteLocalnetAssumed() != "" {
			t.Errorf("IPv6 assumes %q", e.RouteLocalnetAssumed())
		}
	})
}

// TestMartianDestination: a packet sent to 127.0.0.1 from outside reaches
// a socket bound there only on an interface whose route_localnet is 1; a
// DNAT from 127.0.0.1 to another host forwards it whatever route_localnet
// says (the kernel test is TestMartianLoopbackDestination).
func TestMartianDestination(t *testing.T) {
	lo := Query{Proto: "tcp", Addr: netip.MustParseAddr("127.0.0.1"), Port: 9000}
	pub := Query{Proto: "tcp", Addr: netip.MustParseAddr("127.0.0.1"), Port: 8080}
	rules := "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -d 127.0.0.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80\nCOMMIT\n" +
		"*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -d 172.17.0.2/32 -p tcp -m tcp --dport 80 -j ACCEPT\nCOMMIT\n"
	closed := strings.Replace(rules, "-A FORWARD -d 172.17.0.2/32 -p tcp -m tcp --dport 80 -j ACCEPT\n", "", 1)
	host := func(rl map[string]bool) Host {
		return Host{Interfaces: []string{"eth0", "eth1"}, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.10")}, RouteLocalnet: rl}
	}
	off := map[string]bool{"all": false, "eth0": false, "eth1": false}
	on1 := map[string]bool{"all": false, "eth0": false, "eth1": true}
	all := map[string]bool{"all": true, "eth0": false, "eth1": false}
	for _, c := range []struct {
		name  string
		rules string
		rl    map[string]bool
		q     Query
		want  Verdict
		ifs   string // Interfaces, joined
	}{
		{"socket, route_localnet 0", rules, off, lo, NotApplicable, ""},
		// the direct path where route_localnet is 1 is not judged:
		// the verdict says nothing forwards it, the reasons say the rest
		{"socket, route_localnet 1 on eth1", rules, on1, lo, NotApplicable, ""},
		{"socket, route_localnet 1 on all", rules, all, lo, NotApplicable, ""},
		{"published, route_localnet 0", rules, off, pub, Open, ""},
		{"published, route_localnet 1 on eth1", rules, on1, pub, Open, ""},
		{"published, FORWARD drops it", closed, off, pub, Blocked, ""},
		{"published offline", rules, nil, pub, Open, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			rs := parseString(t, c.rules, IPv4)
			got := NewEvaluator(IPv4, []*Ruleset{rs}, host(c.rl)).Evaluate(c.q)
			if got.Verdict != c.want || strings.Join(got.Interfaces, ",") != c.ifs {
				t.Errorf("got %s on %v (%v), want %s on %q", got.Verdict, got.Interfaces, got.Reasons, c.want, c.ifs)
			}
			lets := strings.Contains(strings.Join(got.Reasons, " "), "route_localnet is 1 on")
			if want := c.q == lo && (c.rl["all"] || c.rl["eth1"]); lets != want {
				t.Errorf("reasons %v: naming route_localnet 1 = %v, want %v", got.Reasons, lets, want)
			}
			if c.rl != nil && len(got.Reasons) > 0 && strings.Contains(strings.Join(got.Reasons, " "), "not read") {
				t.Errorf("route_localnet read, yet assumed: %v", got.Reasons)
			}
		})
	}
}

// An IPv6 packet from ::1 on an interface other than lo is dropped by the
// kernel on receipt (ip6_rcv_core), before any chain and whatever a sysctl
// says, offline as well (measured in e2e TestMartianLoopbackSource).
func TestDecideLoopbackSourceV6(t *testing.T) {
	rs, err := ParseSave(strings.NewReader("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"), "rules.v6", IPv6)
	if err != nil {
		t.Fatal(err)
	}
	live := Host{Interfaces: []string{"eth0", "eth1"}, Addrs: []netip.Addr{netip.MustParseAddr("2001:db8::1")}}
	for _, c := range []struct {
		name    string
		host    Host
		src     string
		iface   string
		want    string
		note    bool // decided by the kernel's note, not by a rule
		posture bool // the posture's loopback check passes
	}{
		{"::1 on eth0", live, "::1", "eth0", DecideDrop, true, true},
		{"::1 on eth1", live, "::1", "eth1", DecideDrop, true, true},
		{"::1, interface picked", live, "::1", "", DecideDrop, true, true},
		{"offline", Host{}, "::1", "", DecideDrop, true, true},
		{"::1 on lo", live, "::1", "lo", DecideAccept, false, true},
		{"another source", live, "2001:db8::9", "eth0", DecideAccept, false, true},
		// only ::1: the mapped 127.0.0.1 is not the kernel's loopback check
		{"::ffff:127.0.0.1", live, "::ffff:127.0.0.1", "eth0", DecideAccept, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := NewEvaluator(IPv6, []*Ruleset{rs}, c.host)
			d := e.Decide(Packet{Proto: "tcp", Src: netip.MustParseAddr(c.src), DPort: 22, InIface: c.iface})
			if d.Verdict != c.want {
				t.Fatalf("Decide = %s (%s), want %s", d.Verdict, d.Rule, c.want)
			}
			if got := strings.Contains(d.Rule.String(), "::1 as source is dropped on any interface but lo"); got != c.note {
				t.Errorf("rule %q: names the kernel's drop = %v, want %v", d.Rule, got, c.note)
			}
			if p := e.Posture().Loopback; p.Pass != c.posture {
				t.Errorf("posture loopback pass = %v (%s), want %v", p.Pass, p.Detail, c.posture)
			}
		})
	}
	// a rule accepting ::1 does not bring it back: the kernel drops it
	// before the chains
	t.Run("a rule accepts ::1", func(t *testing.T) {
		rs, err := ParseSave(strings.NewReader("*filter\n:INPUT DROP [0:0]\n-A INPUT -s ::1/128 -j ACCEPT\nCOMMIT\n"), "rules.v6", IPv6)
		if err != nil {
			t.Fatal(err)
		}
		e := NewEvaluator(IPv6, []*Ruleset{rs}, live)
		if d := e.Decide(Packet{Proto: "tcp", Src: netip.IPv6Loopback(), DPort: 22, InIface: "eth0"}); d.Verdict != DecideDrop {
			t.Errorf("Decide = %s (%s), want drop", d.Verdict, d.Rule)
		}
	})
}
