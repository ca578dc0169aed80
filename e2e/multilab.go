//go:build linux

package e2e

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
)

// Links: outside interfaces of a lab host beyond veth0, each a veth pair to
// a peer namespace of its own, so that a ruleset naming eth0, eth1 or wg0
// meets packets that really arrive there. Link i (from 0) has, on the
// host, 10.(100+i).0.1/24 and 2001:db8:(100+i)::1/64; its peer sends from
// two sources per family: one on the link (10.(100+i).0.2,
// 2001:db8:(100+i)::2) and one from afar (198.18.(100+i).2,
// 2001:db8:(200+i)::2), routed by the host back over the link; the
// peer's default route is the host (for forwarded traffic). The
// neighbours are permanent (no ARP or neighbour discovery, which a ruleset
// may drop), and reverse-path filtering by sysctl is off: the rules alone
// decide.

// Link is one outside interface of the host and the peer behind it.
type Link struct {
	Name           string // the host's interface
	Peer           *Netns
	HostV4, HostV6 netip.Addr
	SrcV4, SrcV6   [2]netip.Addr
}

// Sources are the link's two sources in one family.
func (l *Link) Sources(v6 bool) [2]netip.Addr {
	if v6 {
		return l.SrcV6
	}
	return l.SrcV4
}

// Dst is the host's address on the link in one family.
func (l *Link) Dst(v6 bool) netip.Addr {
	if v6 {
		return l.HostV6
	}
	return l.HostV4
}

// AddLink adds an outside interface named name to the lab host. It is
// deleted with the lab.
func (lab *Lab) AddLink(name string) *Link {
	lab.T.Helper()
	lab.mu.Lock()
	i := lab.links
	lab.links++
	lab.mu.Unlock()
	peer := &Netns{Name: fmt.Sprintf("%s-%d", strings.Replace(lab.Host.Name, "fwa-h-", "fwa-l-", 1), i), lab: lab}
	if _, stderr, err := runCmd("", nil, "ip", "netns", "add", peer.Name); err != nil {
		lab.T.Fatalf("ip netns add %s: %v: %s", peer.Name, err, stderr)
	}
	lab.mu.Lock()
	lab.extra = append(lab.extra, peer)
	lab.mu.Unlock()
	n := 100 + i
	l := &Link{Name: name, Peer: peer,
		HostV4: netip.MustParseAddr(fmt.Sprintf("10.%d.0.1", n)),
		HostV6: netip.MustParseAddr(fmt.Sprintf("2001:db8:%d::1", n)),
		SrcV4: [2]netip.Addr{netip.MustParseAddr(fmt.Sprintf("10.%d.0.2", n)),
			netip.MustParseAddr(fmt.Sprintf("198.18.%d.2", n))},
		SrcV6: [2]netip.Addr{netip.MustParseAddr(fmt.Sprintf("2001:db8:%d::2", n)),
			netip.MustParseAddr(fmt.Sprintf("2001:db8:%d::2", 100+n))},
	}
	hostMAC := fmt.Sprintf("02:00:5e:10:%02x:01", i)
	peerMAC := fmt.Sprintf("02:00:5e:10:%02x:02", i)
	h, p := lab.Host.Name, peer.Name
	steps := [][]string{
		{"ip", "-n", h, "link", "add", name, "address", hostMAC, "type", "veth",
			"peer", "name", "up0", "address", peerMAC, "netns", p},
		{"ip", "-n", h, "link", "set", name, "addrgenmode", "none"},
		{"ip", "-n", p, "link", "set", "up0", "addrgenmode", "none"},
		{"ip", "-n", h, "addr", "add", l.HostV4.String() + "/24", "dev", name},
		{"ip", "-n", h, "addr", "add", l.HostV6.String() + "/64", "dev", name, "nodad"},
		{"ip", "-n", p, "addr", "add", l.SrcV4[0].String() + "/24", "dev", "up0"},
		{"ip", "-n", p, "addr", "add", l.SrcV4[1].String() + "/32", "dev", "up0"},
		{"ip", "-n", p, "addr", "add", l.SrcV6[0].String() + "/64", "dev", "up0", "nodad"},
		{"ip", "-n", p, "addr", "add", l.SrcV6[1].String() + "/128", "dev", "up0", "nodad"},
		{"ip", "-n", p, "link", "set", "lo", "up"},
		{"ip", "-n", h, "link", "set", name, "up"},
		{"ip", "-n", p, "link", "set", "up0", "up"},
		{"ip", "-n", p, "route", "add", "default", "via", l.HostV4.String()},
		{"ip", "-n", p, "-6", "route", "add", "default", "via", l.HostV6.String()},
		{"ip", "-n", h, "route", "add", l.SrcV4[1].String() + "/32", "dev", name},
		{"ip", "-n", h, "route", "add", l.SrcV6[1].String() + "/128", "dev", name},
		// slashes: an interface name may hold a dot (eth2.10)
		{"ip", "netns", "exec", h, "sysctl", "-q", "-w", "net/ipv4/conf/all/rp_filter=0",
			"net/ipv4/conf/" + name + "/rp_filter=0"},
	}
	for _, a := range []netip.Addr{l.SrcV4[0], l.SrcV4[1], l.SrcV6[0], l.SrcV6[1]} {
		steps = append(steps, []string{"ip", "-n", h, "neigh", "replace", a.String(),
			"lladdr", peerMAC, "dev", name, "nud", "permanent"})
	}
	for _, a := range []netip.Addr{l.HostV4, l.HostV6} {
		steps = append(steps, []string{"ip", "-n", p, "neigh", "replace", a.String(),
			"lladdr", hostMAC, "dev", "up0", "nud", "permanent"})
	}
	for _, s := range steps {
		if _, stderr, err := runCmd("", nil, s...); err != nil {
			lab.T.Fatalf("%s: %v: %s", strings.Join(s, " "), err, stderr)
		}
	}
	return l
}

