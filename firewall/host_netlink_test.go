package firewall

import (
	"net"
	"net/netip"
	"slices"
	"testing"
)

// TestAddrsByIndex: the one-dump address list equals what
// net.Interface.Addrs says, interface by interface, on this host.
func TestAddrsByIndex(t *testing.T) {
	ifs, err := net.Interfaces()
	if err != nil {
		t.Skipf("no interface list: %v", err)
	}
	byIndex := addrsByIndex()
	if byIndex == nil {
		t.Fatal("addrsByIndex failed")
	}
	n := 0
	for _, ifc := range ifs {
		t.Run(ifc.Name, func(t *testing.T) {
			addrs, err := ifc.Addrs()
			if err != nil {
				t.Skipf("Addrs: %v", err)
			}
			var want []netip.Addr
			for _, a := range addrs {
				if p, err := netip.ParsePrefix(a.String()); err == nil {
					want = append(want, p.Addr().Unmap())
				}
			}
			n += len(want)
			if got := byIndex[ifc.Index]; !slices.Equal(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
	if n == 0 {
		t.Error("no address on any interface: the comparison proved nothing")
	}
}
