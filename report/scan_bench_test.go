package report

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/scan"
)

// BenchmarkScanRender times what `scan -o json` does after the scan:
// report.Sockets (verdicts and order) and the JSON, for 6,000 listeners
// in the scanner's order (one port each), without rules and under a small ruleset.
func BenchmarkScanRender(b *testing.B) {
	var ls []scan.Listener
	for i := range 6000 {
		addr := "127.0.0.1"
		if i%3 == 1 {
			addr = "::1"
		} else if i%3 == 2 {
			addr = fmt.Sprintf("127.0.%d.%d", i/250%250, i%250+1)
		}
		proto := "tcp"
		if i%6 == 5 {
			proto = "udp"
		}
		ls = append(ls, listener(proto, addr, uint16(20000+i), "loadgen"))
	}
	rs, err := firewall.ParseSave(strings.NewReader("*filter\n:INPUT DROP [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n"), "rules.v4", firewall.IPv4)
	if err != nil {
		b.Fatal(err)
	}
	fw := &firewall.Loaded{V6: firewall.FamilyRules{Why: "not provided"}, V4: firewall.FamilyRules{Sets: []*firewall.Ruleset{rs}}}
	for _, c := range []struct {
		name string
		fw   *firewall.Loaded
	}{{"no-firewall", nil}, {"firewall", fw}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				doc := &ScanDoc{SchemaVersion: 1, Host: Host{Hostname: "h"}, Sockets: Sockets(ls, c.fw)}
				if err := doc.WriteJSON(io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
