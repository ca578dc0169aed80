package suggest

import (
	"fmt"
	"testing"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/scan"
)

// TestPublishedOnLoopback: Docker 20.10's rules for -p 8080:80
// -p 8081:81/udp -p 192.0.2.10:8082:80 -p 127.0.0.1:8083:80 with no
// socket for any of them (the userland proxy off): the ports published
// on every address or on 192.0.2.10 are decided as listeners of their
// own, where they are published; 8083 ("-d 127.0.0.1/32 ... -j DNAT")
// is published on loopback, which nothing outside reaches, and is left
// out rather than read as published on 0.0.0.0.
func TestPublishedOnLoopback(t *testing.T) {
	cur := dockerCurrent(t, dockerFile(t, "docker20-nft-default.iptables-save"), notRead, "docker0")
	ls := []scan.Listener{lst("tcp", "::", 22, "sshd", true)}
	p, _, err := Build(ls, Options{Current: cur})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range p.published {
		got = append(got, fmt.Sprintf("%s %s:%d", l.Proto, l.Address, l.Port))
	}
	want := map[string]bool{"tcp 0.0.0.0:8080": true, "udp 0.0.0.0:8081": true, "tcp 192.0.2.10:8082": true}
	for _, g := range got {
		if !want[g] {
			t.Errorf("published listener %s, want only 8080, 8081/udp and 192.0.2.10:8082", g)
		}
		delete(want, g)
	}
	for w := range want {
		t.Errorf("no published listener %s (got %v)", w, got)
	}
	for _, pb := range publishes(cur, firewall.IPv4) {
		if pb.port == 8083 && pb.addr.String() != "127.0.0.1" {
			t.Errorf("8083 read as published on %s, want 127.0.0.1", pb.addr)
		}
	}
}
