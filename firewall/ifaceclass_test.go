package firewall

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestInterfaceClassesChangeNothing: walking one interface per class of
// interfaces the rules cannot tell apart gives exactly the answers of
// walking every interface, on corpus rulesets that name many interfaces.
func TestInterfaceClassesChangeNothing(t *testing.T) {
	for _, f := range []string{"tum-large-4800rules-diekmann.iptables-save", "shorewall-sqrl-diekmann.iptables-save",
		"medium-company-nat-diekmann.iptables-save", "ufw-server2-diekmann.iptables-save"} {
		t.Run(f, func(t *testing.T) {
			fh, err := os.Open(filepath.Join("../testdata/rules", f))
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			rs, err := ParseSave(fh, f, IPv4)
			if err != nil {
				t.Fatal(err)
			}
			grouped := NewEvaluator(IPv4, []*Ruleset{rs}, Host{})
			every := NewEvaluator(IPv4, []*Ruleset{rs}, Host{})
			every.ifaceGrouping = false
			for _, proto := range []string{"tcp", "udp"} {
				for _, port := range []uint16{22, 25, 53, 80, 443, 3306, 8080, 40001} {
					q := Query{Proto: proto, Port: port}
					if a, b := grouped.Evaluate(q), every.Evaluate(q); !reflect.DeepEqual(a, b) {
						t.Errorf("%s/%d: grouped %+v, every interface %+v", proto, port, a, b)
					}
				}
			}
		})
	}
	// a ruleset that tests interfaces on the input path only (where the
	// classes are used): interfaces named with and without wildcards,
	// negated, in user chains, beside source and port matches
	var b strings.Builder
	b.WriteString("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:lan - [0:0]\n")
	b.WriteString("-A INPUT -i lo -j ACCEPT\n-A INPUT -i eth+ -s 10.0.0.0/8 -j lan\n-A INPUT ! -i wg0 -p udp --dport 51820 -j DROP\n")
	for i := 0; i < 12; i++ {
		fmt.Fprintf(&b, "-A INPUT -i eth%d -p tcp --dport %d -j ACCEPT\n", i%4, 8000+i)
		fmt.Fprintf(&b, "-A INPUT -i vlan%d -s 192.0.2.%d -p tcp --dport %d -j ACCEPT\n", i%3, i, 22+i%2)
		fmt.Fprintf(&b, "-A lan -i eth%d -p udp --dport %d -j ACCEPT\n", i%5, 53+i)
	}
	b.WriteString("-A lan -j RETURN\n-A INPUT -p tcp --dport 443 -j ACCEPT\n-A INPUT -i br0 -j ACCEPT\nCOMMIT\n")
	rs, err := ParseSave(strings.NewReader(b.String()), "ifaces.rules", IPv4)
	if err != nil {
		t.Fatal(err)
	}
	grouped := NewEvaluator(IPv4, []*Ruleset{rs}, Host{})
	every := NewEvaluator(IPv4, []*Ruleset{rs}, Host{})
	every.ifaceGrouping = false
	if !grouped.ifaceGrouping || len(grouped.ifaces) < 8 {
		t.Fatalf("the synthetic ruleset should use the classes: grouping %v, %d interfaces", grouped.ifaceGrouping, len(grouped.ifaces))
	}
	classes := 0
	for _, proto := range []string{"tcp", "udp"} {
		for port := uint16(20); port < 9000; port += 7 {
			for _, p := range []uint16{port, 22, 23, 53, 54, 443, 8000, 8003, 8011, 51820} {
				q := Query{Proto: proto, Port: p}
				if a, b := grouped.Evaluate(q), every.Evaluate(q); !reflect.DeepEqual(a, b) {
					t.Fatalf("%s/%d: grouped %+v, every interface %+v", proto, p, a, b)
				}
			}
		}
		rep := grouped.ifaceClasses(6, grouped.dsts, []uint16{8001})
		for i, r := range rep {
			if r == i {
				classes++
			}
		}
	}
	if classes >= 2*len(grouped.ifaces) {
		t.Errorf("no two interfaces shared a walk (%d interfaces): the test checks nothing", len(grouped.ifaces))
	}
	n := readNftJSON(t, "GEN-sample-ruleset-vmaps.nft-j.json")
	for _, fam := range []Family{IPv4, IPv6} {
		grouped := NewEvaluator(fam, []*Ruleset{n.Family(fam)}, Host{})
		every := NewEvaluator(fam, []*Ruleset{n.Family(fam)}, Host{})
		every.ifaceGrouping = false
		for _, port := range []uint16{22, 53, 80, 123, 8443} {
			q := Query{Proto: "tcp", Port: port}
			if a, b := grouped.Evaluate(q), every.Evaluate(q); !reflect.DeepEqual(a, b) {
				t.Errorf("nft %s tcp/%d: grouped %+v, every interface %+v", fam, port, a, b)
			}
		}
	}
}

