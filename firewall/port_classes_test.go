package firewall

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// Ports of one class are decided alike: for every ruleset of the corpus,
// every port next to a cut and a spread of others, tcp and udp, from a
// loopback source (the report's probe) and from an outside one, the
// decision (verdict, rule, reasons) is the same for every port of a class.
func TestPortClassesDecideAlike(t *testing.T) {
	type evCase struct {
		name string
		ev   *Evaluator
	}
	var cases []evCase
	for _, gc := range goldenCases {
		var sets []*Ruleset
		for _, f := range gc.files {
			sets = append(sets, loadFixture(t, f))
		}
		cases = append(cases, evCase{gc.name, NewEvaluator(sets[0].Family, sets, Host{})})
	}
	// rules where a port appears only as a source port (the SYN-ACK's way
	// out), a NAT target, an original destination port or "either"
	for i, text := range []string{
		"*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT DROP [0:0]\n-A OUTPUT -p tcp -m tcp --sport 2222 -j ACCEPT\n-A OUTPUT -p udp -m udp --sport 5000:5010 -j ACCEPT\nCOMMIT\n",
		"*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp -j REDIRECT --to-ports 8080\nCOMMIT\n*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp -m conntrack --ctorigdstport 443 -j ACCEPT\n-A INPUT -p udp -m multiport --ports 7000:7002 -j ACCEPT\nCOMMIT\n",
	} {
		rs, err := ParseSave(strings.NewReader(text), fmt.Sprintf("ports-%d.v4", i), IPv4)
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, evCase{rs.Source, NewEvaluator(IPv4, []*Ruleset{rs}, Host{})})
	}
	files, err := filepath.Glob("../testdata/rules/*.nft-j.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no nft fixtures: %v", err)
	}
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		n, err := ParseNftJSON(f, path)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, fam := range []Family{IPv4, IPv6} {
			cases = append(cases, evCase{filepath.Base(path) + "/" + string(fam), NewEvaluator(fam, []*Ruleset{n.Family(fam)}, Host{})})
		}
	}
	multiClass := 0
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pc := c.ev.PortClasses()
			if len(pc.cuts) > 2 {
				multiClass++
			}
			// The ports to try are read off the rules' own text, not off
			// the classes under test: every number the rules print, with
			// its neighbours (at most 400 of them, evenly spread), and
			// every 997th port.
			seen := map[uint16]bool{}
			var named []uint16
			for _, cs := range c.ev.sets {
				for _, ch := range cs.all {
					for i := range ch.rules {
						for _, f := range strings.FieldsFunc(ch.rules[i].r.Text, func(r rune) bool { return r < '0' || r > '9' }) {
							n, err := strconv.Atoi(f)
							if err != nil || n < 1 || n > 65535 || seen[uint16(n)] {
								continue
							}
							seen[uint16(n)] = true
							named = append(named, uint16(n))
						}
					}
				}
			}
			var ports []uint16
			step := max(1, len(named)/400)
			for i := 0; i < len(named); i += step {
				for _, p := range []int{int(named[i]) - 1, int(named[i]), int(named[i]) + 1} {
					if p >= 1 && p <= 65535 {
						ports = append(ports, uint16(p))
					}
				}
			}
			for p := 1; p <= 65535; p += 997 {
				ports = append(ports, uint16(p))
			}
			lo, out := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("203.0.113.9")
			if c.ev.Family() == IPv6 {
				lo, out = netip.IPv6Loopback(), netip.MustParseAddr("2001:db8::9")
			}
			type key struct {
				proto string
				src   netip.Addr
				class int
			}
			first := map[key]uint16{}
			want := map[key]Decision{}
			for _, proto := range []string{"tcp", "udp"} {
				for _, src := range []netip.Addr{lo, out} {
					for _, port := range ports {
						d := c.ev.Decide(Packet{Proto: proto, Src: src, DPort: port})
						d.Trace = nil
						k := key{proto, src, pc.Of(port)}
						w, ok := want[k]
						if !ok {
							want[k], first[k] = d, port
							continue
						}
						if !reflect.DeepEqual(w, d) {
							t.Errorf("%s from %s: ports %d and %d share class %d but are decided %+v and %+v",
								proto, src, first[k], port, k.class, w, d)
						}
					}
				}
			}
		})
	}
	if multiClass < len(cases)/2 {
		t.Errorf("only %d of %d rulesets name ports: the test checks little", multiClass, len(cases))
	}
}

func TestPortClassesOf(t *testing.T) {
	pc := PortClasses{cuts: []uint32{22, 23, 80, 90}}
	for _, c := range []struct {
		port uint16
		want int
	}{{1, 0}, {21, 0}, {22, 1}, {23, 2}, {79, 2}, {80, 3}, {89, 3}, {90, 4}, {65535, 4}} {
		if got := pc.Of(c.port); got != c.want {
			t.Errorf("Of(%d) = %d, want %d", c.port, got, c.want)
		}
	}
}
