//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// Docker 29's nftables rules (moby's golden files, e2e/testdata/docker)
// loaded into a lab host, with a namespace behind a bridge br-dummy at the
// container's addresses, the way Docker wires a container. The container
// listens on tcp/80 and tcp/81; the rules publish 80 on host port 8080.
// Docker 29 with the userland proxy also listens on the host port; a
// helper stands in for docker-proxy there. The "-noproxy" cases have none
// (the userland proxy off): a port published on 127.0.0.1 is then a row of
// its own, and must read as bound there, not as published on 0.0.0.0.
var (
	d29CtrV4 = netip.MustParseAddr("192.168.0.2")
	d29CtrV6 = netip.MustParseAddr("fd49:efd7:54aa::1")
	d29BrV4  = netip.MustParseAddr("192.168.0.1")
	d29BrV6  = netip.MustParseAddr("fd49:efd7:54aa::ffff")
)

// d29UserTable is what an administrator adds on Docker 29's nft backend,
// which has no DOCKER-USER: a base chain of their own. INPUT drops all but
// ssh; forwarded connections to host port 8080 (before DNAT) are let in
// only from peer A.
const d29UserTable = `table inet admin {
	chain input {
		type filter hook input priority filter; policy drop;
		iif "lo" accept
		ct state established,related accept
		meta l4proto ipv6-icmp accept
		tcp dport 22 accept
	}
	chain forward {
		type filter hook forward priority filter - 1; policy accept;
		iifname "veth0" meta l4proto tcp ct original proto-dst 8080 ip saddr != 192.0.2.3 drop
		iifname "veth0" meta l4proto tcp ct original proto-dst 8080 ip6 saddr != 2001:db8::3 drop
	}
}
`

