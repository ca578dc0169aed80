//go:build linux

package e2e

import (
	"net/netip"
	"testing"
)

// TestDockerUserOrigDstPort: a published port restricted in DOCKER-USER by
// the port the client used (--ctorigdstport: the destination port is the
// container's by then), as Docker's documentation advises; ctstate NEW
// keeps the rule off the replies, which carry the same original tuple.
// The kernel lets only 192.0.2.3 in on 8080 and drops 8081's UDP from
// everyone; fwaudit must say the same.
func TestDockerUserOrigDstPort(t *testing.T) {
	lab := NewLab(t)
	backend := lab.AddBackend()
	lab.Start(backend, "nginx", "tcp:0.0.0.0:80")
	lab.Start(backend, "named", "udp:0.0.0.0:53")
	lab.Start(lab.Host, "unknownd", "tcp:0.0.0.0:8080", "udp:0.0.0.0:8081")
	lab.LoadIptables(`*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 8080 -j DNAT --to-destination 198.51.100.2:80
-A PREROUTING -p udp -m udp --dport 8081 -j DNAT --to-destination 198.51.100.2:53
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -d 198.51.100.2/32 -p tcp -m tcp --dport 80 -j ACCEPT
-A FORWARD -d 198.51.100.2/32 -p udp -m udp --dport 53 -j ACCEPT
-A DOCKER-USER ! -s 192.0.2.3/32 -p tcp -m conntrack --ctstate NEW --ctorigdstport 8080 -j DROP
-A DOCKER-USER -p udp -m conntrack --ctstate NEW --ctorigdstport 8081 -j DROP
-A DOCKER-USER -j RETURN
COMMIT
`)
	scan := lab.Scan()
	for _, c := range []struct {
		proto string
		port  uint16
		in    map[string]bool
	}{
		{"tcp", 8080, map[string]bool{"192.0.2.2": false, "192.0.2.3": true}},
		{"udp", 8081, map[string]bool{"192.0.2.2": false, "192.0.2.3": false}},
	} {
		socks := scan.Find(c.proto, "ipv4", c.port)
		if len(socks) != 1 || socks[0].Firewall == nil || socks[0].Firewall.IPv4 == nil {
			t.Fatalf("fwaudit scan: %s/%d: want one IPv4 socket with a verdict, got %+v", c.proto, c.port, socks)
		}
		fv := socks[0].Firewall.IPv4
		for src, want := range c.in {
			got := lab.Probe(c.proto, src, HostV4.String(), c.port)
			if got != want {
				t.Errorf("kernel: %s/%d from %s got in = %v, the scenario expects %v", c.proto, c.port, src, got, want)
			}
			if admitted, decided := fv.Admits(netip.MustParseAddr(src), lab.HostIf); !decided || admitted != got {
				t.Errorf("%s/%d from %s: kernel let in = %v, fwaudit says %s %v (rule %q)", c.proto, c.port, src, got, fv.Verdict, fv.Sources, fv.Rule)
			}
		}
	}
}

// TestCtOrigDst: FORWARD rules on the connection's original destination
// (iptables --ctorigdst, nft ct original ip daddr) see the host address
// the client used, not the backend's after the DNAT; ct original ip saddr
// is the client. 8082 is let in from one source only; 8083's rule names
// the backend as the original destination, which it never is.
func TestCtOrigDst(t *testing.T) {
	rulesets := []struct {
		name string
		load func(lab *Lab)
	}{
		{"iptables", func(lab *Lab) {
			lab.LoadIptables(`*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 8082 -j DNAT --to-destination 198.51.100.2:80
-A PREROUTING -p tcp -m tcp --dport 8083 -j DNAT --to-destination 198.51.100.2:80
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -s 192.0.2.3/32 -m conntrack --ctorigdst 192.0.2.1 --ctorigdstport 8082 -j ACCEPT
-A FORWARD -m conntrack --ctorigdst 198.51.100.2 --ctorigdstport 8083 -j ACCEPT
COMMIT
`)
		}},
		{"nft", func(lab *Lab) {
			lab.LoadNft(`table ip nat {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		tcp dport { 8082, 8083 } dnat to 198.51.100.2:80
	}
}
table ip filter {
	chain input {
		type filter hook input priority filter; policy drop;
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		ct original ip saddr 192.0.2.3 ct original ip daddr 192.0.2.1 meta l4proto tcp ct original proto-dst 8082 accept
		ct original ip daddr 198.51.100.2 meta l4proto tcp ct original proto-dst 8083 accept
	}
}
`)
		}},
	}
	for _, rs := range rulesets {
		t.Run(rs.name, func(t *testing.T) {
			lab := NewLab(t)
			backend := lab.AddBackend()
			lab.Start(backend, "nginx", "tcp:0.0.0.0:80")
			lab.Start(lab.Host, "unknownd", "tcp:0.0.0.0:8082", "tcp:0.0.0.0:8083")
			rs.load(lab)
			scan := lab.Scan()
			for _, c := range []struct {
				port uint16
				in   map[string]bool
			}{
				{8082, map[string]bool{"192.0.2.2": false, "192.0.2.3": true}},
				{8083, map[string]bool{"192.0.2.2": false, "192.0.2.3": false}},
			} {
				socks := scan.Find("tcp", "ipv4", c.port)
				if len(socks) != 1 || socks[0].Firewall == nil || socks[0].Firewall.IPv4 == nil {
					t.Fatalf("fwaudit scan: tcp/%d: want one IPv4 socket with a verdict, got %+v", c.port, socks)
				}
				fv := socks[0].Firewall.IPv4
				for src, want := range c.in {
					got := lab.Probe("tcp", src, HostV4.String(), c.port)
					if got != want {
						t.Errorf("kernel: tcp/%d from %s got in = %v, the scenario expects %v", c.port, src, got, want)
					}
					if admitted, decided := fv.Admits(netip.MustParseAddr(src), lab.HostIf); !decided || admitted != got {
						t.Errorf("tcp/%d from %s: kernel let in = %v, fwaudit says %s %v (rule %q, reasons %v)", c.port, src, got, fv.Verdict, fv.Sources, fv.Rule, fv.Reasons)
					}
				}
			}
		})
	}
}
