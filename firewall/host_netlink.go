package firewall

import (
	"encoding/binary"
	"net/netip"
	"syscall"
)

// addrsByIndex lists the addresses of every interface of this network
// namespace with one netlink dump (RTM_GETADDR), by interface index, in the
// kernel's order: what net.Interface.Addrs returns, interface by interface.
// Addrs makes a dump of all addresses per call, so asking it for each of a
// host's N interfaces costs N dumps of N addresses: 0.4 s at 2,000
// interfaces. nil when the dump fails.
func addrsByIndex() map[int][]netip.Addr {
	rib, err := syscall.NetlinkRIB(syscall.RTM_GETADDR, syscall.AF_UNSPEC)
	if err != nil {
		return nil
	}
	msgs, err := syscall.ParseNetlinkMessage(rib)
	if err != nil {
		return nil
	}
	out := map[int][]netip.Addr{}
	for _, m := range msgs {
		if m.Header.Type == syscall.NLMSG_DONE {
			break
		}
		if m.Header.Type != syscall.RTM_NEWADDR {
			continue
		}
		if len(m.Data) < syscall.SizeofIfAddrmsg {
			return nil
		}
		// struct ifaddrmsg: family, prefix length, flags, scope, index
		family, index := m.Data[0], int(binary.NativeEndian.Uint32(m.Data[4:8]))
		attrs, err := syscall.ParseNetlinkRouteAttr(&m)
		if err != nil {
			return nil
		}
		// as the net package does: the local address of a point-to-point
		// link (IFA_LOCAL) rather than its peer (IFA_ADDRESS)
		var addr, local []byte
		for _, a := range attrs {
			switch a.Attr.Type {
			case syscall.IFA_ADDRESS:
				addr = a.Value
			case syscall.IFA_LOCAL:
				local = a.Value
			}
		}
		if local != nil {
			addr = local
		}
		var ip netip.Addr
		switch {
		case family == syscall.AF_INET && len(addr) >= 4:
			ip = netip.AddrFrom4([4]byte(addr[:4]))
		case family == syscall.AF_INET6 && len(addr) >= 16:
			ip = netip.AddrFrom16([16]byte(addr[:16])).Unmap()
		default:
			continue
		}
		out[index] = append(out[index], ip)
	}
	return out
}
