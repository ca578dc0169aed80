package firewall

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestParseProcRoutes(t *testing.T) {
	// /proc/net/route of a host with a default route via eth0, a LAN on
	// eth1 and a blackhole (RTF_REJECT)
	in := "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n" +
		"eth0\t00000000\t0100A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n" +
		"eth1\t0002000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n" +
		"*\t0000A8C0\t00000000\t0201\t0\t0\t0\t0000FFFF\t0\t0\t0\n"
	got, err := ParseProcRoutes(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Route{{netip.MustParsePrefix("0.0.0.0/0"), "eth0"}, {netip.MustParsePrefix("10.0.2.0/24"), "eth1"}, {netip.MustParsePrefix("192.168.0.0/16"), ""}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	v6 := "fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n" +
		"00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001       lo\n" +
		"00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n"
	got, err = ParseProcIPv6Routes(strings.NewReader(v6))
	if err != nil {
		t.Fatal(err)
	}
	// the local route of ::1 is left to the evaluator's own addresses; the
	// unreachable default (not RTF_UP) is no route at all
	want = []Route{{netip.MustParsePrefix("fd00::/64"), "eth0"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("v6: got %v, want %v", got, want)
	}
	if _, err := ParseProcRoutes(strings.NewReader("eth0 zz 0 0003 0 0 0 00000000\n")); err == nil {
		t.Errorf("bad hex accepted")
	}
}

// TestReversePath: with the host's routes known, a strict reverse-path
// drop ("fib saddr . iif oif missing drop", "-m rpfilter --invert -j
// DROP") keeps out exactly the sources whose route back leaves by another
// interface; without routes the verdict is conditional.
func TestReversePath(t *testing.T) {
	ipt := "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -m rpfilter --invert -j DROP\nCOMMIT\n"
	rs, err := ParseSave(strings.NewReader(ipt), "rpf.rules", IPv4)
	if err != nil {
		t.Fatal(err)
	}
	host := Host{Interfaces: []string{"eth1"}, Addrs: []netip.Addr{netip.MustParseAddr("10.0.2.1")},
		Routes: []Route{{netip.MustParsePrefix("0.0.0.0/0"), "eth0"}, {netip.MustParsePrefix("10.0.2.0/24"), "eth1"}}}
	// the LAN but the host's own address (a local route, out by lo)
	lan := prefixSet(IPv4, netip.MustParsePrefix("10.0.2.0/24")).subtract(prefixSet(IPv4, netip.MustParsePrefix("10.0.2.1/32"))).prefixes()
	r := NewEvaluator(IPv4, []*Ruleset{rs}, host).Evaluate(Query{Proto: "tcp", Port: 22})
	if r.Verdict != Restricted || !reflect.DeepEqual(r.Sources, lan) {
		t.Errorf("on eth1 (LAN route): got %+v, want restricted to %v", r, lan)
	}
	host.Interfaces = []string{"eth0"}
	r = NewEvaluator(IPv4, []*Ruleset{rs}, host).Evaluate(Query{Proto: "tcp", Port: 22})
	// loopback sources never come back by eth0 either
	if want := []netip.Prefix{netip.MustParsePrefix("10.0.2.0/24"), netip.MustParsePrefix("127.0.0.0/8")}; r.Verdict != Open || !reflect.DeepEqual(r.Except, want) {
		t.Errorf("on eth0 (default route): got %+v, want open except %v", r, want)
	}
	host.Routes = nil
	r = NewEvaluator(IPv4, []*Ruleset{rs}, host).Evaluate(Query{Proto: "tcp", Port: 22})
	if r.Verdict != Conditional || len(r.Reasons) != 1 || r.Reasons[0] != "-m rpfilter" {
		t.Errorf("routes unknown: got %+v, want conditional on -m rpfilter", r)
	}
}