// The Docker 28 iptables layout (moby's iptabler golden files) is loaded
// the same way, with iptables-restore.
func TestDocker29Golden(t *testing.T) {
	type probe struct {
		fam    string
		src    netip.Addr
		dst    netip.Addr
		port   uint16
		direct bool
		want   bool // what the scenario expects the kernel to do
	}
	all := func(fam string, dst netip.Addr, port uint16, direct bool, want func(src netip.Addr) bool) []probe {
		srcs := []netip.Addr{peerA4, peerB4}
		if fam == "ipv6" {
			srcs = []netip.Addr{peerA6, peerB6}
		}
		var out []probe
		for _, s := range srcs {
			out = append(out, probe{fam, s, dst, port, direct, want(s)})
		}
		return out
	}
	yes := func(netip.Addr) bool { return true }
	no := func(netip.Addr) bool { return false }
	onlyA := func(s netip.Addr) bool { return s == peerA4 || s == peerA6 }
	cat := func(ps ...[]probe) []probe {
		var out []probe
		for _, p := range ps {
			out = append(out, p...)
		}
		return out
	}
	cases := []struct {
		name      string
		files     []string
		extra     string // more nft rules
		proxyAddr string // where the stand-in for docker-proxy listens (IPv4); "": none
		v6        bool
		inputDrop bool
		probes    []probe
	}{
		{"nat", []string{"docker29-nftabler-nat.ip.nft", "docker29-nftabler-nat.ip6.nft"}, "", "0.0.0.0", true, false, cat(
			all("ipv4", HostV4, 8080, false, yes), all("ipv6", HostV6, 8080, false, yes),
			all("ipv4", d29CtrV4, 80, true, no), all("ipv4", d29CtrV4, 81, true, no),
			all("ipv6", d29CtrV6, 80, true, no))},
		{"nat-bindlh", []string{"docker29-nftabler-nat-bindlh.ip.nft"}, "", "127.0.0.1", false, false, cat(
			all("ipv4", HostV4, 8080, false, no),
			all("ipv4", d29CtrV4, 80, true, no))},
		{"nat-bindlh-noproxy", []string{"docker29-nftabler-nat-bindlh.ip.nft"}, "", "", false, false, cat(
			all("ipv4", HostV4, 8080, false, no),
			all("ipv4", d29CtrV4, 80, true, no))},
		{"routed", []string{"docker29-nftabler-routed.ip.nft"}, "", "0.0.0.0", false, false, cat(
			all("ipv4", HostV4, 8080, false, yes),
			all("ipv4", d29CtrV4, 80, true, yes), all("ipv4", d29CtrV4, 81, true, no))},
		{"d28-nat", []string{"docker28-iptabler-nat.iptables-save"}, "", "0.0.0.0", false, false, cat(
			all("ipv4", HostV4, 8080, false, yes),
			all("ipv4", d29CtrV4, 80, true, no), all("ipv4", d29CtrV4, 81, true, no))},
		{"d28-nat-bindlh", []string{"docker28-iptabler-nat-bindlh.iptables-save"}, "", "127.0.0.1", false, false, cat(
			all("ipv4", HostV4, 8080, false, no),
			all("ipv4", d29CtrV4, 80, true, no))},
		{"d28-nat-bindlh-noproxy", []string{"docker28-iptabler-nat-bindlh.iptables-save"}, "", "", false, false, cat(
			all("ipv4", HostV4, 8080, false, no),
			all("ipv4", d29CtrV4, 80, true, no))},
		{"nat-admin-chain", []string{"docker29-nftabler-nat.ip.nft", "docker29-nftabler-nat.ip6.nft"}, d29UserTable, "0.0.0.0", true, true, cat(
			all("ipv4", HostV4, 8080, false, onlyA), all("ipv6", HostV6, 8080, false, onlyA),
			all("ipv4", d29CtrV4, 80, true, no), all("ipv6", d29CtrV6, 80, true, no))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lab := NewLab(t)
			ctr := addBridgedContainer(lab)
			// link-local addresses still in duplicate address detection
			// delay IPv6 through the bridge past a probe's timeout
			waitIPv6Ready(t, lab.Host, ctr, lab.Peer)
			lab.Start(ctr, "nginx", "tcp:[::]:80", "tcp:[::]:81")
			lab.Start(lab.Host, "sshd", "tcp:[::]:22")
			lab.Start(lab.Host, "unknownd", "tcp:[::]:9999")
			var specs []string
			if c.proxyAddr != "" {
				specs = append(specs, "tcp:"+c.proxyAddr+":8080")
			}
			if c.v6 {
				specs = append(specs, "tcp6only:[::]:8080")
			}
			if len(specs) > 0 {
				lab.Start(lab.Host, "unknownd", specs...)
			}
			var rules strings.Builder
			for _, f := range c.files {
				if strings.HasSuffix(f, ".iptables-save") {
					lab.LoadIptables(Testdata(t, "docker/"+f))
					continue
				}
				rules.WriteString(d29Loadable(Testdata(t, "docker/"+f)))
			}
			rules.WriteString(c.extra)
			if rules.Len() > 0 {
				lab.LoadNft(rules.String())
			}
			dump := "\n--- nft list ruleset ---\n" + lab.Host.Run("nft", "list", "ruleset")

			ctl := lab.ProbeAll([]ProbeReq{
				{"tcp", peerB4.String(), HostV4.String(), 22}, {"tcp", peerB4.String(), HostV4.String(), 9999},
			})
			if !ctl[0].OK || ctl[1].OK == c.inputDrop {
				t.Fatalf("INPUT is not what the case means (input drop %v): ssh %s, 9999 %s%s", c.inputDrop, ctl[0].Detail, ctl[1].Detail, dump)
			}
			reqs := make([]ProbeReq, len(c.probes))
			for i, p := range c.probes {
				reqs[i] = ProbeReq{"tcp", p.src.String(), p.dst.String(), p.port}
			}
			got := lab.ProbeAll(reqs)
			scan := lab.Scan()
			reachable, directIn := map[string]bool{}, map[string]bool{}
			for i, p := range c.probes {
				if got[i].OK != p.want {
					t.Errorf("kernel: %s tcp %s -> %s:%d: %s, the scenario expects through = %v%s", p.fam, p.src, p.dst, p.port, got[i].Detail, p.want, dump)
				}
				if p.direct {
					if got[i].OK {
						directIn[p.fam] = true
					}
					continue
				}
				if got[i].OK {
					reachable[fmt.Sprintf("%s/tcp/%d", p.fam, p.port)] = true
				}
				// explain walks this very packet
				args := []string{"explain", fmt.Sprintf("tcp/%d", p.port), "--from", p.src.String(), "--to", p.dst.String(), "--iface", lab.HostIf, "-o", "json"}
				if p.fam == "ipv6" {
					args = append(args, "-6")
				}
				stdout, stderr, code := lab.Fwaudit(args...)
				var ex struct{ Verdict, Rule string }
				if code != 0 || json.Unmarshal([]byte(stdout), &ex) != nil {
					t.Errorf("fwaudit %s: exit %d: %s%s", strings.Join(args, " "), code, stderr, stdout)
					continue
				}
				// a refused connection got past the firewall: nothing listens
				passed := got[i].OK || got[i].Detail == "fail refused"
				if (ex.Verdict == "accept") != passed {
					t.Errorf("MISMATCH docker29 %s: %s tcp %s -> %s:%d: kernel %s; fwaudit %s says %s by %q", c.name, p.fam, p.src, p.dst, p.port, got[i].Detail, strings.Join(args, " "), ex.Verdict, ex.Rule)
				}
				// and the scan verdict of the socket on the host port
				socks := scan.Find("tcp", p.fam, p.port)
				if len(socks) != 1 || socks[0].Firewall == nil {
					t.Errorf("fwaudit scan: tcp/%d %s: want one socket with a verdict, got %+v", p.port, p.fam, socks)
					continue
				}
				fv := socks[0].Firewall.IPv4
				if p.fam == "ipv6" {
					fv = socks[0].Firewall.IPv6
				}
				if admitted, decided := fv.Admits(p.src, lab.HostIf); !decided || admitted != got[i].OK {
					j, _ := json.Marshal(fv)
					t.Errorf("MISMATCH docker29 %s: %s tcp %s -> %s:%d: kernel %s; fwaudit scan on socket %s:%d says admitted=%v decided=%v: %s", c.name, p.fam, p.src, p.dst, p.port, got[i].Detail, socks[0].Address, socks[0].Port, admitted, decided, j)
				}
			}
			checkDockerFindings(t, lab, "docker29 "+c.name, c.inputDrop, reachable, directIn)
		})
	}
}

