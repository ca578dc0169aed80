//go:build linux

package e2e

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestMartianLoopbackSource: a packet from 127.0.0.0/8 arriving on an
// interface other than lo reaches the input chains only where
// route_localnet is 1 (on the interface or on all); otherwise the kernel
// drops it in routing as a martian source, after the raw PREROUTING chain
// (which counts it) and before INPUT. The report's loopback check must
// follow: pass where the kernel drops it, ask for a rule where it does not,
// and pass again once a rule drops it.
func TestMartianLoopbackSource(t *testing.T) {
	lab := NewLab(t)
	lab.Start(lab.Host, "sshd", "tcp:0.0.0.0:22")
	spoofed := netip.MustParseAddr("127.0.0.5") // not an address of lo: 127.0.0.1 is dropped even with route_localnet 1
	// counting rules (no target) in raw PREROUTING (the packet arrived)
	// and filter INPUT (it passed routing); drop: a rule that drops it
	rules := func(drop bool) string {
		s := "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -s 127.0.0.0/8 -i veth0 -p tcp -m tcp --dport 22\nCOMMIT\n" +
			"*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -s 127.0.0.0/8 -i veth0 -p tcp -m tcp --dport 22\n"
		if drop {
			s += "-A INPUT -s 127.0.0.0/8 -i veth0 -j DROP\n"
		}
		return s + "COMMIT\n"
	}
	for _, c := range []struct {
		name      string
		all, dev  string // route_localnet
		drop      bool   // a rule drops the source
		reachesIn bool   // the kernel: INPUT sees the packet
		check     string // the report's loopback-v4
	}{
		{"route_localnet 0", "0", "0", false, false, "pass"},
		{"route_localnet 1 on veth0", "0", "1", false, true, "fail"},
		{"route_localnet 1 on all", "1", "0", false, true, "fail"},
		{"route_localnet 1, a rule drops", "1", "1", true, true, "pass"},
	} {
		t.Run(c.name, func(t *testing.T) {
			lab.Host.Run("sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.veth0.rp_filter=0",
				"net.ipv4.conf.all.route_localnet="+c.all, "net.ipv4.conf.veth0.route_localnet="+c.dev)
			lab.LoadIptables(rules(c.drop))
			if err := sendSYN(lab.Peer, spoofed, HostV4, 22); err != nil {
				t.Fatal(err)
			}
			ctr := lab.ReadCounters("iptables-save")
			raw, in := ctr["raw"]["PREROUTING"].Rules[0].Pkts, ctr["filter"]["INPUT"].Rules[0].Pkts
			if raw != 1 {
				t.Fatalf("raw PREROUTING counted %d packets from %s, want 1 (the probe did not arrive)", raw, spoofed)
			}
			if got := in == 1; got != c.reachesIn {
				t.Fatalf("kernel: INPUT counted %d packets from %s, want reached=%v", in, spoofed, c.reachesIn)
			}
			r := runReport(t, lab)
			if got := r.status("loopback-v4"); got != c.check {
				t.Errorf("loopback-v4 = %s (%s), want %s", got, r.detail("loopback-v4"), c.check)
			}
			if strings.Contains(r.detail("loopback-v4"), "not read") {
				t.Errorf("live report assumes route_localnet: %s", r.detail("loopback-v4"))
			}
		})
	}

	// route_localnet is per interface: 0 on veth0, 1 on a second outside
	// interface (named to sort after veth0, the one Decide picks when
	// given none), where a rule accepting ssh lets the source in; the
	// check must find it there, whatever veth0 does.
	t.Run("one of two interfaces", func(t *testing.T) {
		wan := lab.AddLink("wan1")
		lab.Host.Run("sysctl", "-q", "-w", "net.ipv4.conf.all.route_localnet=0", "net.ipv4.conf.veth0.route_localnet=0", "net.ipv4.conf.wan1.route_localnet=1")
		lab.LoadIptables("*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -s 127.0.0.0/8 -i wan1 -p tcp -m tcp --dport 22\nCOMMIT\n" +
			"*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -s 127.0.0.0/8 -i wan1 -p tcp -m tcp --dport 22\n-A INPUT -i lo -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n")
		if err := sendSYN(wan.Peer, spoofed, wan.HostV4, 22); err != nil {
			t.Fatal(err)
		}
		ctr := lab.ReadCounters("iptables-save")
		if raw, in := ctr["raw"]["PREROUTING"].Rules[0].Pkts, ctr["filter"]["INPUT"].Rules[0].Pkts; raw != 1 || in != 1 {
			t.Fatalf("kernel: from %s on wan1, raw PREROUTING counted %d and INPUT %d, want 1 and 1", spoofed, raw, in)
		}
		r := runReport(t, lab)
		if got, d := r.status("loopback-v4"), r.detail("loopback-v4"); got != "fail" || !strings.Contains(d, "on wan1") {
			t.Errorf("loopback-v4 = %s (%s), want fail on wan1", got, d)
		}
	})

	// IPv6 has no route_localnet: the kernel drops a packet from ::1
	// received on any interface but lo on receipt (ip6_rcv_core, counted in
	// Ip6InHdrErrors), before raw PREROUTING. The same SYN from the peer's
	// own address is counted in both chains, so the probe is seen to
	// arrive. With INPUT accepting everyone and no rule for ::1, the
	// report's loopback-v6 passes.
	t.Run("ipv6 ::1", func(t *testing.T) {
		peer := PeerV6[0]
		lab.LoadIp6tables("*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n" +
			"-A PREROUTING -s ::1/128 -i veth0 -p tcp -m tcp --dport 22\n-A PREROUTING -s " + peer.String() + "/128 -i veth0 -p tcp -m tcp --dport 22\nCOMMIT\n" +
			"*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n" +
			"-A INPUT -s ::1/128 -i veth0 -p tcp -m tcp --dport 22\n-A INPUT -s " + peer.String() + "/128 -i veth0 -p tcp -m tcp --dport 22\nCOMMIT\n")
		hdrErrs := func() int {
			for _, l := range strings.Split(lab.Host.Run("cat", "/proc/net/snmp6"), "\n") {
				if f := strings.Fields(l); len(f) == 2 && f[0] == "Ip6InHdrErrors" {
					n, err := strconv.Atoi(f[1])
					if err != nil {
						t.Fatalf("snmp6: %q: %v", l, err)
					}
					return n
				}
			}
			t.Fatal("snmp6: no Ip6InHdrErrors")
			return 0
		}
		before := hdrErrs()
		for _, src := range []netip.Addr{netip.IPv6Loopback(), peer} {
			if err := sendSYN(lab.Peer, src, HostV6, 22); err != nil {
				t.Fatal(err)
			}
		}
		if n := hdrErrs() - before; n != 1 {
			t.Errorf("kernel: Ip6InHdrErrors rose by %d, want 1 (the packet from ::1)", n)
		}
		ctr := lab.ReadCounters("ip6tables-save")
		raw, in := ctr["raw"]["PREROUTING"].Rules, ctr["filter"]["INPUT"].Rules
		if raw[1].Pkts != 1 || in[1].Pkts != 1 {
			t.Fatalf("kernel: from %s, raw PREROUTING counted %d and INPUT %d, want 1 and 1 (the probe did not arrive)", peer, raw[1].Pkts, in[1].Pkts)
		}
		if raw[0].Pkts != 0 || in[0].Pkts != 0 {
			t.Fatalf("kernel: from ::1, raw PREROUTING counted %d and INPUT %d, want 0 and 0", raw[0].Pkts, in[0].Pkts)
		}
		r := runReport(t, lab)
		if got, d := r.status("loopback-v6"), r.detail("loopback-v6"); got != "pass" || !strings.Contains(d, "::1 as source is dropped") {
			t.Errorf("loopback-v6 = %s (%s), want pass by the kernel's drop", got, d)
		}
	})
}

