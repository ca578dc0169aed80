package scan

import (
	"net/netip"
	"strings"
)

// ExposureOf classifies a bind address and its bound device. addr may
// carry brackets and a scope ("[::1]", "127.0.0.53%lo", "fe80::1%eth0");
// a scope names the bound device like device does. Loopback addresses
// and sockets bound to device lo are local, wildcards (0.0.0.0, ::, "*")
// are public — also when bound to another device, whose name the caller
// keeps in Listener.Device — and anything else is specific. An address
// that does not parse is specific: it names something, not everything.
func ExposureOf(addr string, device string) Exposure {
	addr = strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
	if i := strings.IndexByte(addr, '%'); i >= 0 {
		if device == "" {
			device = addr[i+1:]
		}
		addr = strings.TrimSuffix(addr[:i], "]")
	}
	if device == "lo" {
		return ExposureLocal
	}
	if addr == "*" {
		return ExposurePublic
	}
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return ExposureSpecific
	}
	return exposureOfAddr(a, device)
}

func exposureOfAddr(a netip.Addr, device string) Exposure {
	if device == "lo" {
		return ExposureLocal
	}
	a = a.WithZone("")
	if a.Is4In6() {
		a = a.Unmap()
	}
	switch {
	case a.IsLoopback():
		return ExposureLocal
	case a.IsUnspecified():
		return ExposurePublic
	}
	return ExposureSpecific
}
