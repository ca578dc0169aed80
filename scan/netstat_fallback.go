package scan

import (
	"errors"
	"io/fs"
	"net/netip"
	"reflect"
	"strconv"

	"github.com/cakturk/go-netstat/netstat"
)

// fallbackSockets reads /proc/net/{tcp,tcp6,udp,udp6} through go-netstat,
// for hosts where netlink sock_diag is unavailable. listening selects
// listening TCP plus unconnected UDP; otherwise established TCP. Owners are
// found by our own /proc walk (go-netstat keeps one per socket), so only
// the socket table is taken from it. /proc/net shows no bound device and
// no IPV6_V6ONLY: v6only stays unknown (-1).
//
// go-netstat hard-codes its /proc paths and keeps the inode in an
// unexported field; this file is the only one that knows either.
func fallbackSockets(listening bool) ([]diagSock, error) {
	type table struct {
		proto string
		read  func(netstat.AcceptFn) ([]netstat.SockTabEntry, error)
		state netstat.SkState
	}
	tables := []table{
		{"tcp", netstat.TCPSocks, netstat.Listen},
		{"tcp", netstat.TCP6Socks, netstat.Listen},
		{"udp", netstat.UDPSocks, netstat.Close},
		{"udp", netstat.UDP6Socks, netstat.Close},
	}
	if !listening {
		tables = []table{
			{"tcp", netstat.TCPSocks, netstat.Established},
			{"tcp", netstat.TCP6Socks, netstat.Established},
		}
	}
	var out []diagSock
	for i, t := range tables {
		want := t.state
		ents, err := t.read(func(e *netstat.SockTabEntry) bool { return e.State == want })
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && i%2 == 1 {
				continue // no IPv6 on this host
			}
			return nil, errors.New("reading /proc/net/" + t.proto + ": " + err.Error())
		}
		for i := range ents {
			out = append(out, fromNetstat(t.proto, &ents[i]))
		}
	}
	return out, nil
}

func fromNetstat(proto string, e *netstat.SockTabEntry) diagSock {
	s := diagSock{proto: proto, uid: e.UID, v6only: -1}
	if e.LocalAddr != nil {
		s.local = netip.AddrPortFrom(addrFromIP(e.LocalAddr.IP), e.LocalAddr.Port)
	}
	if e.RemoteAddr != nil {
		s.remote = netip.AddrPortFrom(addrFromIP(e.RemoteAddr.IP), e.RemoteAddr.Port)
	}
	// The inode column is the unexported field "ino" (a decimal string).
	if f := reflect.ValueOf(e).Elem().FieldByName("ino"); f.IsValid() && f.Kind() == reflect.String {
		if n, err := strconv.ParseUint(f.String(), 10, 32); err == nil {
			s.inode = uint32(n)
		}
	}
	return s
}

// addrFromIP keeps the family go-netstat read: a 4-byte IP is IPv4, a
// 16-byte one IPv6 (even when it is IPv4-mapped).
func addrFromIP(ip []byte) netip.Addr {
	switch len(ip) {
	case 4:
		return netip.AddrFrom4([4]byte(ip))
	case 16:
		return netip.AddrFrom16([16]byte(ip))
	}
	return netip.Addr{}
}