// LinkProbe is one probe from a link's peer to a port of the host.
type LinkProbe struct {
	Link  *Link
	Proto string
	Port  uint16
	V6    bool
	Src   netip.Addr
}

func (p LinkProbe) String() string {
	return fmt.Sprintf("%s/%d from %s on %s", p.Proto, p.Port, p.Src, p.Link.Name)
}

// LinkProbes are the probes of every port from both sources of every family
// on every link.
func LinkProbes(links []*Link, ports []PortSpec) []LinkProbe {
	var out []LinkProbe
	for _, l := range links {
		for _, p := range ports {
			for _, v6 := range []bool{false, true} {
				for _, src := range l.Sources(v6) {
					out = append(out, LinkProbe{Link: l, Proto: p.Proto, Port: p.Port, V6: v6, Src: src})
				}
			}
		}
	}
	return out
}

// PortSpec is a protocol and port.
type PortSpec struct {
	Proto string
	Port  uint16
}

// ProbeLinks runs probes from every link's peer at once (one helper per
// link, each running its probes concurrently) and retries once those that
// timed out. An error fails the test.
func (lab *Lab) ProbeLinks(probes []LinkProbe) []ProbeResult {
	lab.T.Helper()
	byLink := map[*Link][]int{}
	var order []*Link
	for i, p := range probes {
		if _, ok := byLink[p.Link]; !ok {
			order = append(order, p.Link)
		}
		byLink[p.Link] = append(byLink[p.Link], i)
	}
	res := make([]ProbeResult, len(probes))
	errs := make([]error, len(order))
	var wg sync.WaitGroup
	for k, l := range order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			idx := byLink[l]
			reqs := make([]ProbeSpec, len(idx))
			for j, i := range idx {
				p := probes[i]
				reqs[j] = ProbeSpec{ProbeReq: ProbeReq{Proto: p.Proto, Src: p.Src.String(), Dst: l.Dst(p.V6).String(), Port: p.Port}}
			}
			r, err := probeIn(l.Peer, reqs)
			if err != nil {
				errs[k] = err
				return
			}
			for j, i := range idx {
				res[i] = r[j]
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			lab.T.Fatal(err)
		}
	}
	return res
}
