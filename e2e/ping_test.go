//go:build linux

package e2e

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// pingFrom sends one ICMP or ICMPv6 echo request from src (an address of
// ns) to dst and waits up to timeout for the matching reply. It needs no
// ping binary: the raw socket is opened inside ns, on a locked thread that
// is thrown away afterwards (it never returns to the test's namespace).
func pingFrom(ns *Netns, src, dst netip.Addr, timeout time.Duration) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		errc <- ping(ns.Name, src, dst, timeout)
	}()
	return <-errc
}

func ping(nsName string, src, dst netip.Addr, timeout time.Duration) error {
	f, err := os.Open("/run/netns/" + nsName)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("entering %s: %w", nsName, err)
	}
	dom, proto, req := unix.AF_INET, unix.IPPROTO_ICMP, byte(8)
	if dst.Is6() {
		dom, proto, req = unix.AF_INET6, unix.IPPROTO_ICMPV6, 128
	}
	fd, err := unix.Socket(dom, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return fmt.Errorf("raw socket: %w", err)
	}
	defer unix.Close(fd)
	tv := unix.NsecToTimeval(int64(200 * time.Millisecond))
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return err
	}
	var sa, da unix.Sockaddr
	if dst.Is6() {
		sa, da = &unix.SockaddrInet6{Addr: src.As16()}, &unix.SockaddrInet6{Addr: dst.As16()}
	} else {
		sa, da = &unix.SockaddrInet4{Addr: src.As4()}, &unix.SockaddrInet4{Addr: dst.As4()}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fmt.Errorf("bind %s: %w", src, err)
	}
	id := uint16(os.Getpid())
	msg := []byte{req, 0, 0, 0, 0, 0, 0, 1, 'f', 'w', 'a', 'u', 'd', 'i', 't'}
	binary.BigEndian.PutUint16(msg[4:], id)
	if !dst.Is6() { // the kernel checksums ICMPv6 on raw sockets, not ICMP
		binary.BigEndian.PutUint16(msg[2:], checksum(msg))
	}
	if err := unix.Sendto(fd, msg, 0, da); err != nil {
		return fmt.Errorf("sending echo request to %s: %w", dst, err)
	}
	buf := make([]byte, 1500)
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); {
		n, from, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			continue // timeout tick (EAGAIN) or EINTR
		}
		b := buf[:n]
		if !dst.Is6() { // IPv4 raw sockets deliver the IP header
			if n < 20 || int(b[0]&0x0f)*4 > n {
				continue
			}
			b = b[int(b[0]&0x0f)*4:]
		}
		reply := byte(0)
		if dst.Is6() {
			reply = 129
		}
		if len(b) >= 8 && b[0] == reply && binary.BigEndian.Uint16(b[4:]) == id && sameAddr(from, dst) {
			return nil
		}
	}
	return fmt.Errorf("no echo reply from %s to %s within %v", dst, src, timeout)
}

func sameAddr(sa unix.Sockaddr, a netip.Addr) bool {
	switch s := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrFrom4(s.Addr) == a
	case *unix.SockaddrInet6:
		return netip.AddrFrom16(s.Addr) == a
	}
	return false
}

// checksum is the Internet checksum (RFC 1071).
func checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}