// fullIfaceClasses is ifaceClasses as first written: every interface's
// signature holds every interface rule's answer (quadratic, but plainly
// right). The classes of the sparse signatures must be the same.
func fullIfaceClasses(e *Evaluator, proto int, dsts []netip.Addr, ports []uint16) []int {
	rep := make([]int, len(e.ifaces))
	for i := range rep {
		rep[i] = i
	}
	if !e.ifaceGrouping || len(e.ifaces) < 2 {
		return rep
	}
	last := map[string]int{}
	for i := len(e.ifaces) - 1; i >= 0; i-- {
		var sig []byte
		for _, dst := range dsts {
			for _, port := range ports {
				for _, sp := range e.sports {
					p := pktCtx{proto: proto, sport: sp, dport: port, in: e.ifaces[i], dst: dst,
						dstType: e.dstType(dst), state: stNew, flags: tcpSYN}
					for _, cr := range e.ifaceRules {
						sig = append(sig, byte(cr.r.m.test(&p)))
					}
				}
			}
		}
		if j, ok := last[string(sig)]; ok {
			rep[i] = j
		} else {
			last[string(sig)] = i
		}
	}
	return rep
}

// TestInterfaceClassesSparse: rules naming one interface exactly are
// only asked about that interface; the classes equal those of the full
// signatures, live (many interfaces, names that prefix others, a wildcard
// over some of them, negations, a named rule deep in a user chain, two
// rules naming one interface) and offline.
func TestInterfaceClassesSparse(t *testing.T) {
	var b strings.Builder
	b.WriteString("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:deep - [0:0]\n")
	b.WriteString("-A INPUT -i lo -j ACCEPT\n-A INPUT -i eth1+ -p udp --dport 53 -j ACCEPT\n-A INPUT ! -i eth3 -p tcp --dport 25 -j DROP\n-A INPUT -s 10.0.0.0/8 -j deep\n")
	var ifaces []string
	for i := 0; i < 40; i++ {
		name := fmt.Sprintf("eth%d", i)
		ifaces = append(ifaces, name)
		if i%3 != 0 {
			fmt.Fprintf(&b, "-A INPUT -i %s -p tcp --dport %d -j ACCEPT\n", name, 8000+i%4)
		}
		if i%7 == 0 {
			fmt.Fprintf(&b, "-A INPUT -i %s -s 192.0.2.%d -p tcp --dport 22 -j ACCEPT\n", name, i)
		}
		if i%5 == 0 {
			fmt.Fprintf(&b, "-A deep -i %s -p tcp --dport 8001 -j ACCEPT\n", name)
		}
	}
	b.WriteString("-A deep -j RETURN\nCOMMIT\n")
	rs, err := ParseSave(strings.NewReader(b.String()), "sparse.rules", IPv4)
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []Host{{}, {Interfaces: ifaces, Addrs: []netip.Addr{netip.MustParseAddr("198.51.100.1")}}} {
		e := NewEvaluator(IPv4, []*Ruleset{rs}, host)
		if !e.ifaceGrouping || len(e.ifaceNamed) < 20 || len(e.ifaceOther) < 1 {
			t.Fatalf("the ruleset should name interfaces both ways: grouping %v, %d named, %d other", e.ifaceGrouping, len(e.ifaceNamed), len(e.ifaceOther))
		}
		classes := 0
		for _, proto := range []int{6, 17} {
			for _, port := range []uint16{22, 25, 53, 8000, 8001, 8002, 8003, 9999} {
				got, want := e.ifaceClasses(proto, e.dsts, []uint16{port}), fullIfaceClasses(e, proto, e.dsts, []uint16{port})
				if !slices.Equal(got, want) {
					t.Fatalf("live %v, proto %d port %d: classes %v, full signatures give %v", len(host.Interfaces) > 0, proto, port, got, want)
				}
				for i, r := range got {
					if r == i {
						classes++
					}
				}
			}
		}
		if classes == 16*len(e.ifaces) {
			t.Errorf("no two interfaces shared a class: the test checks nothing")
		}
	}
}