// sendSYN sends one TCP SYN from src (any address, written into the IP
// header: IP_HDRINCL) to dst:port out of ns, without waiting for an
// answer. The raw socket is opened inside ns on a locked thread that is
// thrown away afterwards, as pingFrom does.
func sendSYN(ns *Netns, src, dst netip.Addr, port uint16) error {
	return sendSYNVia(ns, src, dst, dst, port)
}

// sendSYNVia is sendSYN with the packet routed in ns as if it went to via
// (the next hop's address) while its IP header says dst: how a neighbour
// puts a packet for 127.0.0.1 on the wire to the host.
func sendSYNVia(ns *Netns, src, dst, via netip.Addr, port uint16) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		errc <- sendSYNIn(ns.Name, src, dst, via, port)
	}()
	return <-errc
}

func sendSYNIn(nsName string, src, dst, via netip.Addr, port uint16) error {
	f, err := os.Open("/run/netns/" + nsName)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("entering %s: %w", nsName, err)
	}
	if src.Is6() {
		return sendSYN6(src, dst, port)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
	if err != nil {
		return fmt.Errorf("raw socket: %w", err)
	}
	defer unix.Close(fd)
	s, d := src.As4(), dst.As4()
	tcp := synSegment(port, append(append(append([]byte{}, s[:]...), d[:]...), 0, 6, 0, 20))
	ip := []byte{0x45, 0, 0, byte(20 + len(tcp)), 0, 1, 0, 0, 64, 6, 0, 0}
	ip = append(append(ip, s[:]...), d[:]...)
	binary.BigEndian.PutUint16(ip[10:], checksum(ip))
	if err := unix.Sendto(fd, append(ip, tcp...), 0, &unix.SockaddrInet4{Addr: via.As4()}); err != nil {
		return fmt.Errorf("sending a SYN from %s to %s:%d: %w", src, dst, port, err)
	}
	return nil
}

