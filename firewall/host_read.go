package firewall

import (
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	pathpkg "path"
	"strings"
)

// HostFS is where a host's network state is read from: /proc, the
// interfaces of /sys/class/net, and the kernel's list of links with their
// addresses (netlink). The zero value reads the running host (of this
// network namespace); tests point each at a fixture.
type HostFS struct {
	Proc  fs.FS                 // /proc; nil: os.DirFS("/proc")
	Net   fs.FS                 // /sys/class/net; nil: os.DirFS("/sys/class/net")
	Links func() ([]Link, bool) // nil: the kernel's (netlink); false when unreadable
}

// Link is one network interface with its addresses, in the kernel's order.
type Link struct {
	Name     string
	Loopback bool
	Addrs    []netip.Addr
}

func (h HostFS) proc() fs.FS {
	if h.Proc != nil {
		return h.Proc
	}
	return os.DirFS("/proc")
}

func (h HostFS) net() fs.FS {
	if h.Net != nil {
		return h.Net
	}
	return os.DirFS("/sys/class/net")
}

func (h HostFS) links() ([]Link, bool) {
	if h.Links != nil {
		return h.Links()
	}
	return kernelLinks()
}

// ReadHost lists the non-loopback interfaces and addresses of the host,
// for the evaluator's -i and -d matches, and its routes: bridge and bond
// ports are left out (their bridge or bond is the input interface), and
// bridges for containers are marked inside.
func ReadHost(h HostFS) Host {
	var host Host
	links, ok := h.links()
	if !ok {
		return host
	}
	host.Routes = readRoutes(h.proc())
	sys := h.net()
	for _, l := range links {
		if l.Loopback {
			continue
		}
		switch ifaceRoleOf(sys, l.Name) {
		case roleMember:
			continue // its bridge or bond is the input interface
		case roleInside:
			host.Inside = append(host.Inside, l.Name)
		}
		host.Interfaces = append(host.Interfaces, l.Name)
		host.Addrs = append(host.Addrs, l.Addrs...)
	}
	host.RouteLocalnet = readRouteLocalnet(h.proc(), host.Interfaces)
	return host
}

// readRouteLocalnet reads route_localnet (sys/net/ipv4/conf/NAME under
// proc) for "all" and each of names; nil when all's cannot be read (no
// IPv4, or proc not mounted). An interface whose file cannot be read is
// left out: nothing is known of it.
func readRouteLocalnet(proc fs.FS, names []string) map[string]bool {
	read := func(name string) (bool, bool) {
		if !fs.ValidPath(name) || strings.Contains(name, "/") {
			return false, false
		}
		b, err := fs.ReadFile(proc, "sys/net/ipv4/conf/"+name+"/route_localnet")
		if err != nil {
			return false, false
		}
		v := strings.TrimSpace(string(b))
		return v != "0", true
	}
	all, ok := read("all")
	if !ok {
		return nil
	}
	out := map[string]bool{"all": all}
	for _, n := range names {
		if v, ok := read(n); ok {
			out[n] = v
		}
	}
	return out
}

// kernelLinks lists this network namespace's interfaces (RTM_GETLINK) and
// their addresses with one address dump; when the dump fails, each
// interface is asked for its own.
func kernelLinks() ([]Link, bool) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, false
	}
	byIndex := addrsByIndex()
	out := make([]Link, 0, len(ifs))
	for _, ifc := range ifs {
		l := Link{Name: ifc.Name, Loopback: ifc.Flags&net.FlagLoopback != 0}
		if byIndex != nil {
			l.Addrs = byIndex[ifc.Index]
		} else if !l.Loopback {
			addrs, _ := ifc.Addrs()
			for _, a := range addrs {
				if p, err := netip.ParsePrefix(a.String()); err == nil {
					l.Addrs = append(l.Addrs, p.Addr().Unmap())
				}
			}
		}
		out = append(out, l)
	}
	return out, true
}

// readRoutes reads the main routing table of both families (net/route and
// net/ipv6_route under proc), for reverse-path checks; nil when it cannot
// be read (they are then conditional).
func readRoutes(proc fs.FS) []Route {
	routes := []Route{}
	for _, f := range []struct {
		path  string
		parse func(io.Reader) ([]Route, error)
	}{{"net/route", ParseProcRoutes}, {"net/ipv6_route", ParseProcIPv6Routes}} {
		fh, err := proc.Open(f.path)
		if err != nil {
			if isNotExist(err) {
				continue // no such family
			}
			return nil
		}
		rs, err := f.parse(fh)
		fh.Close()
		if err != nil {
			return nil
		}
		routes = append(routes, rs...)
	}
	return routes
}

func isNotExist(err error) bool { return os.IsNotExist(err) || err == fs.ErrNotExist }

// IPv6Disabled reports whether IPv6 is switched off on the host
// (sys/net/ipv6/conf/all/disable_ipv6 under proc).
func (h HostFS) IPv6Disabled() bool {
	b, err := fs.ReadFile(h.proc(), "sys/net/ipv6/conf/all/disable_ipv6")
	if err != nil {
		return isNotExist(err) // no IPv6 stack at all
	}
	return strings.TrimSpace(string(b)) == "1"
}

// BridgeNetfilter reports whether br_netfilter hands bridged packets to
// the IP hooks in this network namespace (sys/net/bridge under proc).
func (h HostFS) BridgeNetfilter() bool {
	for _, f := range []string{"bridge-nf-call-iptables", "bridge-nf-call-ip6tables"} {
		if b, err := fs.ReadFile(h.proc(), "sys/net/bridge/"+f); err == nil && strings.TrimSpace(string(b)) == "1" {
			return true
		}
	}
	return false
}

// ifaceRole is what an interface is to packets arriving on it.
type ifaceRole int

const (
	roleOutside ifaceRole = iota // packets from the network arrive on it
	roleInside                   // a bridge for the host's containers or VMs
	roleMember                   // a port of a bridge or bond: never a packet's input interface
)

// ifaceRoleOf reads sysfs (sys: /sys/class/net) for one interface:
//   - a bridge or bond port is never the input interface of a routed or
//     locally delivered packet; its bridge or bond is;
//   - a bridge none of whose ports is a physical device (docker0, br-*,
//     virbr0, lxcbr0, cni0, with only veth or tap ports or none) leads to
//     the host's own containers or VMs: it is inside;
//   - anything else is outside.
//
// An unreadable sysfs says outside, the answer that hides nothing.
func ifaceRoleOf(sys fs.FS, name string) ifaceRole {
	if !fs.ValidPath(name) || strings.Contains(name, "/") {
		return roleOutside
	}
	if exists(sys, pathpkg.Join(name, "brport")) || exists(sys, pathpkg.Join(name, "bonding_slave")) {
		return roleMember
	}
	if !exists(sys, pathpkg.Join(name, "bridge")) {
		return roleOutside
	}
	ports, err := fs.ReadDir(sys, pathpkg.Join(name, "brif"))
	if err != nil {
		return roleOutside
	}
	for _, p := range ports {
		if exists(sys, pathpkg.Join(p.Name(), "device")) {
			return roleOutside // a physical port: the bridge is the uplink
		}
	}
	return roleInside
}

func exists(fsys fs.FS, name string) bool {
	_, err := fs.Stat(fsys, name)
	return err == nil
}
