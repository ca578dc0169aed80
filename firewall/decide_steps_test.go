package firewall

import (
	"net/netip"
	"reflect"
	"testing"
)

// Deciding without steps (the posture probes) gives Decide's verdict,
// rule and reasons, only without the trace.
func TestDecideWithoutSteps(t *testing.T) {
	for _, gc := range goldenCases {
		var sets []*Ruleset
		for _, f := range gc.files {
			sets = append(sets, loadFixture(t, f))
		}
		fam := sets[0].Family
		e := NewEvaluator(fam, sets, Host{})
		lo, out := netip.MustParseAddr("127.0.0.1"), netip.Addr{}
		if fam == IPv6 {
			lo = netip.IPv6Loopback()
		}
		for _, proto := range []string{"tcp", "udp"} {
			for _, port := range []uint16{22, 25, 53, 80, 443, 8080, 40001} {
				for _, src := range []netip.Addr{lo, out} {
					for _, st := range []string{"", "ESTABLISHED", "RELATED"} {
						p := Packet{Proto: proto, Src: src, DPort: port, SPort: 443, State: st}
						full, quiet := e.Decide(p), e.decide(p, false)
						if len(quiet.Trace) != 0 {
							t.Fatalf("%s %+v: a trace of %d steps without steps", gc.name, p, len(quiet.Trace))
						}
						full.Trace = nil
						if !reflect.DeepEqual(full, quiet) {
							t.Errorf("%s %+v: Decide %+v, without steps %+v", gc.name, p, full, quiet)
						}
					}
				}
			}
		}
	}
}
