package report

import (
	"net/netip"
	"slices"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/scan"
)

// publish is one port a nat DNAT forwards to another host (a container):
// Docker's published ports, or any port forward.
type publish struct {
	proto, family string
	addr          netip.Addr // the host address it is published on; unspecified for all
	port          uint16
	to            netip.AddrPort
}

// forwards lists fam's forwards to addresses that are not the host's
// (none when the family's rules are not known).
func forwards(ev *firewall.Evaluator) []firewall.PortForward {
	if ev == nil {
		return nil
	}
	return ev.PortForwards()
}

// maxPublishRange bounds the ports taken from one DNAT rule with a port
// range (each is one row).
const maxPublishRange = 64

// publishes lists the ports the rules forward to other hosts, per family,
// in rule order.
func publishes(fw *firewall.Loaded) []publish {
	var out []publish
	for _, f := range []struct {
		fam firewall.Family
		ev  *firewall.Evaluator
	}{{firewall.IPv4, fw.Evaluator(firewall.IPv4, "")}, {firewall.IPv6, fw.Evaluator(firewall.IPv6, "")}} {
		for _, fd := range forwards(f.ev) {
			if fd.Proto != "tcp" && fd.Proto != "udp" {
				continue // the socket list has tcp and udp only
			}
			for p := int(fd.Ports.Lo); p <= int(fd.Ports.Hi) && p-int(fd.Ports.Lo) < maxPublishRange; p++ {
				out = append(out, publish{fd.Proto, string(f.fam), fd.Addr, uint16(p), fd.Target(uint16(p))})
			}
		}
	}
	return out
}

// receives reports whether socket s gets what is published on p.
func (p publish) receives(s Socket) bool {
	if s.Proto != p.proto || s.Port != p.port || !(s.Family == p.family || (s.DualStack && p.family == "ipv4")) {
		return false
	}
	a, err := netip.ParseAddr(s.Address)
	return err == nil && (a.IsUnspecified() || p.addr.IsUnspecified() || a.Unmap() == p.addr)
}

// withPublished names the container side of published ports: each socket
// that receives one (docker-proxy's) lists where the DNAT sends it, and a
// published port with no host socket at all (Docker with the userland
// proxy off) is added as a row of its own, judged like a socket bound
// where the port is published.
func withPublished(out []Socket, fw *firewall.Loaded) []Socket {
	if fw == nil {
		return out
	}
	for _, p := range publishes(fw) {
		to := p.to.String()
		found := false
		for i := range out {
			if p.receives(out[i]) {
				found = true
				if !slices.Contains(out[i].ForwardsTo, to) {
					out[i].ForwardsTo = append(out[i].ForwardsTo, to)
				}
			}
		}
		if found {
			continue
		}
		exp := scan.ExposurePublic
		if p.addr.IsLoopback() {
			exp = scan.ExposureLocal
		}
		l := scan.Listener{Proto: p.proto, Family: p.family, Address: p.addr, Port: p.port, Exposure: exp}
		if svc, ok := scan.Identify(p.proto, p.port, ""); ok {
			l.Service, l.ServiceBy = svc.Name, scan.ServiceByPort
		}
		out = append(out, Socket{
			Proto: l.Proto, Family: l.Family, Address: l.Address.String(), Port: l.Port,
			Service: l.Service, ServiceBy: l.ServiceBy, Exposure: string(l.Exposure),
			Published: true, ForwardsTo: []string{to}, Firewall: judge(&l, fw),
		})
	}
	return out
}