// synSegment is a TCP SYN from port 40000 to port, its checksum over
// pseudo (the IP family's pseudo-header without the segment).
func synSegment(port uint16, pseudo []byte) []byte {
	tcp := make([]byte, 20)
	binary.BigEndian.PutUint16(tcp[0:], 40000)
	binary.BigEndian.PutUint16(tcp[2:], port)
	binary.BigEndian.PutUint32(tcp[4:], 1) // sequence number
	tcp[12], tcp[13] = 5<<4, 0x02          // header length 20, SYN
	binary.BigEndian.PutUint16(tcp[14:], 64240)
	binary.BigEndian.PutUint16(tcp[16:], checksum(append(append([]byte{}, pseudo...), tcp...)))
	return tcp
}

// sendSYN6 is sendSYN for IPv6, in the namespace already entered: an
// AF_INET6 IPPROTO_RAW socket sends the IPv6 header as written.
func sendSYN6(src, dst netip.Addr, port uint16) error {
	fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
	if err != nil {
		return fmt.Errorf("raw IPv6 socket: %w", err)
	}
	defer unix.Close(fd)
	s, d := src.As16(), dst.As16()
	pseudo := append(append(append([]byte{}, s[:]...), d[:]...), 0, 0, 0, 20, 0, 0, 0, 6)
	tcp := synSegment(port, pseudo)
	ip := []byte{0x60, 0, 0, 0, 0, byte(len(tcp)), 6, 64} // version 6, payload length, next header TCP, hop limit
	ip = append(append(ip, s[:]...), d[:]...)
	if err := unix.Sendto(fd, append(ip, tcp...), 0, &unix.SockaddrInet6{Addr: d}); err != nil {
		return fmt.Errorf("sending a SYN from %s to [%s]:%d: %w", src, dst, port, err)
	}
	return nil
}