// d29Loadable makes a golden file loadable by nft 1.0.6, which refuses
// the name dstnat on the output hook: the same priority, as a number.
func d29Loadable(rules string) string {
	out := strings.Builder{}
	inOutput := false
	for _, l := range strings.SplitAfter(rules, "\n") {
		if strings.Contains(l, "chain nat-OUTPUT {") {
			inOutput = true
		}
		if inOutput && strings.Contains(l, "hook output priority dstnat;") {
			l = strings.Replace(l, "priority dstnat;", "priority -100;", 1)
			inOutput = false
		}
		out.WriteString(l)
	}
	return out.String()
}

// addBridgedContainer adds a namespace wired like a Docker container:
// the lab host gets a bridge br-dummy (192.168.0.1/24,
// fd49:efd7:54aa::ffff/64) with the host end of a veth pair as its member;
// the namespace has the other end, eth0, at 192.168.0.2 and
// fd49:efd7:54aa::1, routing through the bridge. The host forwards both
// families; the peer routes the container network through the host.
func addBridgedContainer(lab *Lab) *Netns {
	lab.T.Helper()
	ns := &Netns{Name: strings.Replace(lab.Host.Name, "fwa-h-", "fwa-c-", 1), lab: lab}
	if _, stderr, err := runCmd("", nil, "ip", "netns", "add", ns.Name); err != nil {
		lab.T.Fatalf("ip netns add %s: %v: %s", ns.Name, err, stderr)
	}
	lab.mu.Lock()
	lab.extra = append(lab.extra, ns)
	lab.mu.Unlock()
	h, c, p := lab.Host.Name, ns.Name, lab.Peer.Name
	for _, s := range [][]string{
		{"ip", "-n", h, "link", "add", "br-dummy", "type", "bridge"},
		{"ip", "-n", h, "addr", "add", d29BrV4.String() + "/24", "dev", "br-dummy"},
		{"ip", "-n", h, "addr", "add", d29BrV6.String() + "/64", "dev", "br-dummy", "nodad"},
		{"ip", "-n", h, "link", "add", "vethd29", "type", "veth", "peer", "name", "eth0", "netns", c},
		{"ip", "-n", h, "link", "set", "vethd29", "master", "br-dummy"},
		{"ip", "-n", h, "link", "set", "vethd29", "up"},
		{"ip", "-n", h, "link", "set", "br-dummy", "up"},
		{"ip", "-n", c, "addr", "add", d29CtrV4.String() + "/24", "dev", "eth0"},
		{"ip", "-n", c, "addr", "add", d29CtrV6.String() + "/64", "dev", "eth0", "nodad"},
		{"ip", "-n", c, "link", "set", "lo", "up"},
		{"ip", "-n", c, "link", "set", "eth0", "up"},
		{"ip", "-n", c, "route", "add", "default", "via", d29BrV4.String()},
		{"ip", "-n", c, "-6", "route", "add", "default", "via", d29BrV6.String()},
		{"ip", "-n", p, "route", "add", "192.168.0.0/24", "via", HostV4.String()},
		{"ip", "-n", p, "-6", "route", "add", "fd49:efd7:54aa::/64", "via", HostV6.String()},
		{"ip", "netns", "exec", h, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"},
		{"ip", "netns", "exec", h, "sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1"},
		// fwaudit judges routed packets; br_netfilter (loaded by an earlier
		// dockerd) would pass bridged ones through the IP hooks again
		{"sh", "-c", "[ ! -e /proc/sys/net/bridge ] || ip netns exec " + h + " sysctl -q -w net.bridge.bridge-nf-call-iptables=0 net.bridge.bridge-nf-call-ip6tables=0"},
	} {
		if _, stderr, err := runCmd("", nil, s...); err != nil {
			lab.T.Fatalf("%s: %v: %s", strings.Join(s, " "), err, stderr)
		}
	}
	return ns
}
