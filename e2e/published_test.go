//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"testing"
)

// A port published the way Docker does it: nat PREROUTING DNATs it to a
// host behind this one, so FORWARD, not INPUT, decides who gets in. The
// socket fwaudit sees on the host (Docker's userland proxy) is never where
// outside traffic lands, yet its port is reachable: the verdict must say
// who reaches it through FORWARD.
func TestPublishedPort(t *testing.T) {
	lab := NewLab(t)
	backend := lab.AddBackend()
	lab.Start(backend, "nginx", "tcp:0.0.0.0:80", "tcp:0.0.0.0:81")
	lab.Start(lab.Host, "sshd", "tcp:0.0.0.0:22")
	lab.Start(lab.Host, "unknownd", "tcp:0.0.0.0:8080", "tcp:0.0.0.0:9090")
	lab.LoadIptables(`*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A DOCKER ! -i ctr0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 198.51.100.2:80
-A DOCKER ! -i ctr0 -p tcp -m tcp --dport 9090 -j DNAT --to-destination 198.51.100.2:81
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-USER - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 9090 -j ACCEPT
-A FORWARD -j DOCKER-USER
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o ctr0 -j DOCKER
-A DOCKER-USER -s 192.0.2.2/32 -j DROP
-A DOCKER-USER -j RETURN
-A DOCKER -d 198.51.100.2/32 ! -i ctr0 -o ctr0 -p tcp -m tcp --dport 80 -j ACCEPT
COMMIT
`)
	type want struct {
		port uint16
		in   map[string]bool   // peer source -> got in
		rule map[string]string // peer source -> the rule explain must name
	}
	const (
		sshRule    = "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT"
		userDrop   = "-A DOCKER-USER -s 192.0.2.2/32 -j DROP"
		dockerRule = "-A DOCKER -d 198.51.100.2/32 ! -i ctr0 -o ctr0 -p tcp -m tcp --dport 80 -j ACCEPT"
	)
	cases := []want{
		{22, map[string]bool{"192.0.2.2": true, "192.0.2.3": true}, map[string]string{"192.0.2.2": sshRule, "192.0.2.3": sshRule}},
		// DOCKER-USER drops .2; DOCKER accepts the rest
		{8080, map[string]bool{"192.0.2.2": false, "192.0.2.3": true}, map[string]string{"192.0.2.2": userDrop, "192.0.2.3": dockerRule}},
		// INPUT accepts 9090, but the DNAT sends it to FORWARD, which has
		// no accept for port 81: nobody gets in
		{9090, map[string]bool{"192.0.2.2": false, "192.0.2.3": false}, map[string]string{"192.0.2.2": userDrop, "192.0.2.3": "-P FORWARD DROP"}},
	}
	scan := lab.Scan()
	for _, c := range cases {
		socks := scan.Find("tcp", "ipv4", c.port)
		if len(socks) != 1 || socks[0].Firewall == nil || socks[0].Firewall.IPv4 == nil {
			t.Fatalf("fwaudit scan: tcp/%d: want one IPv4 socket with a verdict, got %+v", c.port, socks)
		}
		fv := socks[0].Firewall.IPv4
		for src, wantIn := range c.in {
			got := lab.Probe("tcp", src, HostV4.String(), c.port)
			if got != wantIn {
				t.Errorf("kernel: tcp/%d from %s got in = %v, the scenario expects %v", c.port, src, got, wantIn)
			}
			admitted, decided := fv.Admits(netip.MustParseAddr(src), lab.HostIf)
			if !decided || admitted != got {
				t.Errorf("tcp/%d from %s: kernel let in = %v, fwaudit says %s %v (rule %q)",
					c.port, src, got, fv.Verdict, fv.Sources, fv.Rule)
			}
			// explain walks the same packet and must agree with the kernel
			stdout, stderr, code := lab.Fwaudit("explain", fmt.Sprintf("tcp/%d", c.port), "--from", src, "-o", "json")
			if code != 0 {
				t.Fatalf("fwaudit explain tcp/%d: exit %d: %s", c.port, code, stderr)
			}
			var ex struct{ Verdict, Rule string }
			if err := json.Unmarshal([]byte(stdout), &ex); err != nil {
				t.Fatalf("fwaudit explain -o json: %v\n%s", err, stdout)
			}
			if (ex.Verdict == "accept") != got || ex.Rule != c.rule[src] {
				t.Errorf("explain tcp/%d --from %s = %s by %q; kernel let in = %v, want rule %q", c.port, src, ex.Verdict, ex.Rule, got, c.rule[src])
			}
		}
	}
}
