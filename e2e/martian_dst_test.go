//go:build linux

package e2e

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// TestMartianLoopbackDestination measures what the kernel does with a SYN
// for 127.0.0.1 that a neighbour puts on the wire to the host (IP header
// destination 127.0.0.1, frame to the host's link address), with
// route_localnet 0 and 1 on the input interface:
//
//   - port 8080, published on 127.0.0.1 by a nat DNAT (-d 127.0.0.1 ...
//     -j DNAT to a backend, as Docker's -p 127.0.0.1:8080:80 without its
//     raw-table drop): routing sees the translated destination, so the
//     martian-destination drop never applies and the SYN is forwarded to
//     the backend whatever route_localnet says;
//   - port 9000, a socket bound to 127.0.0.1 and no DNAT: dropped in
//     routing as a martian destination where route_localnet is 0, handed
//     to INPUT and the socket where it is 1.
//
// fwaudit scan's verdict of the published port must agree with those
// counts; that of the socket is logged only: the path route_localnet
// opens to it is not judged yet (its reasons say so in the evaluator).
func TestMartianLoopbackDestination(t *testing.T) {
	lab := NewLab(t)
	backend := lab.AddBackend()
	lab.Start(backend, "nginx", "tcp:0.0.0.0:80")
	lab.Start(lab.Host, "unknownd", "tcp:127.0.0.1:9000")
	backend.RunInput([]byte("*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -i eth0 -p tcp -m tcp --dport 80\nCOMMIT\n"), "iptables-restore")
	rules := fmt.Sprintf("*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -d 127.0.0.1/32 -i veth0 -p tcp\nCOMMIT\n"+
		"*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"+
		"-A PREROUTING -d 127.0.0.1/32 ! -i ctr0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination %s:80\nCOMMIT\n"+
		"*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -i veth0 -p tcp -m tcp --dport 9000\n"+
		"-A FORWARD -d %s/32 -o ctr0 -p tcp -m tcp --dport 80 -j ACCEPT\n-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\nCOMMIT\n", BackendV4, BackendV4)
	lo := netip.MustParseAddr("127.0.0.1")
	for _, c := range []struct {
		name, all, dev string
		direct         bool // the kernel hands the SYN for 127.0.0.1:9000 to INPUT
	}{
		{"route_localnet 0", "0", "0", false},
		{"route_localnet 1 on veth0", "0", "1", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			lab.Host.Run("sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.veth0.rp_filter=0",
				"net.ipv4.conf.all.route_localnet="+c.all, "net.ipv4.conf.veth0.route_localnet="+c.dev)
			lab.LoadIptables(rules)
			backend.Run("iptables", "-t", "raw", "-Z")
			for _, port := range []uint16{8080, 9000} {
				if err := sendSYNVia(lab.Peer, PeerV4[0], lo, HostV4, port); err != nil {
					t.Fatal(err)
				}
			}
			ctr := lab.ReadCounters("iptables-save")
			raw, in, fwd := ctr["raw"]["PREROUTING"].Rules[0].Pkts, ctr["filter"]["INPUT"].Rules[0].Pkts, ctr["filter"]["FORWARD"].Rules[0].Pkts
			bctr, err := ParseCounters(backend.Run("iptables-save", "-c"))
			if err != nil {
				t.Fatal(err)
			}
			got := bctr["raw"]["PREROUTING"].Rules[0].Pkts
			t.Logf("kernel: host raw PREROUTING %d, INPUT (9000) %d, FORWARD (8080 -> backend) %d; backend received %d", raw, in, fwd, got)
			if raw != 2 {
				t.Fatalf("host raw PREROUTING counted %d SYNs for 127.0.0.1, want 2 (the probes did not arrive)", raw)
			}
			if fwd != 1 || got != 1 {
				t.Errorf("kernel: the SYN for the DNAT on 127.0.0.1:8080 was forwarded %d times, received by the backend %d times, want 1 and 1", fwd, got)
			}
			if (in == 1) != c.direct {
				t.Errorf("kernel: INPUT counted %d SYNs for 127.0.0.1:9000, want reached=%v", in, c.direct)
			}
			s := lab.Scan()
			// fwaudit must agree: the published port is judged by the
			// rules in both cases (FORWARD accepts it, the DNAT skips
			// ctr0: restricted to veth0, from anyone)
			if fv := verdictOf(t, s, "tcp", "ipv4", 8080, "ipv4"); fv.Verdict != "restricted" || strings.Join(fv.Interfaces, ",") != "veth0" || len(fv.Sources) != 0 {
				t.Errorf("fwaudit scan: 127.0.0.1:8080 (published) %s %v on %v %v, want restricted to veth0, any source (the kernel forwarded the SYN)",
					fv.Verdict, fv.Sources, fv.Interfaces, fv.Reasons)
			}
			// the socket: fwaudit does not judge the direct path yet
			// where route_localnet lets it in; its verdict stays
			// not-applicable and is logged beside the kernel's count
			fv := verdictOf(t, s, "tcp", "ipv4", 9000, "ipv4")
			t.Logf("fwaudit scan: 127.0.0.1:9000 %s %v (kernel: INPUT counted %d)", fv.Verdict, fv.Reasons, in)
		})
	}
}
