//go:build linux

package e2e

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// The host side of a bridged container, as Docker builds it: a bridge with
// an address, and a veth port whose other end is the container's eth0.
const (
	bridgeName   = "br-c0"
	bridgePort   = "vethc0"
	bridgeHostV4 = "172.30.0.1"
	bridgeCtrV4  = "172.30.0.2"
)

// AddBridgedContainer adds a namespace behind a bridge of the host (br-c0,
// 172.30.0.0/24, the namespace at .2 with its default route through the
// host). It is deleted with the lab.
func (lab *Lab) AddBridgedContainer() *Netns {
	lab.T.Helper()
	ns := &Netns{Name: strings.Replace(lab.Host.Name, "fwa-h-", "fwa-c-", 1), lab: lab}
	if _, stderr, err := runCmd("", nil, "ip", "netns", "add", ns.Name); err != nil {
		lab.T.Fatalf("ip netns add %s: %v: %s", ns.Name, err, stderr)
	}
	lab.mu.Lock()
	lab.extra = append(lab.extra, ns)
	lab.mu.Unlock()
	h, c := lab.Host.Name, ns.Name
	for _, s := range [][]string{
		{"ip", "-n", h, "link", "add", bridgeName, "type", "bridge"},
		{"ip", "-n", h, "addr", "add", bridgeHostV4 + "/24", "dev", bridgeName},
		{"ip", "-n", h, "link", "add", bridgePort, "type", "veth", "peer", "name", "eth0", "netns", c},
		{"ip", "-n", h, "link", "set", bridgePort, "master", bridgeName},
		{"ip", "-n", h, "link", "set", bridgePort, "up"},
		{"ip", "-n", h, "link", "set", bridgeName, "up"},
		{"ip", "-n", c, "addr", "add", bridgeCtrV4 + "/24", "dev", "eth0"},
		{"ip", "-n", c, "link", "set", "lo", "up"},
		{"ip", "-n", c, "link", "set", "eth0", "up"},
		{"ip", "-n", c, "route", "add", "default", "via", bridgeHostV4},
	} {
		if _, stderr, err := runCmd("", nil, s...); err != nil {
			lab.T.Fatalf("%s: %v: %s", strings.Join(s, " "), err, stderr)
		}
	}
	return ns
}

// A routed or delivered packet's input interface is the bridge, never the
// veth under it; and an accept on every interface but the containers'
// bridge is open to every outsider. Both front ends, one lab each.
func TestBridgeInterfaces(t *testing.T) {
	RequireRoot(t)
	rulesets := []struct {
		name string
		load func(lab *Lab)
	}{
		{"iptables", func(lab *Lab) {
			lab.LoadIptables(`*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT ! -i br-c0 -p tcp -m tcp --dport 8080 -j ACCEPT
-A INPUT -i br-c0 -p tcp -m tcp --dport 8081 -j ACCEPT
-A INPUT -s 172.30.0.0/24 -i br-c0 -p tcp -m tcp --dport 8082 -j ACCEPT
-A INPUT -s 192.0.2.2/32 -i veth0 -p tcp -m tcp --dport 8082 -j ACCEPT
-A INPUT -i vethc0 -p tcp -m tcp --dport 8083 -j ACCEPT
COMMIT
`)
		}},
		{"nft", func(lab *Lab) {
			lab.LoadNft(`table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		iif "lo" accept
		ct state established,related accept
		iifname != "br-c0" tcp dport 8080 accept
		iifname "br-c0" tcp dport 8081 accept
		iifname "br-c0" ip saddr 172.30.0.0/24 tcp dport 8082 accept
		iifname "veth0" ip saddr 192.0.2.2 tcp dport 8082 accept
		iifname "vethc0" tcp dport 8083 accept
	}
}
`)
		}},
	}
	type want struct {
		port    uint16
		verdict string
		ifaces  []string // restricted: the interfaces named
	}
	wants := []want{
		// every outside interface admits: open, though br-c0 does not
		{8080, "open", nil},
		// only the containers' bridge admits
		{8081, "restricted", []string{bridgeName}},
		// the containers' subnet on the bridge, one peer on the outside link
		{8082, "restricted", nil},
		// a bridge port is never the input interface: nobody
		{8083, "blocked", nil},
	}
	for _, rs := range rulesets {
		t.Run(rs.name, func(t *testing.T) {
			lab := NewLab(t)
			ctr := lab.AddBridgedContainer()
			lab.Start(lab.Host, "unknownd", "tcp:0.0.0.0:8080", "tcp:0.0.0.0:8081", "tcp:0.0.0.0:8082", "tcp:0.0.0.0:8083")
			rs.load(lab)
			scan := lab.Scan()
			for _, w := range wants {
				socks := scan.Find("tcp", "ipv4", w.port)
				if len(socks) != 1 || socks[0].Firewall == nil || socks[0].Firewall.IPv4 == nil {
					t.Fatalf("tcp/%d: want one IPv4 socket with a verdict, got %+v", w.port, socks)
				}
				fv := socks[0].Firewall.IPv4
				if fv.Verdict != w.verdict {
					t.Errorf("tcp/%d: verdict %q (%+v), want %q", w.port, fv.Verdict, fv, w.verdict)
				}
				if w.ifaces != nil && strings.Join(fv.Interfaces, ",") != strings.Join(w.ifaces, ",") {
					t.Errorf("tcp/%d: interfaces %v, want %v", w.port, fv.Interfaces, w.ifaces)
				}
				if txt := fmt.Sprintf("%+v", *fv); strings.Contains(txt, bridgePort) {
					t.Errorf("tcp/%d: the verdict names the bridge port %s: %s", w.port, bridgePort, txt)
				}
				// the kernel: two outside sources on veth0, one container on br-c0
				for _, p := range []struct{ src, iface string }{{"192.0.2.2", "veth0"}, {"192.0.2.3", "veth0"}} {
					got := lab.Probe("tcp", p.src, HostV4.String(), w.port)
					admits, decided := fv.Admits(netip.MustParseAddr(p.src), p.iface)
					if !decided || admits != got {
						t.Errorf("tcp/%d from %s on %s: kernel got in = %v; fwaudit %+v admits = %v (decided %v)", w.port, p.src, p.iface, got, *fv, admits, decided)
					}
				}
				if fv.Verdict == "open" {
					continue // open speaks for outsiders, not for the containers
				}
				out := ctr.Run(SvcBin, "probe", "-timeout", "1s", fmt.Sprintf("tcp,%s,%s,%d,0", bridgeCtrV4, HostV4, w.port))
				got := strings.TrimSpace(out) == "ok"
				admits, decided := fv.Admits(netip.MustParseAddr(bridgeCtrV4), bridgeName)
				if !decided || admits != got {
					t.Errorf("tcp/%d from the container on %s: kernel got in = %v; fwaudit %+v admits = %v (decided %v)", w.port, bridgeName, got, *fv, admits, decided)
				}
			}
		})
	}
}
