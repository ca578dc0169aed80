package firewall

import (
	"bytes"
	"fmt"
	"net/netip"
	"testing"
)

// benchRuleset is a blocklist-heavy ruleset of n rules, like
// scripts/benchfw generates.
func benchRuleset(n int) []byte {
	var b bytes.Buffer
	b.WriteString("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:SERVICES - [0:0]\n")
	b.WriteString("-A INPUT -i lo -j ACCEPT\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A INPUT -m conntrack --ctstate INVALID -j DROP\n")
	for i := 0; i < n-5; i++ {
		a := netip.AddrFrom4([4]byte{byte(1 + i>>16%200), byte(i >> 8), byte(i), byte(7 + i%3)})
		switch {
		case i%50 == 49:
			fmt.Fprintf(&b, "-A INPUT -s %s/24 -p tcp -m multiport --dports %d,%d,%d:%d -m conntrack --ctstate NEW -j ACCEPT\n",
				a, 1000+i%700, 2000+i%500, 3000+i%300, 3010+i%300)
		case i%100 == 77:
			fmt.Fprintf(&b, "-A INPUT -p udp -m udp --dport %d -m conntrack --ctstate NEW -j ACCEPT\n", 4000+i%1000)
		default:
			fmt.Fprintf(&b, "-A INPUT -s %s/32 -j DROP\n", a)
		}
	}
	b.WriteString("-A INPUT -p tcp -m multiport --dports 22,80,443 -j ACCEPT\n-A INPUT -j SERVICES\n")
	b.WriteString("-A SERVICES -s 10.0.0.0/8 -p tcp -m tcp --dport 5432 -j ACCEPT\nCOMMIT\n")
	return b.Bytes()
}

func benchQueries() []Query {
	var qs []Query
	for i := 0; i < 50; i++ {
		proto := "tcp"
		if i%5 == 4 {
			proto = "udp"
		}
		qs = append(qs, Query{Proto: proto, Addr: netip.IPv4Unspecified(), Port: uint16(1000 + i*37)})
	}
	return qs
}

func BenchmarkParseSave(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		data := benchRuleset(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				if _, err := ParseSave(bytes.NewReader(data), "bench", IPv4); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEvaluate50 is parse + compile + 50 listeners, the unit
// scripts/bench-firewall.sh compares with iptables-restore --test.
func BenchmarkEvaluate50(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		data := benchRuleset(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				rs, err := ParseSave(bytes.NewReader(data), "bench", IPv4)
				if err != nil {
					b.Fatal(err)
				}
				e := NewEvaluator(IPv4, []*Ruleset{rs}, Host{})
				for _, q := range benchQueries() {
					e.Evaluate(q)
				}
			}
		})
	}
}

func BenchmarkAnalyzeTUM(b *testing.B) {
	rs := loadFixture(b, "tum-large-4800rules-diekmann.iptables-save")
	for i := 0; i < b.N; i++ {
		Analyze(rs)
	}
}

// BenchmarkEvaluateOnly50 is the 50 listeners alone on a compiled 100,000
// rule ruleset (batches already swept by a first query).
func BenchmarkEvaluateOnly50(b *testing.B) {
	rs, err := ParseSave(bytes.NewReader(benchRuleset(100000)), "bench", IPv4)
	if err != nil {
		b.Fatal(err)
	}
	e := NewEvaluator(IPv4, []*Ruleset{rs}, Host{})
	e.Evaluate(Query{Proto: "tcp", Addr: netip.IPv4Unspecified(), Port: 1})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, q := range benchQueries() {
			e.Evaluate(q)
		}
	}
}
