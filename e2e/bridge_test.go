//go:build linux

package e2e

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// The bridged stand-in container of addBridgedContainer (Docker 29's
// golden layout): the bridge, its veth port, and the container's address.
const (
	bridgeName  = "br-dummy"
	bridgePort  = "vethd29"
	bridgeCtrV4 = "192.168.0.2"
)

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
-A INPUT ! -i br-dummy -p tcp -m tcp --dport 8080 -j ACCEPT
-A INPUT -i br-dummy -p tcp -m tcp --dport 8081 -j ACCEPT
-A INPUT -s 192.168.0.0/24 -i br-dummy -p tcp -m tcp --dport 8082 -j ACCEPT
-A INPUT -s 192.0.2.2/32 -i veth0 -p tcp -m tcp --dport 8082 -j ACCEPT
-A INPUT -i vethd29 -p tcp -m tcp --dport 8083 -j ACCEPT
COMMIT
`)
		}},
		{"nft", func(lab *Lab) {
			lab.LoadNft(`table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		iif "lo" accept
		ct state established,related accept
		iifname != "br-dummy" tcp dport 8080 accept
		iifname "br-dummy" tcp dport 8081 accept
		iifname "br-dummy" ip saddr 192.168.0.0/24 tcp dport 8082 accept
		iifname "veth0" ip saddr 192.0.2.2 tcp dport 8082 accept
		iifname "vethd29" tcp dport 8083 accept
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
		// every outside interface admits: open, though br-dummy does not
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
			ctr := addBridgedContainer(lab)
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
				// the kernel: two outside sources on veth0, one container on br-dummy
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
