package firewall

import (
	"net/netip"
	"strings"
	"testing"
)

// TestMarks: a mark a rule sets is followed exactly, on later hooks and
// later in the same chain; one restored from the connection leaves the
// match to runtime (conditional where it matters).
func TestMarks(t *testing.T) {
	tests := []struct {
		name    string
		rules   string
		port    uint16
		verdict Verdict
		sources []string
	}{
		{"set in mangle, matched in filter", `*mangle
:PREROUTING ACCEPT [0:0]
-A PREROUTING -s 192.0.2.0/24 -p tcp --dport 9000 -j MARK --set-xmark 0x2a/0xffffffff
COMMIT
*filter
:INPUT DROP [0:0]
-A INPUT -m mark --mark 0x2a -j ACCEPT
COMMIT
`, 9000, Restricted, []string{"192.0.2.0/24"}},
		{"a port no rule marks", `*mangle
:PREROUTING ACCEPT [0:0]
-A PREROUTING -p tcp --dport 9000 -j MARK --set-mark 0x2a
COMMIT
*filter
:INPUT DROP [0:0]
-A INPUT -m mark --mark 0x2a -j ACCEPT
COMMIT
`, 9001, Blocked, nil},
		{"or-mark and a masked match", `*mangle
:PREROUTING ACCEPT [0:0]
-A PREROUTING -p tcp --dport 9000 -j MARK --or-mark 0x4000
COMMIT
*filter
:INPUT DROP [0:0]
-A INPUT -m mark ! --mark 0x0/0x4000 -j ACCEPT
COMMIT
`, 9000, Open, nil},
		{"set and matched in one chain", `*filter
:INPUT DROP [0:0]
-A INPUT -p tcp --dport 9000 -j MARK --set-mark 0x1
-A INPUT -m mark --mark 0x1 -j ACCEPT
COMMIT
`, 9000, Open, nil},
		{"restored from the connection", `*mangle
:PREROUTING ACCEPT [0:0]
-A PREROUTING -j CONNMARK --restore-mark
COMMIT
*filter
:INPUT DROP [0:0]
-A INPUT -m mark --mark 0x1 -j ACCEPT
COMMIT
`, 22, Conditional, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := ParseSave(strings.NewReader(tt.rules), "marks.rules", IPv4)
			if err != nil {
				t.Fatal(err)
			}
			e := NewEvaluator(IPv4, []*Ruleset{rs}, Host{})
			r := e.Evaluate(Query{Proto: "tcp", Port: tt.port})
			if r.Verdict != tt.verdict {
				t.Fatalf("got %+v, want %s", r, tt.verdict)
			}
			if tt.sources != nil {
				var want []netip.Prefix
				for _, s := range tt.sources {
					want = append(want, netip.MustParsePrefix(s))
				}
				if len(r.Sources) != len(want) || r.Sources[0] != want[0] {
					t.Errorf("sources %v, want %v", r.Sources, want)
				}
			}
			// explain walks the same packet to the same end
			d := e.Decide(Packet{Proto: "tcp", Src: netip.MustParseAddr("192.0.2.9"), DPort: tt.port})
			want := map[Verdict]string{Open: DecideAccept, Restricted: DecideAccept, Blocked: DecideDrop, Conditional: DecideConditional}[tt.verdict]
			if d.Verdict != want {
				t.Errorf("Decide from 192.0.2.9: %s, want %s (%+v)", d.Verdict, want, d)
			}
		})
	}
}
