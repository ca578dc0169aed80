package report

import (
	"strconv"
	"strings"
	"testing"

	"github.com/fwaudit/fwaudit/scan"
)

// TestPublishedContainerSide: a socket that receives a published port
// names the container it leads to; a published port no host socket
// receives (the userland proxy off) is a row of its own, judged.
func TestPublishedContainerSide(t *testing.T) {
	rules := `*nat
:PREROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
-A PREROUTING -d 10.79.0.1/32 -p tcp -m tcp --dport 8082 -j DNAT --to-destination 172.17.0.3:80
-A PREROUTING -p udp -m udp --dport 5353 -j DNAT --to-destination 172.17.0.4:53
-A PREROUTING -d 127.0.0.1/32 -p tcp -m tcp --dport 8083 -j DNAT --to-destination 172.17.0.2:80
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -d 172.17.0.2/32 -p tcp -m tcp --dport 80 -j ACCEPT
-A FORWARD -s 192.0.2.0/24 -d 172.17.0.4/32 -p udp -m udp --dport 53 -j ACCEPT
COMMIT
`
	ls := []scan.Listener{
		listener("tcp", "0.0.0.0", 8080, "docker-proxy"),
		listener("tcp", "10.79.0.2", 8082, "other"), // not where 8082 is published
	}
	socks := Sockets(ls, fwFrom(t, rules, emptyV6))
	got := map[string]string{}
	for _, s := range socks {
		v := ""
		if s.Firewall != nil && s.Firewall.IPv4 != nil {
			v = s.Firewall.IPv4.Verdict + " " + strings.Join(s.Firewall.IPv4.Sources.Strings(), ",")
		}
		got[s.Proto+" "+s.Address+":"+strconv.Itoa(int(s.Port))] = ProcessLabel(s) + " | " + strings.Join(s.ForwardsTo, ",") + " | " + v
	}
	want := map[string]string{
		"tcp 0.0.0.0:8080":   "docker-proxy → 172.17.0.2:80 | 172.17.0.2:80 | open ",
		"tcp 10.79.0.2:8082": "other |  | blocked ",
		"tcp 10.79.0.1:8082": "(published) → 172.17.0.3:80 | 172.17.0.3:80 | blocked ",
		"udp 0.0.0.0:5353":   "(published) → 172.17.0.4:53 | 172.17.0.4:53 | restricted 192.0.2.0/24",
		// -p 127.0.0.1:8083:80: published on loopback, not on every
		// address, and still forwarded from a neighbour that sends to
		// 127.0.0.1 (no rule drops it): routing sees the container's
		// address (TestMartianLoopbackDestination)
		"tcp 127.0.0.1:8083": "(published) → 172.17.0.2:80 | 172.17.0.2:80 | open ",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: got %q, want %q", k, got[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("rows: got %v, want %d rows", got, len(want))
	}
}
